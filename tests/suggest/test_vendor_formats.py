"""`replykit replies import --from zendesk|helpscout|freshdesk|chatwoot|gorgias`: each tool's own
API JSON (tests/suggest/data/, see its README for the endpoint each file mirrors) comes in as
saved replies with their placeholders converted, HTML as text, actions kept, and one warning
per odd record; a broken file imports nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from replykit.errors import InputError
from suggest import importers, library, library_io

DATA = Path(__file__).parent / "data"
FILES = {
    "zendesk": DATA / "zendesk_macros.json",
    "helpscout": DATA / "helpscout_saved_replies.json",
    "freshdesk": DATA / "freshdesk_canned_responses.json",
    "chatwoot": DATA / "chatwoot_canned_responses.json",
    "gorgias": DATA / "gorgias_macros.json",
}
NO_NAME = "as a placeholder: replykit has no name for it, so the agent fills it in"


def imported(home, source, path=None):
    return library_io.import_replies(home.db, path or FILES[source], home.config.attachments_dir,
                                     source=source)


def reply(home, reply_id):
    found = library.get_reply(home.db, reply_id)
    return {k: found[k] for k in ("title", "body", "folder", "status", "language", "tags",
                                  "actions")}


def warnings(result):
    return [(w["line"], w["reply"], w["field"], w["message"]) for w in result["warnings"]]


def test_zendesk_macros(home):
    result = imported(home, "zendesk")
    assert (result["added"], result["skipped"]) == (4, 1)
    assert warnings(result) == [
        (3, "zendesk-360001", "body", f"line 3 of the text: kept {{{{Order Number}}}} {NO_NAME}"),
        (97, "zendesk-360004", "body", "is required and must be non-empty text: row skipped"),
        (120, "zendesk-360005", "body", "line 2 of the text: kept "
         f"{{{{ticket.organization.custom_fields.manager}}}} {NO_NAME}"),
        (120, "zendesk-360005", "body", "line 1 of the text: kept the template logic "
         "{% if ticket.requester.first_name %} as text: replykit has no conditions or loops; "
         "edit the reply"),
        (120, "zendesk-360005", "body", "line 1 of the text: kept the template logic "
         "{% endif %} as text: replykit has no conditions or loops; edit the reply"),
    ]
    assert all(w["file"] == str(FILES["zendesk"]) for w in result["warnings"])
    assert reply(home, "zendesk-360001") == {
        "title": "Refund issued",
        "body": "Hi {{customer.first_name}},\n\nYour refund for order {{Order Number}} is on its "
                "way & should arrive within 5 days.\n\nBest,\n{{agent.name}}",
        "folder": "Billing/Refunds",
        "status": "approved",
        "language": "en",
        "tags": [],
        "actions": [{"type": "set_public", "value": "true"},
                    {"type": "set_tags", "value": ["refund", "billing"]},
                    {"type": "set_status", "value": "pending"},
                    {"type": "set_assignee", "value": "current_user"}],
    }
    thai = reply(home, "zendesk-360002")
    assert thai["body"] == "สวัสดีค่ะ คุณ{{customer.first_name}}\nพัสดุของคุณล่าช้า ขออภัยค่ะ"
    assert (thai["language"], thai["actions"]) == ("th", [
        {"type": "add_tags", "value": ["shipping", "th"]},
        {"type": "set_priority", "value": "high"}])
    persian = reply(home, "zendesk-360003")
    assert (persian["title"], persian["status"], persian["language"]) == (
        "بازنشانی رمز عبور", "archived", "fa")
    assert persian["body"].startswith("سلام {{customer.name}}،")
    assert reply(home, "zendesk-360005")["actions"] == [
        {"type": "zendesk.custom_fields_360000123", "value": "vip"}]
    with pytest.raises(Exception, match="no saved reply"):
        library.get_reply(home.db, "zendesk-360004")


def test_help_scout_saved_replies(home):
    result = imported(home, "helpscout")
    assert (result["added"], result["skipped"]) == (4, 0)
    assert warnings(result) == [
        (14, "helpscout-345678", "body", "only the list's preview was in the file: the text "
         "may be cut; export each saved reply (GET .../saved-replies/{id})"),
        (20, "helpscout-456789", "title", "cut to 300 characters"),
    ]
    assert reply(home, "helpscout-123456")["body"] == (
        "Hi {{customer.first_name|there}},\n\nYes! When you check out you can pick a non-profit "
        "to donate to.\n\n{{agent.first_name}}")
    thai = reply(home, "helpscout-234567")
    assert thai["body"] == "สวัสดีค่ะ {{customer.first_name|คุณลูกค้า}}\nเปลี่ยนที่อยู่ได้ก่อนจัดส่งค่ะ"
    assert thai["language"] == "th"
    long = reply(home, "helpscout-456789")
    assert len(long["title"]) == library.MAX_TITLE and long["title"].endswith("…")
    assert long["body"] == "سلام {{customer.name}}، سفارش {{ticket.id}} در راه است."
    assert long["language"] == "fa"


def test_freshdesk_canned_responses_in_folders(home):
    result = imported(home, "freshdesk")
    assert (result["added"], result["skipped"]) == (3, 1)
    assert warnings(result) == [
        (20, "freshdesk-82000005491", "attachments", "left out 'refund_form.pdf': the export "
         "holds only a link to it; attach the file with replykit replies attach"),
        (41, "freshdesk-82000005492", "body", "is required and must be non-empty text: "
         "row skipped"),
    ]
    assert reply(home, "freshdesk-82000005490") == {
        "title": "We’ve received your request",
        "body": "Thank you for reaching out to us, {{customer.name}}.\n\nYou can check the status "
                "of your request here:\n{{ticket.url}}\n\nRegards,\n{{agent.name}}",
        "folder": "Refunds", "status": "approved", "language": "en", "tags": [], "actions": [],
    }
    thai = reply(home, "freshdesk-82000005493")
    assert (thai["folder"], thai["language"]) == ("ทั่วไป", "th")


def test_freshdesk_bare_list_of_one_folder(home, tmp_path):
    folders = json.loads(FILES["freshdesk"].read_text("utf-8"))
    path = tmp_path / "responses.json"
    path.write_text(json.dumps(folders[1]["responses"], ensure_ascii=False), "utf-8")
    assert imported(home, "freshdesk", path)["added"] == 1
    assert reply(home, "freshdesk-82000005493")["folder"] == ""


def test_chatwoot_canned_responses(home):
    result = imported(home, "chatwoot")
    assert (result["added"], result["skipped"]) == (3, 1)
    assert warnings(result) == [
        (26, "chatwoot-4", "title", "is required and must be non-empty text: row skipped")]
    assert reply(home, "chatwoot-1")["body"] == (
        "Hi {{customer.first_name|there}}, I'm {{agent.first_name}} from support. How can I help?")
    persian = reply(home, "chatwoot-2")
    assert persian["body"] == (
        "سلام {{customer.name}}، بازپرداخت شما برای گفتگوی {{ticket.id}} انجام شد.")
    assert (persian["title"], persian["tags"], persian["language"]) == (
        "refund-fa", ["refund-fa"], "fa")
    assert reply(home, "chatwoot-3")["title"] == "ติดตามพัสดุ"


def test_gorgias_macros(home):
    result = imported(home, "gorgias")
    assert (result["added"], result["skipped"]) == (3, 0)
    assert warnings(result) == [
        (79, "gorgias-23455", "body", "line 1 of the text: kept "
         f"{{{{ticket.customer.meta.vip_level}}}} {NO_NAME}")]
    assert reply(home, "gorgias-23453") == {
        "title": "Order status inquiry",
        "body": "Hi {{customer.first_name}},\n\nYour order {{order.id}} has been delivered.",
        "folder": "", "status": "approved", "language": "en", "tags": ["shipping/status"],
        "actions": [{"type": "add_tags", "value": ["question", "order-status"]},
                    {"type": "set_status", "value": "closed"}],
    }
    thai = reply(home, "gorgias-23454")  # no body_text: its body_html as text
    assert thai["body"] == "สวัสดีค่ะ {{customer.first_name}}\n\nเราได้รับสินค้าคืนแล้วค่ะ"
    assert (thai["status"], thai["language"], thai["actions"]) == ("archived", "th", [
        {"type": "set_assignee",
         "value": {"id": 2, "name": "Lee Lead", "email": "lee@example.com"}}])
    assert reply(home, "gorgias-23455")["actions"] == [
        {"type": "gorgias.http", "value": {"url": "https://hooks.example.com/vip",
                                           "method": "POST"}}]


@pytest.mark.parametrize("source", sorted(FILES))
def test_reimport_is_unchanged_and_bad_json_mid_file_imports_nothing(home, tmp_path, source):
    first = imported(home, source)
    again = imported(home, source)
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, first["added"])
    lines = FILES[source].read_text("utf-8").splitlines()
    middle = len(lines) // 2
    lines[middle] = lines[middle] + ' "oops'
    broken = tmp_path / FILES[source].name
    broken.write_text("\n".join(lines), "utf-8")
    before = [(r["id"], r["version"]) for r in library.list_replies(home.db)]
    with pytest.raises(InputError, match=rf"^{broken} line {middle + 1}: invalid JSON \("):
        imported(home, source, broken)
    assert [(r["id"], r["version"]) for r in library.list_replies(home.db)] == before


@pytest.mark.parametrize("source", sorted(FILES))
def test_a_record_without_an_id_refuses_the_file(home, tmp_path, source):
    text = FILES[source].read_text("utf-8")
    document = json.loads(text)
    records = document[importers.SOURCES[source].LIST_KEY] if isinstance(document, dict) \
        else document
    records = records[0]["responses"] if source == "freshdesk" else records
    del records[-1]["id"]
    path = tmp_path / FILES[source].name
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), "utf-8")
    with pytest.raises(InputError, match=rf"^{path} line \d+, field id: is missing or not a "
                                         "number or text: every record needs its id$"):
        imported(home, source, path)
    assert library.list_replies(home.db) == []


@pytest.mark.parametrize("document, message", [
    ('{"macro": {"id": 1}}', 'line 1: expected an object with a "macros" list or a JSON list '
                             "of records"),
    ('{"macros": [1]}', "line 1: expected a JSON object for each record"),
    ("[\n{}\n", "line 3: invalid JSON (Expecting ',' delimiter)"),
])
def test_wrong_shapes_are_one_clear_error(home, tmp_path, document, message):
    path = tmp_path / "macros.json"
    path.write_text(document, "utf-8")
    with pytest.raises(InputError) as info:
        imported(home, "zendesk", path)
    assert str(info.value) == f"{path} {message}"


def test_pages_of_a_paginated_export_import_together(home, tmp_path):
    page = json.loads(FILES["gorgias"].read_text("utf-8"))
    second = {"data": [dict(page["data"][0], id=99, name="Second page")], "meta": {}}
    path = tmp_path / "pages.json"
    path.write_text(json.dumps([page, second], indent=1), "utf-8")
    result = imported(home, "gorgias", path)
    assert result["added"] == 4
    assert library.get_reply(home.db, "gorgias-99")["title"] == "Second page"


def test_cli_import_from_a_helpdesk_and_show_its_actions(config):
    config.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    (config.home / "config.toml").write_text('multilingual_model = ""\n', "utf-8")

    def run(*args):
        return CliRunner().invoke(cli, ["--home", str(config.home), *args])

    result = run("replies", "import", "--from", "zendesk", str(FILES["zendesk"]))
    assert result.exit_code == 0, result.output
    assert result.output.endswith("4 added, 0 updated, 0 unchanged, 1 skipped, 5 warnings\n")
    assert (f"Warning: {FILES['zendesk']} line 97, reply zendesk-360004, field body: is "
            "required and must be non-empty text: row skipped\n") in result.output
    shown = run("replies", "show", "zendesk-360001")
    assert "Actions: set_public true; set_tags refund, billing; set_status pending; " \
           "set_assignee current_user\n" in shown.output
    as_json = json.loads(run("replies", "import", "--from", "chatwoot", str(FILES["chatwoot"]),
                             "--json").output)
    assert (as_json["added"], as_json["skipped"]) == (3, 1)
    assert as_json["warnings"] == [{
        "file": str(FILES["chatwoot"]), "line": 26, "reply": "chatwoot-4", "field": "title",
        "message": "is required and must be non-empty text: row skipped"}]
    refused = run("replies", "import", "--from", "intercom", str(FILES["chatwoot"]))
    assert refused.exit_code == 2 and "'intercom' is not one of" in refused.output


@pytest.mark.parametrize("html, text", [
    ("Hi there,<br /><br />Of course you <b>can</b> come.<br>Bye", "Hi there,\n\nOf course you "
     "can come.\nBye"),
    ("<p>One</p><p>Two &amp; three</p>", "One\n\nTwo & three"),
    ("<ul><li>a</li><li>b</li></ul>", "- a\n- b"),
    ('See <a href="https://x.example/a">our page</a> or <a href="https://y.example">'
     "https://y.example</a>", "See our page (https://x.example/a) or https://y.example"),
    # what runs or hides in HTML is not text: scripts, styles, javascript: links, images
    ('<style>p{}</style><script>alert(1)</script><p>Hi &lt;b&gt; <a href="javascript:alert(1)">'
     "click</a><img src=x onerror=alert(1)></p>", "Hi <b> click"),
    ("<div>สวัสดีค่ะ</div><div>سلام <b>دوست</b></div>", "สวัสดีค่ะ\nسلام دوست"),
])
def test_html_bodies_become_text_with_line_breaks(html, text):
    assert importers.common.html_to_text(html) == text


def test_odd_shapes_inside_a_record_are_ignored_not_fatal(home, tmp_path):
    path = tmp_path / "macros.json"
    path.write_text(json.dumps({"macros": [
        {"id": 1, "title": "Actions not a list", "actions": 5},
        {"id": 2, "title": "Odd actions", "actions": [3, {"field": "comment_value",
                                                          "value": ["x", 7]},
                                                      {"field": "comment_value", "value": "Hi"}]},
    ]}), "utf-8")
    result = imported(home, "zendesk", path)
    assert (result["added"], result["skipped"]) == (1, 1)
    assert library.get_reply(home.db, "zendesk-2")["body"] == "Hi"


def test_a_huge_export_is_refused_before_it_is_read(home, tmp_path):
    path = tmp_path / "macros.json"
    with open(path, "wb") as f:
        f.truncate(importers.common.MAX_FILE_BYTES + 1)  # sparse: takes no disk
    with pytest.raises(InputError, match=rf"^{path}: is larger than 256 MB: export the saved "
                                         "replies in parts"):
        imported(home, "zendesk", path)
