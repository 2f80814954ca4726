"""Key and token files: created with mode 0600 and never overwritten by accident.

The co-op's key is ``<data_dir>/coop.key`` (the seed in hex), the operator's admin token
``<data_dir>/admin.token``, and a member's key a JSON file ``{"seed": hex, "did": ...}``
that lives on the member's own machine: the node never holds a member's private key.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Final

from coopfed.protocol.identity import SigningIdentity

from . import jsonin

COOP_KEY_FILE: Final = "coop.key"
ADMIN_TOKEN_FILE: Final = "admin.token"
#: Largest member key file read (one holds a DID and a hex seed: some 130 bytes).
MAX_KEY_FILE: Final = 16 * 1024


class KeyFileError(ValueError):
    """A key or token file is missing, malformed, or does not match what it claims."""


def new_seed() -> bytes:
    """A fresh 32-byte Ed25519 seed from the operating system's random source."""
    return os.urandom(32)


def _write_private(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to ``path`` readable by its owner only, durably."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} exists already; refusing to overwrite a key") from None
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to a file that existed
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path} does not exist") from None


def _read(path: Path) -> str:
    return _read_bytes(path).decode("utf-8").strip()


def _seed_from_hex(text: object, path: Path) -> bytes:
    if not isinstance(text, str):
        raise KeyFileError(f"{path}: the seed must be hex text")
    try:
        seed = bytes.fromhex(text)
    except ValueError:
        raise KeyFileError(f"{path}: the seed is not hex") from None
    if len(seed) != 32:
        raise KeyFileError(f"{path}: the seed must be 32 bytes, got {len(seed)}")
    return seed


def write_key_file(path: Path | str, seed: bytes, *, overwrite: bool = False) -> SigningIdentity:
    """Write a member key file (JSON, mode 0600) and return the identity it holds."""
    identity = SigningIdentity(seed)
    data = json.dumps({"did": identity.did, "seed": seed.hex()}, indent=2) + "\n"
    _write_private(Path(path), data.encode(), overwrite=overwrite)
    return identity


def read_key_file(path: Path | str) -> SigningIdentity:
    """Read a member key file; its ``did`` must be the seed's (a typo check)."""
    path = Path(path)
    try:  # a member may be handed one: it is outside data, bounded like any other
        value = jsonin.loads(_read_bytes(path), limit=MAX_KEY_FILE, what="its text")
    except jsonin.JsonRefused as exc:
        raise KeyFileError(f"{path} is not a JSON key file: {exc.message}") from None
    if not isinstance(value, dict) or "seed" not in value:
        raise KeyFileError(f"{path}: expected a JSON object with a 'seed'")
    identity = SigningIdentity(_seed_from_hex(value["seed"], path))
    if "did" in value and value["did"] != identity.did:
        raise KeyFileError(f"{path}: the did does not belong to the seed")
    return identity


def write_coop_key(data_dir: Path | str, seed: bytes) -> SigningIdentity:
    """Write ``<data_dir>/coop.key`` (hex seed, mode 0600); refuses to replace one."""
    _write_private(Path(data_dir) / COOP_KEY_FILE, seed.hex().encode() + b"\n", overwrite=False)
    return SigningIdentity(seed)


def read_coop_key(data_dir: Path | str) -> SigningIdentity:
    path = Path(data_dir) / COOP_KEY_FILE
    return SigningIdentity(_seed_from_hex(_read(path), path))


def write_admin_token(data_dir: Path | str) -> str:
    """Create ``<data_dir>/admin.token`` (mode 0600) with a fresh random token; return it."""
    token = secrets.token_urlsafe(32)
    _write_private(Path(data_dir) / ADMIN_TOKEN_FILE, token.encode() + b"\n", overwrite=False)
    return token


def read_admin_token(data_dir: Path | str) -> str:
    token = _read(Path(data_dir) / ADMIN_TOKEN_FILE)
    if not token:
        raise KeyFileError(f"{Path(data_dir) / ADMIN_TOKEN_FILE} is empty")
    return token


def check_admin_token(data_dir: Path | str, presented: str) -> bool:
    """Compare a presented token with the stored one in constant time."""
    return hmac.compare_digest(read_admin_token(data_dir).encode(), presented.encode())
