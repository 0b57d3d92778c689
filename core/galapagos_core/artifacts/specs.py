"""Input shapes for registering artifacts and starting builds."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from galapagos_core.kernel.darwin import DarwinBody
from galapagos_core.kernel.names import ResourceName, Version
from galapagos_core.kernel.schema_rules import exactly_one_of
from galapagos_model.enums import BuilderKind, ModelFormat

# A URI: a scheme, then printable ASCII but space (non-ASCII belongs percent-encoded).
MODEL_URI = r"^[a-z][a-z0-9+.-]*:[!-~]+$"
_USERINFO = re.compile(r"^[a-z+]+://(?P<user>[^/@]*)@")
_SSH_USER = re.compile(r"^[A-Za-z0-9._-]+$")
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"
_PORT = (  # 1-65535
    r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}"
    r"|[1-9][0-9]{0,3}))?"
)
_PATH = r"[!-~]"  # printable ASCII but space: non-ASCII belongs percent-encoded
# The git URLs builds accept, exactly: http(s):// and git:// without user info, ssh:// with
# at most a user name, file:// paths, and scp-like user@host:path.
GIT_URL = (
    rf"^(?:(?:https?|git)://{_HOST}{_PORT}(?:/{_PATH}*)?"
    rf"|ssh://(?:[A-Za-z0-9._-]+@)?{_HOST}{_PORT}(?:/{_PATH}*)?"
    rf"|file:///{_PATH}*"
    r"|[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:[A-Za-z0-9_./~-]+)$"
)


def _no_credentials(value: object) -> object:
    """Say why a URL with a secret in it is refused (the pattern alone would not)."""
    if not isinstance(value, str):
        return value
    userinfo = _USERINFO.search(value)
    # ssh names the account to log in as (git@…): that is no secret. Anything else in the
    # user part, or any password, is one.
    if userinfo and not (value.startswith("ssh://") and _SSH_USER.match(userinfo["user"])):
        raise ValueError(
            "credentials do not belong in the URL: the operator sets them for builds "
            "(GALAPAGOS_BUILDS__GIT_USERNAME / __GIT_PASSWORD, or __GIT_SSH_KEY)"
        )
    return value


def _relative_path(value: str) -> str:
    parts = value.strip("/").split("/")
    if value.startswith("/") or ".." in parts:
        raise ValueError("must be a path inside the source, without '..'")
    return value.strip("/")


GitUrl = Annotated[
    str,
    StringConstraints(max_length=1024, pattern=GIT_URL),
    BeforeValidator(_no_credentials),  # runs first: a clearer message than the pattern's
    Field(description="https://, http://, git://, ssh://[user@], file:// or user@host:path"),
]
GitRef = Annotated[
    str,
    StringConstraints(max_length=255, pattern=r"^[A-Za-z0-9_][A-Za-z0-9._/+-]*$"),
    Field(description="branch, tag or commit"),
]
# No control characters (NUL included): these become file system paths.
PATH_TEXT = r"^[^\x00-\x1f\x7f]+$"
SubPath = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1024, pattern=PATH_TEXT),
    AfterValidator(_relative_path),
    Field(description="a folder inside the source to package (Darwin's file_path)"),
]
ImportPath = Annotated[
    str,
    StringConstraints(max_length=255, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"),
    Field(description="Ray Serve import path, module:attribute"),
]


class ArtifactRegister(DarwinBody):
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
    image_url: Annotated[str, StringConstraints(max_length=1024, pattern=r"^[!-~]+$")]


class ModelRegister(BaseModel):
    version: Version
    model_uri: Annotated[str, StringConstraints(max_length=1024, pattern=MODEL_URI)]
    model_format: ModelFormat


class PackageBuild(BaseModel):
    """Build a package artifact with the local builder from a folder or a git repository."""

    model_config = ConfigDict(json_schema_extra=exactly_one_of("source_path", "github_repo_url"))

    version: Version
    source_path: (
        Annotated[str, StringConstraints(max_length=1024, pattern=r"^/[^\x00-\x1f\x7f]*$")] | None
    ) = Field(None, description="an absolute folder on the control plane's host")
    github_repo_url: GitUrl | None = None
    branch: GitRef | None = None
    file_path: SubPath | None = None
    import_path: ImportPath | None = None
