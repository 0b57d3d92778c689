"""Typed settings: ``resources/config/base.toml`` + the ``ENV`` overlay + environment variables.

Precedence, highest first: explicit overrides, ``GALAPAGOS_*`` variables (nested with
``__``, e.g. ``GALAPAGOS_DATABASE__HOST``), Darwin's ``MYSQL_*`` variables, the overlay
file for ``ENV`` (local, test or prod), ``base.toml``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from galapagos_core.kernel.errors import ConfigError
from galapagos_model.enums import BuilderKind

EnvName = Literal["local", "test", "prod"]
CONFIG_DIR = Path(
    os.environ.get("GALAPAGOS_CONFIG_DIR", Path(__file__).resolve().parents[3] / "resources/config")
)
_DARWIN_MYSQL_VARS = {
    "MYSQL_HOST": "host",
    "MYSQL_PORT": "port",
    "MYSQL_DATABASE": "name",
    "MYSQL_USERNAME": "user",
    "MYSQL_PASSWORD": "password",
}


class DatabaseSettings(BaseModel):
    """MySQL when ``host`` or ``url`` is set, otherwise SQLite at ``<data_dir>/galapagos.db``."""

    url: str | None = None
    host: str | None = None
    port: int = Field(3306, ge=1, le=65535)
    name: str = "galapagos"
    user: str | None = None
    password: SecretStr | None = None
    pool_min: int = Field(1, ge=1)
    pool_max: int = Field(20, ge=1)

    @property
    def is_mysql(self) -> bool:
        return self.host is not None or (self.url or "").startswith("mysql")


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    # Externally reachable base URL (for links such as logs_url); defaults to host:port.
    public_url: str | None = None
    # Larger request bodies are refused with 413 while they are read.
    max_body_bytes: int = Field(1024 * 1024, ge=1024)


class AuthSettings(BaseModel):
    default_token_ttl_days: int = Field(90, ge=0)
    # An API process remembers a checked token this long, so most requests skip the token
    # read; a token revoked through another process stops working within it. 0: no cache.
    token_cache_seconds: float = Field(5, ge=0, le=300)


class ExternalBuilderSettings(BaseModel):
    """Darwin's artifact-builder service, for teams that build images with it."""

    url: str | None = None
    image_repository: str = "registry.local/serves"
    timeout_seconds: float = Field(15, gt=0)


class KanikoSettings(BaseModel):
    """Image builds as Kubernetes Jobs running the kaniko executor."""

    kubeconfig: Path | None = None  # None: in-cluster service account
    namespace: str = "galapagos-builds"
    image: str = "gcr.io/kaniko-project/executor:v1.23.2"
    registry: str | None = None  # destination prefix, e.g. registry.example.com/serves
    service_account: str | None = None
    cpu: str = "1"
    memory: str = "2Gi"


class BuildSettings(BaseModel):
    default_builder: BuilderKind = BuilderKind.LOCAL
    store_dir: Path | None = None  # packages; default <data_dir>/packages
    # Folders and file:// repositories on this host, for platform admins only, and only below
    # these roots (never the data directory). Empty: local sources are off.
    local_source_roots: list[Path] = Field(default_factory=list, max_length=32)
    # Git hosts resolving to loopback, link-local or private addresses are refused unless
    # allowed here: all of them, or those in the listed networks (an in-house Git server).
    allow_private_git_hosts: bool = False
    allowed_git_networks: list[IPvAnyNetwork] = Field(default_factory=list, max_length=64)
    # Package links handed to clusters are signed and expire; they are renewed (and the
    # workloads using them re-applied) when half of this has passed.
    package_link_ttl_seconds: int = Field(30 * 86400, ge=600)
    max_source_mb: float = Field(500, gt=0)
    default_import_path: str = "main:app"
    timeout_seconds: float = Field(1800, gt=0)
    git_timeout_seconds: float = Field(300, gt=0)
    git_username: str | None = None
    git_password: SecretStr | None = None  # a token for https remotes
    git_ssh_key: Path | None = None
    concurrency: int = Field(2, ge=1, le=64)
    poll_interval_seconds: float = Field(2.0, gt=0)
    lease_seconds: float = Field(60, ge=1)
    max_attempts: int = Field(3, ge=1)
    max_transient_failures: int = Field(5, ge=0)
    external: ExternalBuilderSettings = ExternalBuilderSettings()
    kaniko: KanikoSettings = KanikoSettings()


class SecretsSettings(BaseModel):
    # "id:base64-key,…": the first key seals new secrets, all of them open old ones.
    keys: SecretStr | None = None


class RaySettings(BaseModel):
    """The Ray head that environments with ray_address "local" get, started on first use."""

    dashboard_port: int = Field(8265, ge=1, le=65535)
    gcs_port: int = Field(6380, ge=1, le=65535)
    serve_port: int = Field(8100, ge=1, le=65535)
    # Ray's own defaults (10001, 52365) collide between heads; the client port must stay
    # outside Ray's worker port range (10002-19999).
    client_port: int = Field(10001, ge=1, le=65535)
    agent_port: int = Field(52365, ge=1, le=65535)
    # Where the head serves its metrics (Prometheus format; the traffic routers' included).
    metrics_port: int = Field(8267, ge=1, le=65535)
    num_cpus: float | None = Field(None, gt=0)
    # GPUs the head declares (Ray counts them itself when unset), and custom resources, e.g.
    # {"accelerator_type:L4": 1} for the GPU model GPU instances ask for.
    num_gpus: float | None = Field(None, ge=0)
    resources: dict[str, float] = {}
    object_store_mb: int = Field(256, ge=64)
    start_timeout_seconds: float = Field(120, gt=0)
    replica_cpus: float = Field(0.1, gt=0)  # per replica when an infra config asks for none


