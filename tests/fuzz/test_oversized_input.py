"""Oversized input is refused with a clear error, not by running out of memory: request bodies
over MAX_REQUEST_BYTES (413), attachments over the size limit or of a blocked type, and a
CSV/JSONL file with a 1 GB line (sparse, so it costs no disk), read in a subprocess whose peak
memory is measured."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from cli.main import cli
from replykit.config import load_config
from replykit.errors import InputError
from replykit.textio import MAX_LINE_BYTES
from suggest import attachments, library, library_io
from web import create_app
from web.app import MAX_REQUEST_BYTES

GB = 1 << 30


@pytest.fixture
def client(config):
    return create_app({"TESTING": True, "REPLYKIT_CONFIG": config}).test_client()


@pytest.mark.parametrize("stream", [False, True], ids=["content-length", "streamed"])
def test_api_body_over_the_limit_is_413_json(client, stream):
    body = b'{"query": "' + b"x" * MAX_REQUEST_BYTES + b'"}'
    if stream:  # no Content-Length (chunked upload): the limit applies while reading
        response = client.post("/api/suggest", input_stream=io.BytesIO(body),
                               content_type="application/json",
                               environ_overrides={"wsgi.input_terminated": True})
    else:
        response = client.post("/api/suggest", data=body, content_type="application/json")
    assert response.status_code == 413
    assert "larger than" in response.get_json()["error"]


def test_page_upload_over_the_limit_is_413_page(client):
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="replies.jsonl"\r\n\r\n'
            + b"x" * MAX_REQUEST_BYTES + b"\r\n--b--\r\n")
    response = client.post("/library/import", data=body,
                           content_type="multipart/form-data; boundary=b")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "413" in page and f"larger than {MAX_REQUEST_BYTES // (1024 * 1024)} MiB" in page


def test_attachment_size_and_type_policy(home):
    library.add_reply(home.db, {"id": "gift", "title": "Gift cards", "body": "Hi"})
    directory = home.config.attachments_dir
    with pytest.raises(InputError, match="larger than 10 MB") as too_big:
        attachments.add(home.db, directory, "gift", "terms.pdf",
                        b"\0" * (attachments.MAX_BYTES + 1))
    assert too_big.value.where == "attachment terms.pdf"
    for name in ("setup.exe", "invoice.PDF.js", "page.html", "logo.svg"):
        with pytest.raises(InputError, match="files are not accepted"):
            attachments.add(home.db, directory, "gift", name, b"MZ")
    with pytest.raises(InputError, match="not a media type"):
        attachments.add(home.db, directory, "gift", "a.pdf", b"%PDF", content_type="pdf")
    assert attachments.list_for(home.db, "gift") == []
    assert attachments.add(home.db, directory, "gift", "terms.pdf", b"%PDF-1.7")[
        "content_type"] == "application/pdf"


def test_import_with_a_blocked_attachment_changes_nothing(home, tmp_path):
    path = tmp_path / "replies.jsonl"
    record = {"id": "gift", "title": "Gift cards", "body": "Hi", "attachments": [
        {"filename": "run.exe", "content_base64": base64.b64encode(b"MZ").decode()}]}
    path.write_text(json.dumps({"id": "ok", "title": "Ok", "body": "Hi"}) + "\n"
                    + json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        library_io.import_replies(home.db, path, home.config.attachments_dir)
    assert f"{path} line 2, attachment run.exe" in str(info.value)
    assert library.list_replies(home.db) == []


def test_cli_refuses_a_huge_attachment_without_reading_it(tmp_path, config):
    library.add_reply(home_db := _db(config), {"id": "gift", "title": "Gift", "body": "Hi"})
    home_db.close()
    big = tmp_path / "video.mp4"
    with open(big, "wb") as f:
        f.truncate(GB)
    result = CliRunner().invoke(cli, ["--home", str(config.home), "replies", "attach", "gift",
                                      str(big)])
    assert result.exit_code == 1
    assert "attachment video.mp4: is larger than 10 MB" in result.output


def _db(config):
    from storage.db import connect

    return connect(config.db_path)


# the importer runs in a subprocess; its parent reports the child's peak memory
CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from replykit.config import load_config
    from replykit.errors import InputError
    from replykit.home import Home
    from suggest import conversations, library_io
    home = Home(load_config(sys.argv[1], multilingual_model=""))
    path = Path(sys.argv[2])
    try:
        if path.name.startswith("messages"):
            conversations.import_conversations(home.db, path)
        else:
            library_io.import_replies(home.db, path, home.config.attachments_dir)
    except InputError as exc:
        print(exc)
        sys.exit(3)
""")
PARENT = textwrap.dedent("""
    import resource, subprocess, sys
    done = subprocess.run([sys.executable, "-c", sys.argv[1], *sys.argv[2:]],
                          capture_output=True, text=True)
    print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(done.stdout + done.stderr, end="")
""")


@pytest.mark.parametrize(("name", "header", "line"), [
    ("messages.csv", b"conversation_id,message_id,role,author,channel,created_at,body\n", 2),
    ("messages.jsonl", b"", 1),
    ("replies.csv", b"id,title,body\r\n", 2),
    ("replies.jsonl", b'{"id": "a", "title": "A", "body": "Hi"}\n', 2),
])
def test_a_1gb_line_is_refused_in_little_memory(tmp_path, name, header, line):
    path = tmp_path / name
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(GB)  # sparse: a 1 GB line of NUL bytes that takes no disk
    home = tmp_path / "home"
    load_config(home)
    done = subprocess.run([sys.executable, "-c", PARENT, CHILD, str(home), str(path)],
                          capture_output=True, text=True, timeout=300, check=True)
    status, peak_kb = map(int, done.stdout.splitlines()[0].split())
    message = done.stdout.splitlines()[1]
    assert status == 3, done.stdout
    assert message == (f"{path} line {line}: line is longer than "
                       f"{MAX_LINE_BYTES // (1024 * 1024)} MB")
    assert peak_kb < 250 * 1024, f"peak RSS {peak_kb // 1024} MB"
