"""Webhook signatures: HMAC-SHA256 over ``<timestamp>.<body>`` with the webhook's secret.

A receiver recomputes the signature from the raw body and the ``X-AOS-Timestamp`` header,
compares it in constant time with ``X-AOS-Signature`` (``sha256=<hex>``), and refuses a
timestamp too far from its clock, so a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-AOS-Signature"
TIMESTAMP_HEADER = "X-AOS-Timestamp"
DELIVERY_HEADER = "X-AOS-Delivery"
EVENT_HEADER = "X-AOS-Event"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A signing secret: shown once when the webhook is created, then only stored encrypted."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-AOS-Signature`` value of ``body`` sent at ``timestamp`` (Unix seconds)."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
