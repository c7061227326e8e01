"""A REAL django-helpdesk for the connector tests: `helpdesk_peer`, a session-scoped fixture
that writes a minimal Django project (helpdesk + DRF + SQLite) into a temporary folder,
migrates it once (the migrated database, with an admin user and a queue, is cached in the
system's temporary folder per django-helpdesk version, so later sessions just copy it), serves
it with waitress on a free port in a subprocess, and stops it after the session.

Use it from a test module with `from helpdesk_peer import helpdesk_peer  # noqa: F401`, or call
`start_peer(folder)` as a context manager. Customer e-mails reach a real helpdesk through its
mail poller (follow-ups without a user); the project adds one small view,
`POST /peer/customer-reply/<ticket id>/`, that stores such a follow-up, since the tests have no
mail server."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
import requests

USERNAME = "replykit-admin"
PASSWORD = "peer-password-7c1f"  # a throwaway account of a throwaway helpdesk
QUEUE = "Billing"

SETTINGS = '''
from pathlib import Path
BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "replykit-helpdesk-peer-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    "django.contrib.sites", "django.contrib.humanize", "rest_framework", "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "peer.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [], "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": BASE_DIR.parent / "helpdesk.sqlite3"}}
USE_TZ = True
TIME_ZONE = "UTC"
SITE_ID = 1
STATIC_URL = "/static/"
LOGIN_URL = "helpdesk:login"  # the staff UI's own sign-in page (tests/web/screenshots.py)
MEDIA_ROOT = BASE_DIR.parent / "media"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
HELPDESK_TEAMS_MODE_ENABLED = False
# basic auth hashes the password on every request: PBKDF2's million rounds take ~0.7 s a call
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": [
    "rest_framework.authentication.BasicAuthentication"]}
'''

URLS = '''
from django.contrib.staticfiles.views import serve as serve_static
from django.http import HttpResponseForbidden, JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def customer_reply(request, ticket_id):
    """What helpdesk's mail poller stores for a customer's e-mail: a public follow-up
    without a user (test peer only, reachable from localhost)."""
    from helpdesk.models import FollowUp, Ticket

    if request.method != "POST" or request.META.get("REMOTE_ADDR") != "127.0.0.1":
        return HttpResponseForbidden()
    ticket = Ticket.objects.get(id=ticket_id)
    followup = FollowUp.objects.create(
        ticket=ticket, title="E-Mail Received", date=timezone.now(), public=True,
        comment=request.body.decode("utf-8"))
    return JsonResponse({"id": followup.id})


urlpatterns = [
    path("peer/customer-reply/<int:ticket_id>/", customer_reply),
    path("static/<path:path>", serve_static, {"insecure": True}),  # the staff UI's styles
    path("", include("helpdesk.urls", namespace="helpdesk")),
]
'''

WSGI = '''
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer.settings")
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
'''

SETUP = f'''
from django.contrib.auth import get_user_model
from helpdesk.models import Queue
get_user_model().objects.create_superuser({USERNAME!r}, "admin@example.com", {PASSWORD!r})
Queue.objects.create(title={QUEUE!r}, slug="billing", allow_public_submission=True)
'''


@dataclass
class HelpdeskPeer:
    """A running django-helpdesk: its URL, the admin's credentials and its queue's id, with
    helpers that drive it through its REST API as a helpdesk user would."""

    base_url: str
    username: str
    password: str
    queue_id: int

    def api(self, method: str, path: str, json: dict | None = None) -> dict:
        """One authenticated API call (`path` like 'api/tickets/'); its JSON answer."""
        response = requests.request(method, f"{self.base_url}/{path}", json=json, timeout=30,
                                    auth=(self.username, self.password))
        response.raise_for_status()
        return response.json() if response.content else {}

    def create_ticket(self, title: str, description: str, email: str) -> int:
        """A new ticket from `email` in the peer's queue (the API user files it for them)."""
        return self.api("POST", "api/tickets/", {
            "queue": self.queue_id, "title": title, "description": description,
            "submitter_email": email, "priority": 3})["id"]

    def agent_reply(self, ticket_id: int, comment: str, public: bool = True) -> int:
        """A follow-up by the admin (an agent), as the helpdesk's own UI would add it."""
        return self.api("POST", "api/followups/", {
            "ticket": ticket_id, "comment": comment, "public": public})["id"]

    def customer_reply(self, ticket_id: int, comment: str) -> int:
        """A follow-up from the customer (what the mail poller stores for an e-mail)."""
        response = requests.post(f"{self.base_url}/peer/customer-reply/{ticket_id}/",
                                 data=comment.encode(), timeout=30)
        response.raise_for_status()
        return response.json()["id"]

    def followups(self, ticket_id: int) -> list[dict]:
        """The ticket's follow-ups, oldest first."""
        return self.api("GET", f"api/tickets/{ticket_id}/")["followup_set"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _manage(folder: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-c", "import django.core.management as m, sys; "
                           "m.execute_from_command_line(['manage.py'] + sys.argv[1:])", *args],
                          cwd=folder, env=_env(folder), capture_output=True, timeout=300)
    if done.returncode:
        raise RuntimeError(f"django-helpdesk peer: manage.py {args[0]} failed: "
                           + done.stderr.decode(errors="replace")[-3000:])


