"""Strict validation of rendered custom resources against the upstream CRDs.

The schemas come from the CRD files in ``/work/shared/crds`` (copied unmodified from KServe,
KubeRay and Gateway API). The API server prunes fields a structural schema does not know; here
they are errors instead, so a misspelt field (``minReplica``) fails a test rather than
vanishing on a cluster.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CRD_DIR = Path("/work/shared/crds")

# (apiVersion, kind) -> (CRD file, version in it)
KNOWN: dict[tuple[str, str], tuple[str, str]] = {
    ("serving.kserve.io/v1beta1", "InferenceService"): (
        "serving.kserve.io_inferenceservices.yaml",
        "v1beta1",
    ),
    ("ray.io/v1", "RayService"): ("ray.io_rayservices.yaml", "v1"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): (
        "gateway.networking.k8s.io_httproutes.yaml",
        "v1",
    ),
    ("aigateway.envoyproxy.io/v1beta1", "AIGatewayRoute"): (
        "aigateway.envoyproxy.io_aigatewayroutes.yaml",
        "v1beta1",
    ),
    ("aigateway.envoyproxy.io/v1beta1", "AIServiceBackend"): (
        "aigateway.envoyproxy.io_aiservicebackends.yaml",
        "v1beta1",
    ),
    ("aigateway.envoyproxy.io/v1beta1", "BackendSecurityPolicy"): (
        "aigateway.envoyproxy.io_backendsecuritypolicies.yaml",
        "v1beta1",
    ),
    ("gateway.envoyproxy.io/v1alpha1", "Backend"): (
        "gateway.envoyproxy.io_backends.yaml",
        "v1alpha1",
    ),
    ("gateway.envoyproxy.io/v1alpha1", "BackendTrafficPolicy"): (
        "gateway.envoyproxy.io_backendtrafficpolicies.yaml",
        "v1alpha1",
    ),
}


@functools.cache
def load(filename: str) -> dict[str, Any]:
    """The CRD document in ``filename`` (parsed once per test session)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # safe either way; C is faster
    document: dict[str, Any] = yaml.load((CRD_DIR / filename).read_text(), Loader=loader)
    assert document.get("kind") == "CustomResourceDefinition", filename
    return document


def schema_of(crd: dict[str, Any], version: str) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of ``version`` in ``crd``."""
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            schema: dict[str, Any] = entry["schema"]["openAPIV3Schema"]
            return schema
    names = [entry["name"] for entry in crd["spec"]["versions"]]
    raise KeyError(f"{crd['metadata']['name']} has no version {version} (has {names})")


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a structural schema as JSON Schema that rejects unknown fields.

    Every object schema with ``properties`` gets ``additionalProperties: false`` unless it
    keeps unknown fields (``x-kubernetes-preserve-unknown-fields``) or already says what
    extra keys may hold. ``x-kubernetes-int-or-string`` without a type takes an integer or a
    string; ``nullable`` allows null. Logical junctors (allOf, anyOf, oneOf, not) only add
    constraints in structural schemas and are left as they are.
    """
    result = copy.deepcopy(schema)
    _tighten(result)
    return result


def _tighten(node: dict[str, Any]) -> None:
    if node.get("x-kubernetes-int-or-string") and "type" not in node and "anyOf" not in node:
        node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    properties = node.get("properties")
    if isinstance(properties, dict):
        for child in properties.values():
            _tighten(child)
        if (
            not node.get("x-kubernetes-preserve-unknown-fields")
            and "additionalProperties" not in node
        ):
            node["additionalProperties"] = False
    if isinstance(node.get("additionalProperties"), dict):
        _tighten(node["additionalProperties"])
    items = node.get("items")
    if isinstance(items, dict):
        _tighten(items)
    elif isinstance(items, list):
        for item in items:
            _tighten(item)


@functools.cache
def validator(api_version: str, kind: str) -> jsonschema.Draft7Validator:
    """A strict validator for ``kind`` in ``api_version``; the object's metadata is not
    checked (the CRD only says it is an object: the API server validates it itself)."""
    try:
        filename, version = KNOWN[api_version, kind]
    except KeyError:
        raise AssertionError(f"no CRD known for {kind} ({api_version})") from None
    schema = strict(schema_of(load(filename), version))
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def errors(obj: dict[str, Any]) -> list[str]:
    """Every way ``obj`` breaks its CRD's schema, as ``$.json.path: message`` lines."""
    found = validator(str(obj.get("apiVersion")), str(obj.get("kind"))).iter_errors(obj)
    return sorted(f"{error.json_path}: {error.message}" for error in found)


def validate(obj: dict[str, Any]) -> None:
    """Raise AssertionError listing every error when ``obj`` does not fit its CRD."""
    problems = errors(obj)
    if problems:
        kind, name = obj.get("kind"), (obj.get("metadata") or {}).get("name")
        raise AssertionError(
            f"{kind} {name} does not validate against its CRD:\n" + "\n".join(problems)
        )
