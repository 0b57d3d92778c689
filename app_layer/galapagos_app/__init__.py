"""Galápagos HTTP layer: Starlette app, routes, schemas, auth, error rendering and CLI."""
