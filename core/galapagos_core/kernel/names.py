"""Validated name types shared by every input schema."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

# A DNS-1123 label (so it can name Kubernetes objects and Ray applications), at most 50
# characters: lowercase letters, digits and '-', starting and ending alphanumeric.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

ResourceName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=DNS_LABEL),
    Field(description="lowercase letters, digits and '-' (no '_'), at most 50 characters"),
]
USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]*$"
VERSION = r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"

Username = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=USERNAME)]
Version = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=VERSION)
]