class TrafficSettings(BaseModel):
    """Routers of serves with traffic variants."""

    # Each router replica decides alone (sticky keys hash the same everywhere).
    router_replicas: int = Field(2, ge=1, le=100)
    router_cpus: float = Field(0.05, gt=0)
    # A variant taken out of the routing table keeps running this long, so that requests
    # the routers already sent it finish, before its workload goes.
    drain_seconds: float = Field(10, ge=0)


class LlmSettings(BaseModel):
    """Each Ray environment's LLM router, which answers the virtual models placed there."""

    router_replicas: int = Field(2, ge=1, le=100)
    router_cpus: float = Field(0.05, gt=0)
    # One attempt on a backend, until its first byte; every attempt of a request.
    timeout_seconds: float = Field(30, gt=0)
    deadline_seconds: float = Field(60, gt=0)
    # A backend with ``allowed_fails`` failures within ``window_seconds`` is skipped for
    # ``cooldown_seconds`` (or as long as its Retry-After asks), as LiteLLM does.
    allowed_fails: int = Field(3, ge=1)
    window_seconds: float = Field(60, gt=0)
    cooldown_seconds: float = Field(5, gt=0)


class GpuSettings(BaseModel):
    """GPU instances: how they are placed, watched and drained, and where discovery lives."""

    # Total VRAM must hold the model's weights and this much more (the KV cache).
    headroom: float = Field(0.2, ge=0, le=10)
    # A READY instance whose last heartbeat is older than this is RECOVERING until one comes.
    heartbeat_timeout_seconds: float = Field(30, gt=0)
    # A draining instance is terminated once nothing is in flight, or after this.
    drain_timeout_seconds: float = Field(300, ge=0)
    # How often discovery reads the instances that changed (without Redis).
    discovery_refresh_seconds: float = Field(0.5, gt=0)
    # Set (redis://host:port/db) when several API replicas share discovery.
    redis_url: str | None = None


class ReconcileSettings(BaseModel):
    interval_seconds: float = Field(2.0, gt=0)
    # An environment's pass is stopped after this; its lease is renewed while the pass runs,
    # so another worker takes over within ``lease_seconds`` of a worker dying.
    environment_timeout_seconds: float = Field(150, gt=0)
    lease_seconds: float = Field(60, ge=1)
    parallel_environments: int = Field(8, ge=1, le=256)
    # A rollout whose app runs but whose health route keeps failing fails after this.
    health_timeout_seconds: float = Field(60, gt=0)
    wait_timeout_seconds: float = Field(300, gt=0)  # the longest ?wait=true may block
    cluster_check_seconds: float = Field(30, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GALAPAGOS_", env_nested_delimiter="__", extra="forbid"
    )

    env: EnvName = "local"
    data_dir: Path = Path(".galapagos")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    api: ApiSettings = ApiSettings()
    database: DatabaseSettings = DatabaseSettings()
    auth: AuthSettings = AuthSettings()
    builds: BuildSettings = BuildSettings()
    secrets: SecretsSettings = SecretsSettings()
    ray: RaySettings = RaySettings()
    reconcile: ReconcileSettings = ReconcileSettings()
    traffic: TrafficSettings = TrafficSettings()
    llm: LlmSettings = LlmSettings()
    gpu: GpuSettings = GpuSettings()

    @property
    def package_dir(self) -> Path:
        return self.builds.store_dir or self.data_dir / "packages"

    @model_validator(mode="after")
    def _production_requires_mysql(self) -> Settings:
        db = self.database
        if self.env == "prod":
            if not db.is_mysql:
                raise ValueError(
                    "ENV=prod needs MySQL: set MYSQL_HOST (or GALAPAGOS_DATABASE__URL)"
                )
            if db.url is None and db.password is None:
                raise ValueError("ENV=prod needs the database password: set MYSQL_PASSWORD")
        if self.env == "prod" and self.secrets.keys is None:
            raise ValueError(
                "ENV=prod needs GALAPAGOS_SECRETS__KEYS (id:base64 32-byte key) to encrypt "
                "kubeconfigs and tokens"
            )
        if db.pool_min > db.pool_max:
            raise ValueError("database.pool_min must not exceed database.pool_max")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        env_name = os.environ.get("GALAPAGOS_ENV") or os.environ.get("ENV") or "local"
        files = [CONFIG_DIR / "base.toml", CONFIG_DIR / f"{env_name}.toml"]
        return (
            init_settings,
            env_settings,
            _DarwinMysqlSource(settings_cls),
            TomlConfigSettingsSource(settings_cls, toml_file=files, deep_merge=True),
            _EnvNameSource(settings_cls, env_name),
        )


class _DarwinMysqlSource(PydanticBaseSettingsSource):
    """Darwin ML Serve's ``MYSQL_*`` variables, mapped onto ``database``."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {
            key: os.environ[var] for var, key in _DARWIN_MYSQL_VARS.items() if var in os.environ
        }
        return {"database": found} if found else {}


class _EnvNameSource(PydanticBaseSettingsSource):
    """Carries Darwin's ``ENV`` variable into ``Settings.env``."""

    def __init__(self, settings_cls: type[BaseSettings], env_name: str) -> None:
        super().__init__(settings_cls)
        self.env_name = env_name

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return {"env": self.env_name}


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings once; raise ``ConfigError`` listing every problem."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file missing: {exc.filename}") from None
