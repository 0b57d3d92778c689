"""Artifact builds: sources, reproducible packages, the package store, builders, the worker."""
