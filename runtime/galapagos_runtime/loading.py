"""Loading what a replica serves: a Python object from an import path, or a model from a URI
by its format. Libraries a format needs are imported only when it is used: the runtime itself
depends on Ray alone."""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any


def import_target(target: str) -> Any:
    """``module:attribute.path`` → the object."""
    module_name, _, attribute = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


def fetch(uri: str) -> Path:
    """A local path holding ``uri``'s bytes (a file, or a folder for file:// URIs)."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme in ("", "file"):
        path = Path(urllib.parse.unquote(parsed.path))
        if not path.exists():
            raise FileNotFoundError(f"model not found: {uri}")
        return path
    if parsed.scheme in ("http", "https"):
        target = Path(tempfile.mkdtemp(prefix="galapagos-model-")) / (
            os.path.basename(parsed.path) or "model"
        )
        with urllib.request.urlopen(uri, timeout=60) as response, target.open("wb") as out:
            shutil.copyfileobj(response, out)
        return target
    raise ValueError(
        f"cannot fetch {parsed.scheme}:// URIs for this format; use file:// or https://, "
        "or an MLflow model (which reads s3://, gs://, models:/ and runs:/ itself)"
    )


class _Onnx:
    """An ONNX model run by onnxruntime: rows in, the first output out."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        self.session = onnxruntime.InferenceSession(str(path))
        self.input = self.session.get_inputs()[0].name

    def predict(self, rows: Any) -> Any:
        import numpy

        return self.session.run(None, {self.input: numpy.asarray(rows, dtype=numpy.float32)})[0]


class _Booster:
    """An XGBoost or LightGBM booster saved in the library's own format."""

    def __init__(self, booster: Any, to_input: Any) -> None:
        self.booster = booster
        self.to_input = to_input

    def predict(self, rows: Any) -> Any:
        return self.booster.predict(self.to_input(rows))


def _xgboost(path: Path) -> Any:
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(str(path))
    return _Booster(booster, xgboost.DMatrix)


def _lightgbm(path: Path) -> Any:
    import lightgbm

    return _Booster(lightgbm.Booster(model_file=str(path)), lambda rows: rows)


def _pickled(path: Path) -> Any:
    import joblib  # shipped with scikit-learn

    return joblib.load(path)


_NATIVE = {".json": "native", ".ubj": "native", ".bst": "native", ".txt": "native"}


def load_model(uri: str, model_format: str) -> Any:
    """A model object with ``predict``, or a callable."""
    if model_format == "mlflow":
        import mlflow.pyfunc

        return mlflow.pyfunc.load_model(uri)
    if model_format == "python":
        return import_target(uri)
    path = fetch(uri)
    if (path / "MLmodel").is_file():  # an MLflow model folder, whatever format was said
        import mlflow.pyfunc

        return mlflow.pyfunc.load_model(str(path))
    native = path.suffix in _NATIVE
    if model_format == "sklearn" or (model_format in ("xgboost", "lightgbm") and not native):
        return _pickled(path)
    if model_format == "xgboost":
        return _xgboost(path)
    if model_format == "lightgbm":
        return _lightgbm(path)
    if model_format == "onnx":
        return _Onnx(path)
    raise ValueError(
        f"model format '{model_format}' is not served by the generic model server: "
        "deploy it to a KServe environment, whose runtimes serve it"
    )
