"""The key that signs session cookies and CSRF tokens, the same for every worker and restart."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_ENV = "GATEWATCH_SECRET_KEY"
SECRET_FILE = "secret_key"


def secret_key(data_dir: Path) -> str:
    """``GATEWATCH_SECRET_KEY``, else the key in ``data_dir/secret_key``, created (mode 0600) if missing.

    Creating uses O_EXCL, so workers starting together agree on one key: the losers read the winner's.
    """
    from_env = os.environ.get(SECRET_ENV, "").strip()
    if from_env:
        return from_env
    path = data_dir / SECRET_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if not key:
            raise RuntimeError(f"{path} is empty: delete it to make a new key, or set {SECRET_ENV}") from None
        return key
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key
