"""Loading what a replica serves: a Python callable from an import path, or a model file
from a URI (file://, http(s):// or a plain path)."""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

PICKLED_FORMATS = {"sklearn", "xgboost"}


def load_callable(target: str) -> Any:
    """``module:attribute``; a class is instantiated, a Ray deployment is unwrapped."""
    module_name, _, attribute = target.partition(":")
    obj = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    obj = getattr(obj, "func_or_class", obj)  # a @serve.deployment wraps the user's class
    return obj() if isinstance(obj, type) else obj


def fetch(uri: str) -> Path:
    """A local path holding ``uri``'s bytes."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme in ("", "file"):
        path = Path(urllib.parse.unquote(parsed.path))
        if not path.is_file():
            raise FileNotFoundError(f"model file not found: {uri}")
        return path
    if parsed.scheme in ("http", "https"):
        target = Path(tempfile.mkdtemp(prefix="galapagos-model-")) / (
            os.path.basename(parsed.path) or "model"
        )
        with urllib.request.urlopen(uri, timeout=60) as response, target.open("wb") as out:
            shutil.copyfileobj(response, out)
        return target
    raise ValueError(f"cannot fetch {parsed.scheme}:// URIs here; use file:// or https://")


def load_model(uri: str, model_format: str) -> Any:
    """A model object with ``predict``, or a callable."""
    if model_format in PICKLED_FORMATS:
        import joblib  # shipped with scikit-learn; only needed for these formats

        return joblib.load(fetch(uri))
    if model_format == "python":
        return load_callable(uri)
    raise ValueError(f"model format '{model_format}' is not served by the generic model server")
