"""Settings: base + ENV overlay + environment variables (Darwin's MYSQL_* too), validated once."""

from __future__ import annotations

from pathlib import Path

import pytest

from galapagos_core.kernel.config import load_settings
from galapagos_core.kernel.database import tortoise_config
from galapagos_core.kernel.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ENV",
        "GALAPAGOS_ENV",
        "MYSQL_HOST",
        "MYSQL_PORT",
        "MYSQL_DATABASE",
        "MYSQL_USERNAME",
        "MYSQL_PASSWORD",
        "GALAPAGOS_DATABASE__URL",
    ):
        monkeypatch.delenv(name, raising=False)


def test_local_default_is_embedded_sqlite(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.env == "local"
    assert not settings.database.is_mysql
    connection = tortoise_config(settings)["connections"]["default"]
    assert connection["engine"] == "tortoise.backends.sqlite"
    assert connection["credentials"]["file_path"].endswith("galapagos.db")


def test_darwin_mysql_variables_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYSQL_HOST", "db.internal")
    monkeypatch.setenv("MYSQL_DATABASE", "darwin")
    monkeypatch.setenv("MYSQL_USERNAME", "serve")
    monkeypatch.setenv("MYSQL_PASSWORD", "s3cret")
    settings = load_settings()
    credentials = tortoise_config(settings)["connections"]["default"]["credentials"]
    assert (credentials["host"], credentials["database"], credentials["user"]) == (
        "db.internal",
        "darwin",
        "serve",
    )
    assert credentials["password"] == "s3cret"
    assert "s3cret" not in repr(settings)


def test_the_pool_is_sized_by_settings_for_a_url_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GALAPAGOS_DATABASE__URL", "mysql://serve:pw@db.internal:3306/darwin")
    monkeypatch.setenv("GALAPAGOS_DATABASE__POOL_MAX", "32")
    credentials = tortoise_config(load_settings())["connections"]["default"]["credentials"]
    assert (credentials["minsize"], credentials["maxsize"]) == (1, 32)
    assert credentials["host"] == "db.internal"


def test_galapagos_variables_win_over_darwin_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYSQL_HOST", "darwin-db")
    monkeypatch.setenv("GALAPAGOS_DATABASE__HOST", "galapagos-db")
    monkeypatch.setenv("GALAPAGOS_API__PORT", "9000")
    settings = load_settings()
    assert settings.database.host == "galapagos-db"
    assert settings.api.port == 9000


def test_env_selects_the_overlay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV", "test")
    assert load_settings().auth.default_token_ttl_days == 1


def test_production_without_mysql_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV", "prod")
    with pytest.raises(ConfigError, match="MYSQL_HOST"):
        load_settings()
    monkeypatch.setenv("MYSQL_HOST", "db")
    with pytest.raises(ConfigError, match="MYSQL_PASSWORD"):
        load_settings()


def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GALAPAGOS_API__PORT", "eighty")
    with pytest.raises(ConfigError, match=r"api\.port"):
        load_settings()
    monkeypatch.delenv("GALAPAGOS_API__PORT")
    monkeypatch.setenv("ENV", "staging")
    with pytest.raises(ConfigError, match="env"):
        load_settings()
