"""Secrets at rest: AES-256-GCM under a named key, keys from the environment, rotation.

A sealed value reads ``v1:<key id>:<base64(nonce + ciphertext)>``; the context (for example
``cluster:prod-eu``) is authenticated with it, so a value cannot be moved to another record.
Values sealed under any configured key can be opened; new values use the first key.
"""

from __future__ import annotations

import base64
import os
import secrets as random
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from galapagos_core.kernel.errors import ConfigError, GalapagosError

_VERSION = "v1"


class SecretError(GalapagosError):
    default_code = "SECRET_UNREADABLE"


def parse_keys(spec: str) -> dict[str, bytes]:
    """``"k2:<base64 key>,k1:<base64 key>"`` → {key id: 32-byte key}, in that order."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, _, encoded = item.partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise ConfigError(f"secret key '{key_id}' is not valid base64") from None
        if not key_id or len(key) != 32:
            raise ConfigError(f"secret key '{key_id}' must be 32 bytes (AES-256), base64-encoded")
        keys[key_id] = key
    return keys


def new_key_spec(key_id: str = "k1") -> str:
    return f"{key_id}:{base64.b64encode(random.token_bytes(32)).decode()}"


def local_key_spec(data_dir: Path) -> str:
    """A key kept in the data directory (mode 0600): for the embedded default only."""
    path = data_dir / "secret-keys"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_key_spec("local1"))
    return path.read_text().strip()


class SecretBox:
    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise ConfigError("no secret key configured: set GALAPAGOS_SECRETS__KEYS")
        self.keys = keys
        self.current = next(iter(keys))

    def seal(self, plaintext: str, context: str) -> str:
        nonce = random.token_bytes(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(
            nonce, plaintext.encode(), context.encode()
        )
        return f"{_VERSION}:{self.current}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, value: str, context: str) -> str:
        version, key_id, payload = [*value.split(":", 2), "", ""][:3]
        if version != _VERSION or key_id not in self.keys:
            raise SecretError(
                f"secret sealed under unknown key '{key_id}': add it to GALAPAGOS_SECRETS__KEYS"
            )
        raw = base64.b64decode(payload)
        try:
            return AESGCM(self.keys[key_id]).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag:
            raise SecretError("secret does not decrypt: wrong key or tampered value") from None

    def derived_keys(self, purpose: str) -> list[bytes]:
        """One key per configured key, for ``purpose`` only (HKDF-SHA256), the current first:
        sign with the first, accept any, and rotation carries over."""
        return [
            HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(key)
            for key in self.keys.values()
        ]

    def needs_rotation(self, value: str) -> bool:
        return value.split(":", 2)[1:2] != [self.current]
