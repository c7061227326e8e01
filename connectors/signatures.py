"""Checking that a webhook really comes from the helpdesk: an HMAC-SHA256 with the source's
secret over the request's timestamp and raw body, compared in constant time, and a timestamp
no further than WINDOW seconds from now (a captured request cannot be sent again later; within
the window the event id makes it a no-op, see web/hooks.py).

Schemes (docs/integrations.md, "Webhooks"):
- replykit's own, for every source type: `X-Replykit-Signature: t=<unix seconds>,v1=<hex>`,
  hex = HMAC-SHA256(secret, "<t>.<raw body>"); several `v1=` may be given (a secret being
  rotated), one match is enough.
- Zendesk's: `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, timestamp + raw
  body)) with the timestamp as sent in `X-Zendesk-Webhook-Signature-Timestamp` (read as ISO
  8601 or as unix seconds for the window).
- Chatwoot's (v4.11.2 and later): `X-Chatwoot-Signature: sha256=<hex>` over
  "<X-Chatwoot-Timestamp>.<raw body>"."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from replykit.errors import ReplykitError

WINDOW = 300  # seconds a signed request stays acceptable (either side of now: clock skew)
REPLYKIT = "X-Replykit-Signature"
ZENDESK, ZENDESK_TIME = "X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"
CHATWOOT, CHATWOOT_TIME = "X-Chatwoot-Signature", "X-Chatwoot-Timestamp"


class SignatureError(ReplykitError):
    """The request is unsigned, wrongly signed or too old: 401, nothing is stored."""

    status = 401


def _mac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `X-Replykit-Signature` value for `body` sent at `timestamp` (unix seconds): what a
    reverse proxy or a script in front of a helpdesk sends (docs/integrations.md)."""
    return f"t={timestamp},v1={_mac(secret, f'{timestamp}.'.encode() + body).hex()}"


def sign_zendesk(secret: str, body: bytes, timestamp: str) -> str:
    """Zendesk's `X-Zendesk-Webhook-Signature` for `body` and its timestamp header."""
    return base64.b64encode(_mac(secret, timestamp.encode() + body)).decode()


def sign_chatwoot(secret: str, body: bytes, timestamp: int) -> str:
    """Chatwoot's `X-Chatwoot-Signature` for `body` and its timestamp header."""
    return "sha256=" + _mac(secret, f"{timestamp}.".encode() + body).hex()


def _seconds(value: str, header: str) -> float:
    """A timestamp header as unix seconds: digits, or ISO 8601 with a timezone."""
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) <= 12:
        return float(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise SignatureError(f"header {header}: not a unix time or an ISO 8601 time with a "
                             "timezone")
    return when.timestamp()


def _fresh(seconds: float, now: float, header: str) -> None:
    if abs(now - seconds) > WINDOW:
        raise SignatureError(f"header {header}: the request was signed more than {WINDOW} s "
                             "from now (stale or replayed; check the sender's clock)")


def _replykit(secret: str, headers, body: bytes, now: float) -> None:
    parts = [p.strip().partition("=") for p in headers[REPLYKIT].split(",")]
    stamps = [v for k, _, v in parts if k == "t"]
    given = [v for k, _, v in parts if k == "v1"]
    if len(stamps) != 1 or not given or not stamps[0].isascii() or not stamps[0].isdigit():
        raise SignatureError(f"header {REPLYKIT}: expected t=<unix seconds>,v1=<hex>")
    expected = _mac(secret, f"{stamps[0]}.".encode() + body).hex()
    if not any(hmac.compare_digest(expected, v.lower()) for v in given if v.isascii()):
        raise SignatureError(f"header {REPLYKIT}: the signature does not match the body")
    _fresh(_seconds(stamps[0], REPLYKIT), now, REPLYKIT)


def _zendesk(secret: str, headers, body: bytes, now: float) -> None:
    stamp = headers.get(ZENDESK_TIME)
    if not stamp:
        raise SignatureError(f"header {ZENDESK_TIME}: missing")
    expected = sign_zendesk(secret, body, stamp)
    if not hmac.compare_digest(expected.encode(), headers[ZENDESK].strip().encode()):
        raise SignatureError(f"header {ZENDESK}: the signature does not match the body")
    _fresh(_seconds(stamp, ZENDESK_TIME), now, ZENDESK_TIME)


def _chatwoot(secret: str, headers, body: bytes, now: float) -> None:
    stamp = headers.get(CHATWOOT_TIME, "").strip()
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise SignatureError(f"header {CHATWOOT_TIME}: expected unix seconds")
    expected = sign_chatwoot(secret, body, int(stamp))
    if not hmac.compare_digest(expected.encode(), headers[CHATWOOT].strip().lower().encode()):
        raise SignatureError(f"header {CHATWOOT}: the signature does not match the body")
    _fresh(float(stamp), now, CHATWOOT_TIME)


# the helpdesk's own scheme, tried when its header is present; replykit's always works
NATIVE = {"zendesk": (ZENDESK, _zendesk), "chatwoot": (CHATWOOT, _chatwoot)}


def verify(source_type: str, secret: str, headers, body: bytes, now: float) -> None:
    """Accept the request (`headers`: a case-insensitive mapping, `body`: the raw bytes) or
    raise SignatureError saying which header is missing, malformed, wrong or stale."""
    native = NATIVE.get(source_type)
    if native and headers.get(native[0]):
        native[1](secret, headers, body, now)
    elif headers.get(REPLYKIT):
        _replykit(secret, headers, body, now)
    else:
        expected = f"{native[0]} or {REPLYKIT}" if native else REPLYKIT
        raise SignatureError(f"unsigned request: header {expected} is missing")
