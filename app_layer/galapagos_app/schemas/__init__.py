"""Response schemas: what the API renders. Request bodies are the core's input specs."""
