"""The ``galapagos`` command: up, api, worker, migrate, token create, secrets rotate,
catalog import."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import uvicorn
import yaml
from pydantic import ValidationError

from galapagos_core.catalog.environments import ensure_local_environment
from galapagos_core.gpu.catalog import CatalogFile, import_catalog
from galapagos_core.identity.service import IdentityService
from galapagos_core.kernel import database
from galapagos_core.kernel.actor import CLI
from galapagos_core.kernel.config import Settings, load_settings
from galapagos_core.kernel.errors import ConfigError
from galapagos_core.kernel.log import configure_logging
from galapagos_core.services import Services
from galapagos_core.worker import running_worker


def _say(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _fail(message: str) -> int:
    sys.stderr.write(f"galapagos: {message}\n")
    return 2


async def _bootstrap(settings: Settings) -> str | None:
    await database.migrate(settings)
    await database.connect(settings)
    try:
        issued = await IdentityService(settings.auth).bootstrap_admin()
        await ensure_local_environment()
    finally:
        await database.close()
    return issued.secret if issued else None


def _free_port(host: str, port: int) -> int:
    if port:
        return port
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def cmd_up(args: argparse.Namespace) -> int:
    """Everything in one process on the embedded default: SQLite, migrations, API."""
    if args.data_dir:
        os.environ["GALAPAGOS_DATA_DIR"] = str(Path(args.data_dir).resolve())
    settings = load_settings()
    configure_logging(settings.log_level)
    _say(f"Galápagos: data in {settings.data_dir.resolve()}; applying migrations…")
    secret = asyncio.run(_bootstrap(settings))
    host = settings.api.host
    port = _free_port(host, args.port if args.port is not None else settings.api.port)
    settings = settings.model_copy(update={"api": settings.api.model_copy(update={"port": port})})
    url = f"http://{host}:{port}"
    _say(f"API:  {url}   (docs: {url}/docs)")
    if secret:
        _say(f"Admin token (shown once, stored hashed): {secret}")
        _say(f"  export GALAPAGOS_TOKEN={secret}")
    else:
        _say("Admin token: issued at first start; make a new one with")
        _say(f"  galapagos token create --user admin --admin   (data dir {settings.data_dir})")
    _say("Environment 'local' runs serves on a Ray head started here on first deploy.")
    from galapagos_app.main import create_app

    app = create_app(settings, with_worker=True)
    uvicorn.run(app, host=host, port=port, log_config=None, lifespan="on")
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    settings = load_settings()
    host = args.host or settings.api.host
    port = args.port if args.port is not None else settings.api.port
    uvicorn.run(
        "galapagos_app.asgi:create",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        log_config=None,
        lifespan="on",
        proxy_headers=True,
    )
    return 0


async def _work(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await database.connect(settings)
    try:
        async with running_worker(settings, Services.build(settings)):
            await stop.wait()
    finally:
        await database.close()


def cmd_worker(args: argparse.Namespace) -> int:
    """The background loops (builds); run as many as you like against one database."""
    settings = load_settings()
    configure_logging(settings.log_level)
    asyncio.run(_work(settings))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings.log_level)
    asyncio.run(database.migrate(settings))
    _say("migrations applied")
    return 0


async def _issue(settings: Settings, args: argparse.Namespace) -> str:
    await database.connect(settings)
    try:
        issued = await IdentityService(settings.auth).issue_for_username(
            args.user,
            admin=args.admin,
            name=args.name,
            expires_in_days=args.expires_in_days,
            actor=CLI,
        )
    finally:
        await database.close()
    return issued.secret


def cmd_token_create(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings.log_level)
    _say(asyncio.run(_issue(settings, args)))
    return 0


async def _rotate(settings: Settings) -> tuple[int, int]:
    await database.connect(settings)
    try:
        services = Services.build(settings)
        return await services.clusters.rotate(), await services.environments.rotate()
    finally:
        await database.close()


def cmd_secrets_rotate(args: argparse.Namespace) -> int:
    """Re-encrypt stored secrets under the first key of GALAPAGOS_SECRETS__KEYS."""
    settings = load_settings()
    configure_logging(settings.log_level)
    clusters, environments = asyncio.run(_rotate(settings))
    _say(f"re-encrypted {clusters} kubeconfig(s) and {environments} Ray token(s)")
    return 0


async def _import_catalog(settings: Settings, catalog: CatalogFile) -> str:
    await database.connect(settings)
    try:
        return str(await import_catalog(catalog))
    finally:
        await database.close()


def cmd_catalog_import(args: argparse.Namespace) -> int:
    """Add or update the GPU catalog from a YAML file (idempotent)."""
    try:
        catalog = CatalogFile.model_validate(yaml.safe_load(Path(args.file).read_text()))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        return _fail(f"{args.file}: {exc}")
    settings = load_settings()
    configure_logging(settings.log_level)
    _say(asyncio.run(_import_catalog(settings, catalog)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="galapagos", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run everything locally on SQLite (embedded default)")
    up.add_argument("--port", type=int, default=None, help="API port (0: any free port)")
    up.add_argument("--data-dir", help="where the SQLite file and packages live")
    up.set_defaults(run=cmd_up)

    api = commands.add_parser("api", help="serve the HTTP API (uvicorn)")
    api.add_argument("--host")
    api.add_argument("--port", type=int, default=None)
    api.add_argument("--workers", type=int, default=1)
    api.set_defaults(run=cmd_api)

    worker = commands.add_parser("worker", help="run the build worker (several may run)")
    worker.set_defaults(run=cmd_worker)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(run=cmd_migrate)

    token = commands.add_parser("token", help="manage API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="issue a token (prints the secret once)")
    create.add_argument("--user", required=True, help="username; created if missing")
    create.add_argument("--admin", action="store_true", help="make the user a platform admin")
    create.add_argument("--name", default="cli", help="a label for the token")
    create.add_argument("--expires-in-days", type=int, default=None)
    create.set_defaults(run=cmd_token_create)

    secrets = commands.add_parser("secrets", help="manage the encryption of stored secrets")
    secrets_commands = secrets.add_subparsers(dest="secrets_command", required=True)
    rotate = secrets_commands.add_parser(
        "rotate", help="re-encrypt kubeconfigs and tokens under the current (first) key"
    )
    rotate.set_defaults(run=cmd_secrets_rotate)

    catalog = commands.add_parser("catalog", help="manage the GPU catalog")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    load = catalog_commands.add_parser(
        "import", help="add or update providers, instance types and models from a YAML file"
    )
    load.add_argument("file", help="e.g. resources/catalog/gpu-catalog.yaml")
    load.set_defaults(run=cmd_catalog_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as exc:
        return _fail(exc.message)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
