"""Which helpdesk pages may show replykit inside an iframe: the `[web] embed_origins` setting
(checked when the app is built: a bad origin refuses to start) and the headers that follow.

Every page answers `frame-ancestors 'none'` and `X-Frame-Options: DENY`, except views marked
`@frameable` (the /embed panel; the login form too when `embed_cookies` lets a session live
inside the frame), which the configured origins, and only they, may frame. No origin
configured: nothing is frameable."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from replykit.config import Config, ConfigError

# scheme://host[:port], nothing else: no path, wildcard, quote, space, ';' or ',' can reach
# the Content-Security-Policy header through the setting
_ORIGIN = re.compile(r"(https?)://([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:]+\])(?::[0-9]{1,5})?")
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


def frameable(view):
    """Mark a view as one that the configured helpdesk origins may frame."""
    view.frameable = True
    return view


def embed_origins(config: Config) -> tuple[str, ...]:
    """The origins in `[web] embed_origins`, each `https://host[:port]` (plain http only for
    a loopback host, as in tests and local trials), written as browsers write
    `MessageEvent.origin`: lower case, without a trailing slash or the scheme's default port
    (":443" would never equal the origin of a message); ConfigError naming the setting and the
    bad value otherwise."""
    where = f"{config.home / 'config.toml'}: [web] embed_origins"
    given = config.sections.get("web", {}).get("embed_origins", [])
    if not isinstance(given, list) or not all(isinstance(o, str) for o in given):
        raise ConfigError(f"{where}: must be a list of origins such as "
                          '["https://support.example.com"]')
    found = []
    for origin in given:
        text = origin.strip().lower().rstrip("/")
        match = _ORIGIN.fullmatch(text)
        if (match is None or (match.group(1) == "http" and match.group(2) not in _LOOPBACK)
                or not _valid_port(text)):
            raise ConfigError(f"{where}: {origin[:100]!r} is not an origin "
                              "https://host[:port] (no path, wildcard or plain http)")
        default = {"https": ":443", "http": ":80"}[match.group(1)]
        found.append(text.removesuffix(default))
    return tuple(dict.fromkeys(found))


def _valid_port(origin: str) -> bool:
    """Whether the origin's port, if it names one, is 1-65535."""
    try:
        port = urlsplit(origin).port
    except ValueError:
        return False
    return port is None or 0 < port


def embed_cookies(config: Config) -> bool:
    """Whether `[web] embed_cookies` asks for session cookies that live inside the helpdesk's
    iframe (SameSite=None; Secure; Partitioned); ConfigError when it is not a boolean, or
    when cookies are not Secure (`secure_cookies = false`) or no embed origin is set."""
    web = config.sections.get("web", {})
    wanted = web.get("embed_cookies", False)
    where = f"{config.home / 'config.toml'}: [web] embed_cookies"
    if not isinstance(wanted, bool):
        raise ConfigError(f"{where}: must be true or false")
    if wanted and not web.get("secure_cookies", True):
        raise ConfigError(f"{where}: needs secure_cookies = true (browsers refuse "
                          "SameSite=None cookies without Secure)")
    if wanted and not embed_origins(config):
        raise ConfigError(f"{where}: needs embed_origins (the helpdesk pages framing replykit)")
    return wanted


def frame_headers(csp: str, origins: tuple[str, ...], framed: bool) -> dict:
    """The framing headers of a response: the page's `csp` with `frame-ancestors` naming
    `origins` when the page may be `framed` (a @frameable view) and origins are configured
    (and no X-Frame-Options, which cannot name an origin); else `csp` as it is (`'none'`)
    and X-Frame-Options DENY."""
    if origins and framed:
        return {"Content-Security-Policy": csp.replace(
            "frame-ancestors 'none'", "frame-ancestors " + " ".join(origins))}
    return {"Content-Security-Policy": csp, "X-Frame-Options": "DENY"}
