"""The installation's Ed25519 key, which signs evidence exports.

The private key is made on first use under ``<data_dir>/keys/`` (folder 0700, file 0600) and
never leaves it; a key file others can read is refused. The public key travels as one line of
base64 (the raw 32 bytes) or as PEM; its fingerprint is ``SHA256:`` and the base64 of the
SHA-256 of the raw key, as OpenSSH shows keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_DIR = "keys"
KEY_FILE = "export-signing-ed25519.pem"


class SigningKeyError(Exception):
    """A key cannot be made, read or parsed; the message says which and why."""


def key_path(data_dir: Path) -> Path:
    return data_dir / KEY_DIR / KEY_FILE


def installation_key(data_dir: Path) -> Ed25519PrivateKey:
    """The installation's signing key, made now if there is none yet."""
    path = key_path(data_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            # Created 0600 from the start; O_EXCL: two first uses at once keep one key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise SigningKeyError(f"{path} is readable by others (mode {mode:o}): chmod 600 {path}")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as exc:
        raise SigningKeyError(f"{path} is not a readable private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 key")
    return key


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_text(key: Ed25519PublicKey) -> str:
    """One line: the base64 of the raw 32-byte key."""
    return base64.b64encode(raw_public_key(key)).decode("ascii")


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def fingerprint(key: Ed25519PublicKey) -> str:
    digest = hashlib.sha256(raw_public_key(key)).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key from base64 of the raw key, PEM, or the path of a file holding either."""
    value = text.strip()
    if value and not value.startswith("-----") and Path(value).is_file():
        value = Path(value).read_text(encoding="ascii", errors="replace").strip()
    try:
        if value.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(value.encode("ascii"))
            if not isinstance(key, Ed25519PublicKey):
                raise SigningKeyError("the public key is not an Ed25519 key")
            return key
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise SigningKeyError(f"not an Ed25519 public key (base64 of 32 bytes, PEM, or a file of either): {exc}") from None


def verify_signature(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
