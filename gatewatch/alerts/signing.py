"""The webhook signature: ``X-Gatewatch-Signature: sha256=<hex HMAC-SHA256 of the raw body>``.

The key is the receiver's secret; the signature covers the body's bytes exactly as sent, and the
body carries the same ``timestamp`` as ``X-Gatewatch-Timestamp``, so a receiver that checks the
signature knows the time is genuine too and can refuse a replayed old delivery. The receiver's
side (``verify``) is here as well, for the tests and as the documented reference.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Gatewatch-Signature"
TIMESTAMP_HEADER = "X-Gatewatch-Timestamp"
DELIVERY_HEADER = "X-Gatewatch-Delivery"
EVENT_HEADER = "X-Gatewatch-Event"
_PREFIX = "sha256="


def signature(secret: str, body: bytes) -> str:
    """The header's value for ``body`` signed with ``secret``: ``sha256=`` and the hex digest."""
    return _PREFIX + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def headers(secret: str, body: bytes, *, delivery_id: str, event: str, timestamp: int) -> dict[str, str]:
    """Every header of a delivery's POST."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "gatewatch-webhooks",
        SIGNATURE_HEADER: signature(secret, body),
        TIMESTAMP_HEADER: str(timestamp),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event,
    }


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` with ``secret`` (compared in constant time)."""
    return header is not None and hmac.compare_digest(signature(secret, body), header)
