"""Galápagos core: configuration, services, errors. No HTTP-server code lives here."""
