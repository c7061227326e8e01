"""HTTP for the connectors: one `requests.Session` per source with urllib3's `Retry` (429 and
5xx retried with exponential backoff, Retry-After respected up to a bound, a bounded number
of tries), a timeout on every request, answers of bounded size and time, redirects never
followed, and errors that never carry a credential: the message names the method, the URL
without its query string or user info, and the status."""

from __future__ import annotations

import re
import time
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from connectors.base import ConnectorError

RETRY_STATUSES = (429, 500, 502, 503, 504)
TIMEOUT = (10.0, 60.0)  # seconds: connect, read
RETRIES = 6
BACKOFF = 0.5  # seconds; doubles each try (0.5, 1, 2, 4...) up to BACKOFF_MAX
BACKOFF_MAX = 30.0
RETRY_AFTER_MAX = 120  # a Retry-After longer than this waits this long
MAX_BYTES = 64 << 20  # the largest answer read (a page of tickets is far smaller)
BODY_SECONDS = 300  # the longest an answer's body may take to arrive
# Request bodies that are safe to send twice: retried after a 429/5xx. POST is not (a note
# could be posted twice), except on 429, which says the request was not processed.
IDEMPOTENT = Retry.DEFAULT_ALLOWED_METHODS  # GET, HEAD, OPTIONS, PUT, DELETE, TRACE


def public_url(url: str) -> str:
    """`url` without user info, query string or fragment: safe in messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class Client:
    """Requests to one helpdesk at `base_url` with `auth` (a requests auth object or tuple)
    and extra `headers` (e.g. an API token header): retries, timeouts and clean errors."""

    def __init__(self, source: str, base_url: str, auth=None, headers: dict | None = None,
                 retries: int = RETRIES, backoff: float = BACKOFF,
                 timeout: tuple[float, float] = TIMEOUT):
        if not re.match(r"^https?://[^/]", base_url):
            raise ConnectorError(f"config.toml [sync.{source}] url: {public_url(base_url)!r} "
                                 "is not an http(s) URL")
        self.source = source
        self.endpoint = base_url
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        retry = dict(total=retries, backoff_factor=backoff, backoff_max=BACKOFF_MAX,
                     retry_after_max=RETRY_AFTER_MAX, raise_on_status=False)
        self.session = _session(auth, headers, Retry(
            connect=retries, read=retries, status=retries, status_forcelist=RETRY_STATUSES,
            allowed_methods=IDEMPOTENT, **retry))
        self.post_session = _session(auth, headers, Retry(
            connect=0, read=0, status=retries, status_forcelist=(429,), allowed_methods=None,
            **retry))

    def url(self, path: str) -> str:
        """The absolute URL of `path`: relative to base_url, absolute (a next-page link), or
        '' for the configured URL itself."""
        if not path:
            return self.endpoint
        return urljoin(self.base_url, path if "://" in path else path.lstrip("/"))

    def request(self, method: str, path: str, once: bool = False,
                **kwargs) -> requests.Response:
        """Send one request (retried as the module says; `once`: only after a 429, as a POST,
        for a PUT that adds something, e.g. a Zendesk comment); a 2xx response, else
        ConnectorError."""
        url = self.url(path)
        if urlsplit(url)[:2] != urlsplit(self.base_url)[:2]:
            # a next-page link to another host would carry our credentials there (and one to
            # http:// on the same host would send them in clear text)
            raise ConnectorError(f"{self.source}: {method} {public_url(url)}: not on "
                                 f"{public_url(self.base_url)}, refused")
        where = f"{self.source}: {method} {public_url(url)}"
        try:
            session = self.session if method in IDEMPOTENT and not once else self.post_session
            response = session.request(method, url, timeout=self.timeout,
                                       allow_redirects=False, stream=True, **kwargs)
        except requests.exceptions.Timeout:
            raise ConnectorError(f"{where}: no answer within {self.timeout[1]:g} s") from None
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise ConnectorError(f"{where}: {_reason(exc)}") from None
        if response.is_redirect:
            # never followed: a custom token header would go wherever the redirect points
            target = public_url(urljoin(url, response.headers.get("Location", "")))
            raise ConnectorError(f"{where}: redirected to {target} (set the url to it)")
        if not response.ok:
            hint = {401: " (check the credentials)", 403: " (the user lacks the permission)",
                    404: " (check the url)"}.get(response.status_code, "")
            response.close()
            raise ConnectorError(f"{where}: HTTP {response.status_code} "
                                 f"{response.reason or ''}{hint}".rstrip())
        _read_body(response, where)
        return response

    def get_json(self, path: str, params: dict | None = None):
        """GET `path` and decode its JSON body (ConnectorError if it is not JSON)."""
        response = self.request("GET", path, params=params)
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(f"{self.source}: GET {public_url(response.url)}: the answer "
                                 "is not JSON") from None

    def get_object(self, path: str, params: dict | None = None) -> dict:
        """GET a JSON object (ConnectorError for any other answer)."""
        answer = self.get_json(path, params)
        if not isinstance(answer, dict):
            raise ConnectorError(f"{self.source}: GET {public_url(self.url(path))}: the answer "
                                 "is not a JSON object")
        return answer


def _read_body(response: requests.Response, where: str) -> None:
    """Read the body, refusing one over MAX_BYTES or slower than BODY_SECONDS in all (a
    server dripping bytes would pass every per-read timeout)."""
    started = time.monotonic()
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(1 << 16):
            size += len(chunk)
            if size > MAX_BYTES or time.monotonic() - started > BODY_SECONDS:
                response.close()
                limit = (f"larger than {MAX_BYTES >> 20} MiB" if size > MAX_BYTES
                         else f"slower than {BODY_SECONDS} s")
                raise ConnectorError(f"{where}: the answer is {limit}, refused")
            chunks.append(chunk)
    except requests.exceptions.RequestException as exc:
        raise ConnectorError(f"{where}: {_reason(exc)}") from None
    response._content = b"".join(chunks)  # what .content would hold: .json() and .text use it


def _session(auth, headers: dict | None, retry: Retry) -> requests.Session:
    session = requests.Session()
    session.auth = auth
    session.headers.update(headers or {})
    session.headers["User-Agent"] = "replykit-sync"
    session.trust_env = False  # no ~/.netrc credentials or proxies picked up silently
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _reason(exc: Exception) -> str:
    """A short, credential-free reason for a failed request (the exception's own text may
    hold the full URL)."""
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "cannot connect (is the url right and the helpdesk up?)"
    if isinstance(exc, urllib3.exceptions.InvalidHeader):
        return "the answer has an invalid header (Retry-After?)"
    if isinstance(exc, requests.exceptions.InvalidHeader | requests.exceptions.InvalidURL):
        return "invalid request (check the url and credentials for odd characters)"
    return type(exc).__name__