def _env(folder: Path) -> dict:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "peer.settings",
            "PYTHONPATH": str(folder), "PYTHONWARNINGS": "ignore"}


def _cached_database(folder: Path) -> None:
    """Give the project its migrated database: a copy of the cached one, else migrate (once
    per django-helpdesk version and project text) and cache it atomically."""
    key = hashlib.sha256((SETTINGS + URLS + SETUP).encode()).hexdigest()[:12]
    version = metadata.version("django-helpdesk")
    cache = Path(tempfile.gettempdir()) / f"replykit-helpdesk-peer-{version}-{key}.sqlite3"
    target = folder / "helpdesk.sqlite3"
    if cache.exists():
        shutil.copyfile(cache, target)
        return
    _manage(folder, "migrate", "--noinput")
    _manage(folder, "shell", "-c", SETUP)
    partial = cache.with_suffix(f".{os.getpid()}.part")
    shutil.copyfile(target, partial)
    os.replace(partial, cache)


@contextlib.contextmanager
def start_peer(folder: Path) -> Iterator[HelpdeskPeer]:
    """Write, migrate and serve a django-helpdesk in `folder`; stop it on exit."""
    project = folder / "peer"
    project.mkdir(parents=True)
    (project / "__init__.py").write_text("")
    for name, text in (("settings", SETTINGS), ("urls", URLS), ("wsgi", WSGI)):
        (project / f"{name}.py").write_text(text)
    _cached_database(folder)
    port = _free_port()
    log = open(folder / "server.log", "wb")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [sys.executable, "-m", "waitress", "--listen", f"127.0.0.1:{port}", "--threads", "4",
         "peer.wsgi:application"], cwd=folder, env=_env(folder), stdout=log,
        stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait(server, base_url, folder)
        yield HelpdeskPeer(base_url, USERNAME, PASSWORD, _queue_id(folder))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _queue_id(folder: Path) -> int:
    import sqlite3

    with contextlib.closing(sqlite3.connect(folder / "helpdesk.sqlite3")) as conn:
        return conn.execute("SELECT id FROM helpdesk_queue WHERE slug = 'billing'").fetchone()[0]


def _wait(server: subprocess.Popen, base_url: str, folder: Path) -> None:
    for _ in range(600):
        if server.poll() is not None:
            raise RuntimeError("the django-helpdesk peer stopped: "
                               + (folder / "server.log").read_text(errors="replace")[-2000:])
        with contextlib.suppress(requests.ConnectionError):
            requests.get(f"{base_url}/api/tickets/", timeout=5)
            return
        time.sleep(0.1)
    raise RuntimeError("the django-helpdesk peer did not answer within 60 s")


@pytest.fixture(scope="session")
def helpdesk_peer(tmp_path_factory) -> Iterator[HelpdeskPeer]:
    """A running django-helpdesk (one per test session and worker)."""
    with start_peer(tmp_path_factory.mktemp("helpdesk")) as peer:
        yield peer
