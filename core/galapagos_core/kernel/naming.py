"""The one place names and labels of objects on clusters are made.

Names are DNS-1123 labels (lowercase alphanumerics and '-', at most 63 characters), stable for
the same inputs, and collision-free: when the readable form has to be shortened, or lost
characters in sanitising, a hash of the exact inputs is appended.
"""

from __future__ import annotations

import hashlib
import re

MANAGED_BY = "galapagos.io/managed-by"
_MAX = 63
_INVALID = re.compile(r"[^a-z0-9-]+")
_LABEL_INVALID = re.compile(r"[^A-Za-z0-9._-]+")


def resource_name(*parts: str) -> str:
    """A DNS-1123 label naming ``parts`` (e.g. ``("build", "iris", "v1.2", job_id)``)."""
    exact = "-".join(parts)
    readable = _INVALID.sub("-", exact.lower()).strip("-")
    readable = re.sub("-{2,}", "-", readable) or "x"
    if readable == exact and len(readable) <= _MAX:
        return readable
    digest = hashlib.sha256(exact.encode()).hexdigest()[:8]
    return f"{readable[: _MAX - len(digest) - 1].rstrip('-')}-{digest}"


def label_value(value: str) -> str:
    """A valid label value (≤63, alphanumerics, '-', '_', '.'; alphanumeric at both ends)."""
    cleaned = _LABEL_INVALID.sub("-", value).strip("-_.")
    if cleaned == value and len(cleaned) <= _MAX:
        return cleaned
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    return f"{cleaned[: _MAX - len(digest) - 1].rstrip('-_.')}-{digest}".lstrip("-")


def managed_labels(**values: str | None) -> dict[str, str]:
    """``galapagos.io/*`` labels for an object the platform manages (None values omitted)."""
    labels = {MANAGED_BY: "galapagos"}
    labels.update(
        {
            f"galapagos.io/{key.replace('_', '-')}": label_value(value)
            for key, value in values.items()
            if value is not None
        }
    )
    return labels
