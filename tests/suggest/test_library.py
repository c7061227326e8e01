"""The saved-reply library: versions, history, restore, archive, validation, folders, team
visibility and attachments."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replykit.errors import InputError, NotFound
from suggest import attachments, library
from suggest.suggester import suggest

pytestmark = pytest.mark.both_backends

REPLY = {
    "id": "gift-cards",
    "title": "Gift cards",
    "body": "Hi {{customer.first_name|there}}, gift cards never expire.",
    "tags": ["billing", "gift-cards"],
    "questions": ["do gift cards expire?"],
}


def doc_count(db, ref):
    return db.execute("SELECT COUNT(*) FROM documents WHERE ref = ?", [ref]).fetchone()[0]


def test_add_creates_version_1_with_defaults(home):
    reply = library.add_reply(home.db, REPLY, author="ana")
    assert {
        k: reply[k] for k in ("id", "version", "status", "language", "folder", "teams", "author")
    } == {
        "id": "gift-cards",
        "version": 1,
        "status": "approved",
        "language": "en",
        "folder": "",
        "teams": [],
        "author": "ana",
    }
    assert reply["questions"] == ["do gift cards expire?"]
    assert [
        (v["version"], v["author"], v["note"]) for v in library.history(home.db, "gift-cards")
    ] == [(1, "ana", "created")]
    # title doc, title+body doc, one question doc
    assert doc_count(home.db, "gift-cards") == 3


def test_adding_a_taken_id_is_an_error(home):
    library.add_reply(home.db, REPLY)
    with pytest.raises(InputError) as info:
        library.add_reply(home.db, {**REPLY, "title": "Other"})
    assert str(info.value) == "field id: a saved reply with id 'gift-cards' exists"
    assert library.get_reply(home.db, "gift-cards")["title"] == "Gift cards"


def test_edit_adds_a_version_and_an_unchanged_edit_does_not(home):
    library.add_reply(home.db, REPLY, author="ana")
    edited = library.edit_reply(
        home.db, "gift-cards", {"title": "Gift card expiry"}, "bo", "clearer"
    )
    assert (edited["version"], edited["title"], edited["author"]) == (2, "Gift card expiry", "ana")
    same = library.edit_reply(
        home.db, "gift-cards", {"title": "Gift card expiry", "tags": REPLY["tags"]}
    )
    assert same["version"] == 2
    assert [
        (v["version"], v["title"], v["author"], v["note"])
        for v in library.history(home.db, "gift-cards")
    ] == [
        (1, "Gift cards", "ana", "created"),
        (2, "Gift card expiry", "bo", "clearer"),
    ]


def test_edit_rejects_unknown_fields_and_unknown_replies(home):
    library.add_reply(home.db, REPLY)
    with pytest.raises(InputError, match=r"^fields: cannot edit id, version$"):
        library.edit_reply(home.db, "gift-cards", {"id": "x", "version": 9})
    with pytest.raises(NotFound, match=r"^no saved reply with id 'nope'$"):
        library.edit_reply(home.db, "nope", {"title": "x"})


def test_restore_makes_an_old_version_current_as_a_new_version(home):
    library.add_reply(home.db, REPLY)
    library.edit_reply(home.db, "gift-cards", {"body": "Changed.", "questions": ["q2"], "tags": []})
    restored = library.restore_version(home.db, "gift-cards", 1, author="cy")
    assert restored["version"] == 3
    assert (restored["body"], restored["questions"], restored["tags"]) == (
        REPLY["body"],
        REPLY["questions"],
        REPLY["tags"],
    )
    assert library.history(home.db, "gift-cards")[-1]["note"] == "restored version 1"
    assert library.get_version(home.db, "gift-cards", 2)["body"] == "Changed."
    with pytest.raises(NotFound, match=r"^saved reply 'gift-cards' has no version 7$"):
        library.restore_version(home.db, "gift-cards", 7)


def test_archive_keeps_the_reply_but_removes_it_from_suggestions(loaded_engine):
    engine, db = loaded_engine, loaded_engine.db
    assert suggest(engine, "Can I get a refund?")["suggestions"][0]["id"] == "refund-policy"
    archived = library.archive_reply(db, "refund-policy", author="ana")
    engine.sync()
    assert (archived["status"], archived["version"]) == ("archived", 2)
    assert doc_count(db, "refund-policy") == 0
    ids = [s["id"] for s in suggest(engine, "Can I get a refund?", k=10)["suggestions"]]
    assert "refund-policy" not in ids and ids[0] == "refund-processed"
    assert [r["id"] for r in library.list_replies(db, status="archived")] == ["refund-policy"]
    library.restore_version(db, "refund-policy", 1)
    engine.sync()
    assert suggest(engine, "Can I get a refund?")["suggestions"][0]["id"] == "refund-policy"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"id": None}, "field id: must be 1-200 characters"),
        ({"id": "refund\n"}, "field id: must be 1-200 characters"),
        ({"title": "  "}, "field title: is required and must be non-empty text"),
        ({"title": None}, "field title: is required and must be non-empty text"),
        ({"title": "x" * 301}, "field title: is longer than 300 characters"),
        ({"title": "bell\x07"}, "field title: contains control characters"),
        ({"body": ""}, "field body: is required and must be non-empty text"),
        ({"body": "x" * 20_001}, "field body: is longer than 20000 characters"),
        ({"actions": [{"value": "x"}]}, 'field actions: must be a list of objects with a "type"'),
        ({"actions": {"type": "x"}}, 'field actions: must be a list of objects with a "type"'),
        ({"tags": "billing"}, "field tags: must be a list of strings"),
        ({"tags": ["a", 3]}, "field tags: must be a list of strings"),
        ({"language": "english"}, "field language: must be a language code such as en, th or fa"),
        ({"language": "en\n"}, "field language: must be a language code such as en, th or fa"),
        ({"status": "published"}, "field status: must be one of draft, approved, archived"),
        ({"folder": "Billing/../x"}, "field folder: must not contain '.' or '..' segments"),
        ({"teams": {"a": 1}}, "field teams: must be a list of strings"),
        ({"questions": ["x" * 20_001]}, "field questions: an example question is too long"),
    ],
)
def test_validation_errors_name_the_file_line_and_field(change, message):
    with pytest.raises(InputError) as info:
        library.validate({**REPLY, **change}, where="replies.jsonl line 4, ")
    assert str(info.value).startswith("replies.jsonl line 4, " + message)


def test_validation_cleans_lists_and_defaults():
    clean = library.validate(
        {
            "id": "a",
            "title": "  T  ",
            "body": "B",
            "tags": [" x ", "x", "", "y"],
            "status": "",
            "language": None,
            "questions": ["q", " q "],
        }
    )
    assert (
        clean["title"],
        clean["tags"],
        clean["status"],
        clean["language"],
        clean["questions"],
    ) == ("T", ["x", "y"], "approved", "en", ["q"])


@pytest.mark.parametrize(
    "folder, normal",
    [
        (" Billing / Refunds/ ", "Billing/Refunds"),
        ("Billing\\Refunds", "Billing/Refunds"),
        ("/a//b/", "a/b"),
        ("", ""),
        ("  ", ""),
    ],
)
def test_folder_normalisation(folder, normal):
    assert library.normalize_folder(folder) == normal


def test_list_filters_by_folder_prefix_tag_language_and_text(home, small_library):
    for record in small_library:
        library.add_reply(home.db, record)
    library.add_reply(home.db, {"id": "bil2", "title": "Other", "body": "x", "folder": "Billing2"})
    library.add_reply(home.db, {"id": "under", "title": "U", "body": "x", "folder": "a_b/c"})
    library.add_reply(home.db, {"id": "under2", "title": "U", "body": "x", "folder": "axb/c"})

    def ids(**filters):
        return sorted(r["id"] for r in library.list_replies(home.db, **filters))

    assert ids(folder="Billing") == [
        "cancel-subscription",
        "fa-refund-policy",
        "invoice-copy",
        "refund-policy",
        "refund-processed",
        "th-refund-policy",
    ]
    assert ids(folder=" billing/refunds ") == []  # folders are case-sensitive
    assert ids(folder="Billing / Refunds/") == [
        "fa-refund-policy",
        "refund-policy",
        "refund-processed",
        "th-refund-policy",
    ]
    assert ids(folder="a_b") == ["under"]  # '_' is not a LIKE wildcard here
    assert ids(tag="refunds", language="th") == ["th-refund-policy"]
    assert ids(status="draft") == ["sso-setup"]
    assert ids(text="REFUND ISSUED") == ["refund-processed"]


def test_team_visibility_in_suggestions(loaded_engine):
    engine, db = loaded_engine, loaded_engine.db
    library.edit_reply(db, "refund-policy", {"teams": ["vip"]})
    engine.sync()

    def top_ids(team):
        found = suggest(engine, "Can I get a refund?", k=10, teams=[team])
        return [s["id"] for s in found["suggestions"]]

    assert top_ids("vip")[0] == "refund-policy"
    assert "refund-policy" not in top_ids("basic")
    assert "refund-processed" in top_ids("basic")  # no teams: everyone sees it


# ------------------------------------------------------------------ attachments


def blobs(directory):
    return sorted(p.name for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


@pytest.mark.sqlite_only("attachment files on disk; on PostgreSQL their bytes are rows, "
                        "tests/test_postgres_servers.py")
def test_attachment_round_trip_and_replace_by_name(home):
    library.add_reply(home.db, REPLY)
    directory = home.config.attachments_dir
    item = attachments.add(home.db, directory, "gift-cards", "terms.pdf", b"%PDF-1 terms")
    assert (item["filename"], item["size"], item["content_type"]) == (
        "terms.pdf",
        12,
        "application/pdf",
    )
    assert attachments.read(home.db, directory, "gift-cards", "terms.pdf") == b"%PDF-1 terms"
    attachments.add(home.db, directory, "gift-cards", "terms.pdf", b"%PDF-2 v2")
    assert [(a["filename"], a["size"]) for a in attachments.list_for(home.db, "gift-cards")] == [
        ("terms.pdf", 9)
    ]
    assert blobs(directory) == sorted(
        [item["sha256"], attachments.list_for(home.db, "gift-cards")[0]["sha256"]]
    )


@pytest.mark.sqlite_only("attachment files on disk; on PostgreSQL their bytes are rows, "
                        "tests/test_postgres_servers.py")
def test_a_path_as_attachment_name_cannot_escape_the_directory(home, tmp_path):
    library.add_reply(home.db, REPLY)
    directory = home.config.attachments_dir
    item = attachments.add(home.db, directory, "gift-cards", "../../etc/passwd.txt", b"root:x")
    assert item["filename"] == "passwd.txt"
    assert blobs(directory) == [item["sha256"]]
    assert not (tmp_path / "etc").exists() and not (home.config.home / "etc").exists()
    item = attachments.add(home.db, directory, "gift-cards", "..\\..\\win.txt", b"[x]")
    assert item["filename"] == "win.txt"


@pytest.mark.parametrize(
    "name", ["..", ".", "", "  ", "dir/", "a\x00b", "tab\there", None, "x" * 256]
)
@pytest.mark.sqlite_only("attachment files on disk; on PostgreSQL their bytes are rows, "
                        "tests/test_postgres_servers.py")
def test_unusable_attachment_names_are_rejected(home, name):
    library.add_reply(home.db, REPLY)
    with pytest.raises(InputError) as info:
        attachments.add(home.db, home.config.attachments_dir, "gift-cards", name, b"data")
    assert info.value.where == "field filename"
    assert blobs(home.config.attachments_dir) == []


@given(st.text(max_size=40))
def test_safe_filename_never_returns_a_path(name):
    try:
        safe = attachments.safe_filename(name)
    except InputError:
        return
    assert "/" not in safe and "\\" not in safe and safe not in (".", "..") and safe == safe.strip()
    assert safe and name.replace("\\", "/").strip().rstrip(". ").endswith(safe)


@pytest.mark.sqlite_only("attachment files on disk; on PostgreSQL their bytes are rows, "
                        "tests/test_postgres_servers.py")
def test_attachment_size_limit_writes_nothing(home):
    library.add_reply(home.db, REPLY)
    directory = home.config.attachments_dir
    with pytest.raises(InputError) as info:
        attachments.add(
            home.db, directory, "gift-cards", "big.txt", b"a" * (attachments.MAX_BYTES + 1)
        )
    assert str(info.value) == "attachment big.txt: is larger than 10 MB"
    assert attachments.list_for(home.db, "gift-cards") == [] and blobs(directory) == []
    item = attachments.add(
        home.db, directory, "gift-cards", "max.txt", b"a" * attachments.MAX_BYTES
    )
    assert item["size"] == attachments.MAX_BYTES


@pytest.mark.sqlite_only("attachment files on disk; on PostgreSQL their bytes are rows, "
                        "tests/test_postgres_servers.py")
def test_attaching_to_an_unknown_reply_leaves_no_file(home):
    with pytest.raises(NotFound, match=r"^no saved reply with id 'nope'$"):
        attachments.add(home.db, home.config.attachments_dir, "nope", "a.txt", b"hello")
    assert blobs(home.config.attachments_dir) == []
