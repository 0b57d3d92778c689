"""Input shapes for registering artifacts and starting builds."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from galapagos_core.names import ResourceName, Version
from galapagos_model.enums import BuilderKind, ModelFormat

_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://")
_USERINFO = re.compile(r"^[a-z+]+://(?P<user>[^/@]*)@")
_SSH_USER = re.compile(r"^[A-Za-z0-9._-]+$")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:[\w./~-]+$")  # git@github.com:org/repo.git


def _git_url(value: str) -> str:
    userinfo = _USERINFO.search(value)
    # ssh names the account to log in as (git@…): that is no secret. Anything else in the
    # user part, or any password, is one.
    if userinfo and not (value.startswith("ssh://") and _SSH_USER.match(userinfo["user"])):
        raise ValueError(
            "credentials do not belong in the URL: the operator sets them for builds "
            "(GALAPAGOS_BUILDS__GIT_USERNAME / __GIT_PASSWORD, or __GIT_SSH_KEY)"
        )
    if _SCP_LIKE.match(value):
        return value
    if value.startswith(_SCHEMES):
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError("not a valid URL") from None
        if parts.scheme == "file" or parts.hostname:
            return value
        raise ValueError("the URL names no host")
    raise ValueError("expected a git URL (https://, ssh://, git@host:path or file://)")


def _relative_path(value: str) -> str:
    parts = value.strip("/").split("/")
    if value.startswith("/") or ".." in parts:
        raise ValueError("must be a path inside the source, without '..'")
    return value.strip("/")


GitUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1024, pattern=r"^\S+$"),
    AfterValidator(_git_url),
]
GitRef = Annotated[
    str,
    StringConstraints(max_length=255, pattern=r"^[A-Za-z0-9_][A-Za-z0-9._/+-]*$"),
    Field(description="branch, tag or commit"),
]
SubPath = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1024),
    AfterValidator(_relative_path),
    Field(description="a folder inside the source to package (Darwin's file_path)"),
]
ImportPath = Annotated[
    str,
    StringConstraints(max_length=255, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"),
    Field(description="Ray Serve import path, module:attribute"),
]


class ArtifactRegister(BaseModel):
    """Darwin's ``POST /api/v1/artifact`` body, plus the optional builder and import path."""

    serve_name: ResourceName
    version: Version
    github_repo_url: GitUrl | None = Field(
        None, description="defaults to the source of the serve's latest artifact or build"
    )
    branch: GitRef | None = None
    file_path: SubPath | None = None
    builder: BuilderKind | None = Field(None, description="local, external or kaniko")
    import_path: ImportPath | None = None


class ImageRegister(BaseModel):
    version: Version
    image_url: Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=r"^\S+$")]


class ModelRegister(BaseModel):
    version: Version
    model_uri: Annotated[
        str, StringConstraints(min_length=1, max_length=1024, pattern=r"^[a-z][a-z0-9+.-]*:\S+$")
    ]
    model_format: ModelFormat


class PackageBuild(BaseModel):
    """Build a package artifact with the local builder from a folder or a git repository."""

    version: Version
    source_path: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = Field(
        None, description="an absolute folder on the control plane's host"
    )
    github_repo_url: GitUrl | None = None
    branch: GitRef | None = None
    file_path: SubPath | None = None
    import_path: ImportPath | None = None
