"""Paths: attachment names arriving through a web import never become paths outside the
attachments directory; web downloads never take a server path from the request; the CLI
writes exports where its user says. Uploads: type and size limits, and the uploaded file's
own name is never used as a path."""

from __future__ import annotations

import base64
import io
import json

from click.testing import CliRunner

from cli.main import cli
from suggest import attachments


def files_under(root) -> set:
    return {p for p in root.rglob("*") if p.is_file()}


def upload(client, token: str, records: list[dict], name: str = "replies.jsonl"):
    data = "\n".join(json.dumps(r) for r in records).encode()
    return client.post("/library/import", data={"csrf_token": token,
                                                "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", follow_redirects=True)


def reply_with(filename: str, reply_id: str = "with-file") -> dict:
    return {"id": reply_id, "title": "With a file", "body": "See the file.",
            "attachments": [{"filename": filename,
                             "content_base64": base64.b64encode(b"hello").decode()}]}


TRAVERSALS = {"../../evil.txt": "evil.txt", "/etc/evil.txt": "evil.txt",
              "..\\..\\evil.md": "evil.md", "C:\\Windows\\evil.md": "evil.md",
              "nested/../../../evil.txt": "evil.txt"}


def test_imported_attachment_names_stay_names(app, as_user, db, web_config, tmp_path):
    before = files_under(tmp_path)
    lead, token = as_user("lee")
    records = [reply_with(name, f"with-file-{n}") for n, name in enumerate(TRAVERSALS)]
    assert "Imported: 5 added" in upload(lead, token, records).get_data(as_text=True)
    app.extensions["replykit.index_writer"].wait()  # its temp files are gone once it is done
    for n, stored in enumerate(TRAVERSALS.values()):
        (item,) = attachments.list_for(db, f"with-file-{n}")
        assert item["filename"] == stored
    new = files_under(tmp_path) - before
    blobs = {p for p in new if p.parent == web_config.attachments_dir}
    assert len(blobs) == 1  # the same content, stored once under its sha256
    assert all(p.name.startswith("replykit.db") or p in blobs for p in new), new


def test_unusable_attachment_names_refuse_the_whole_import(as_user, db, web_config):
    lead, token = as_user("lee")
    for name in ("evil\x00.txt", "x" * 300 + ".txt", "..", "a/", ""):
        page = upload(lead, token, [reply_with(name)]).get_data(as_text=True)
        assert "Import failed, nothing changed" in page, name
        assert "is not a usable file name" in page, name
    assert not web_config.attachments_dir.exists() or not any(
        web_config.attachments_dir.iterdir())
    assert not db.execute("SELECT 1 FROM saved_replies WHERE id = 'with-file'").fetchone()


def test_the_uploaded_files_own_name_is_never_a_path(app, as_user, tmp_path):
    before = files_under(tmp_path)
    lead, token = as_user("lee")
    record = {"id": "plain", "title": "Plain", "body": "Hi."}
    assert "Imported: 1 added" in upload(lead, token, [record], "../../../owned.jsonl").get_data(
        as_text=True)
    app.extensions["replykit.index_writer"].wait()
    assert all(p.name.startswith("replykit.db") for p in files_under(tmp_path) - before)


def test_imports_accept_jsonl_and_csv_only(as_user):
    lead, token = as_user("lee")
    for name in ("replies.html", "replies.jsonl.exe", "replies", "r.JSONL.svg"):
        response = upload(lead, token, [{"id": "x", "title": "X", "body": "Y"}], name)
        assert response.status_code == 400, name
        assert "file: must be a .jsonl or .csv file" in response.get_data(as_text=True)


def test_web_downloads_take_no_path_from_the_request(as_user, tmp_path):
    lead, _ = as_user("lee")
    target = tmp_path / "stolen.jsonl"
    response = lead.get("/library/export", query_string={
        "format": "jsonl", "path": str(target), "filename": "../../x"})
    assert response.status_code == 200 and not target.exists()
    assert response.headers["Content-Disposition"] == "attachment; filename=saved_replies.jsonl"
    assert lead.get("/library/export?format=../../etc/passwd").status_code == 400
    assert lead.get("/reports/tables/..%2F..%2Fsecret_key?format=csv").status_code == 404
    response = lead.get("/reports/tables/usage?format=csv")
    assert response.headers["Content-Disposition"] == "attachment; filename=usage.csv"


def test_the_cli_exports_where_its_user_says(web_config, tmp_path):
    """A CLI user choosing the output path is legitimate: exactly that file is written."""
    out = tmp_path / "chosen" / "lib.jsonl"
    out.parent.mkdir()
    result = CliRunner().invoke(cli, ["--home", str(web_config.home), "replies", "export",
                                      str(out)])
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.parent.iterdir()] == ["lib.jsonl"]
    assert len(out.read_text(encoding="utf-8").splitlines()) == 15


def test_a_stored_digest_is_never_a_path(as_user, app, db, web_config):
    """A database restored from elsewhere may hold any text where a sha256 belongs."""
    web_config.attachments_dir.mkdir(parents=True, exist_ok=True)
    db["attachments"].insert({"reply_id": "refund-policy", "filename": "key.txt",
                              "sha256": "../secret_key", "size": 1, "content_type": "text/plain",
                              "created_at": "2026-01-01T00:00:00+00:00"})
    lead, _ = as_user("lee")
    response = lead.get("/library/export?format=jsonl")
    assert response.status_code == 400 and app.secret_key not in response.get_data(as_text=True)
    assert "secret_key&#39; is not a sha256 digest" in response.get_data(as_text=True)
