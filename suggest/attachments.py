"""Files attached to saved replies. Content is stored under HOME/attachments/<sha256>
(content-addressed: a user's file name is never a path, so it cannot escape the directory),
or, in PostgreSQL mode without an `attachments_dir`, in the database's attachment_blobs table
(`directory` None below: the bytes commit or roll back with the rows that name them); the
database keeps each reply's display file names."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

import storage.blobs
import storage.library
from replykit.errors import InputError, NotFound
from replykit.textio import atomic_file
from storage.db import write_transaction

MAX_BYTES = 10 * 1024 * 1024
_PDF, _PNG, _JPEG = b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"
_ZIP = b"PK\x03\x04"
_OOXML = "application/vnd.openxmlformats-officedocument."
# relationship types that make Office fetch a template, OLE object, frame or sub-document
# when the file opens (remote template injection, CVE-2022-30190); external hyperlinks stay
_REMOTE_TYPES = tuple(f"/{kind}\"".encode() for kind in (
    "attachedtemplate", "oleobject", "frame", "subdocument"))
_ODF = "application/vnd.oasis.opendocument."


@dataclass(frozen=True)
class FileType:
    """An accepted kind of attachment: the media type stored for it, other media types a
    client may declare for it, what it is called in errors, and its content check."""

    media_type: str
    label: str
    check: Callable[[bytes], str | None]  # None if the content is of this type, else why not
    aliases: tuple[str, ...] = ()


def _starts(*magic: bytes) -> Callable[[bytes], str | None]:
    return lambda data: None if data.startswith(magic) else "its content does not start like one"


def _webp(data: bytes) -> str | None:
    return None if data[:4] == b"RIFF" and data[8:12] == b"WEBP" else (
        "its content does not start like one")


def _text(data: bytes) -> str | None:
    if b"\x00" in data:
        return "it contains NUL bytes"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"it is not UTF-8 text (byte {exc.start + 1} is {data[exc.start]:#04x})"
    return None


def _zip_names(data: bytes) -> list[str] | str:
    """The names in a ZIP file (its directory only: nothing is unpacked), or why not one."""
    if not data.startswith(_ZIP):
        return "its content does not start like one (a ZIP package)"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return package.namelist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        return f"it is not a readable ZIP package ({exc})"


def _read_part(data: bytes, name: str, limit: int) -> bytes | str:
    """At most `limit` bytes of one part of a ZIP package, or why it cannot be read
    (encrypted, an unknown compression method, corrupt data)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package, package.open(name) as part:
            return part.read(limit)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError,
            ValueError, OSError) as exc:
        return f"its part {name} cannot be read ({exc})"


def _loads_remote_part(relationships: bytes) -> bool:
    """True if a .rels part has an external relationship of one of _REMOTE_TYPES (each
    element looked at once: linear in the part's size)."""
    for element in relationships.lower().split(b"<"):
        # spaces dropped and quotes made double: `TargetMode = 'External'` reads the same
        attributes = element.split(b">", 1)[0].translate(None, b" \t\r\n").replace(b"'", b'"')
        if (attributes.startswith(b"relationship") and b'targetmode="external"' in attributes
                and any(kind in attributes for kind in _REMOTE_TYPES)):
            return True
    return False


def _ooxml(folder: str) -> Callable[[bytes], str | None]:
    """Office Open XML (docx, xlsx, pptx) without macros, ActiveX controls or embedded OLE
    objects (programs travel in those as .bin parts)."""

    def check(data: bytes) -> str | None:
        names = _zip_names(data)
        if isinstance(names, str):
            return names
        if "[Content_Types].xml" not in names or not any(n.startswith(folder) for n in names):
            return f"it is not an Office document (no [Content_Types].xml and {folder} part)"
        types = _read_part(data, "[Content_Types].xml", 1024 * 1024)
        if isinstance(types, str):
            return types
        risky = [n for n in names if n.lower().endswith((".bin", "vbadata.xml"))]
        if risky or b"macroEnabled" in types or b"vbaProject" in types:
            return f"it contains macros or embedded programs ({(risky or ['macro types'])[0]})"
        for name in (n for n in names if n.lower().endswith(".rels")):
            links = _read_part(data, name, 1024 * 1024)
            if isinstance(links, str):
                return links
            if _loads_remote_part(links):
                return f"it loads a template or object from elsewhere ({name})"
        return None

    return check


def _odf(media_type: str) -> Callable[[bytes], str | None]:
    """OpenDocument: a ZIP whose `mimetype` entry names the type, without Basic or script
    macros."""

    def check(data: bytes) -> str | None:
        names = _zip_names(data)
        if isinstance(names, str):
            return names
        declared = _read_part(data, "mimetype", 200) if "mimetype" in names else b""
        if isinstance(declared, str):
            return declared
        if declared != media_type.encode():
            return f"it is not an OpenDocument file of type {media_type}"
        if any(n.startswith(("Basic/", "Scripts/")) for n in names):
            return "it contains macros (Basic/ or Scripts/)"
        return None

    return check


# documents and images only: anything else (programs, scripts, web pages, archives, disk
# images, macro-enabled Office files, shortcuts) is refused by not being listed
FILE_TYPES = {
    ".pdf": FileType("application/pdf", "PDF", _starts(_PDF)),
    ".png": FileType("image/png", "PNG image", _starts(_PNG)),
    ".jpg": FileType("image/jpeg", "JPEG image", _starts(_JPEG), ("image/jpg", "image/pjpeg")),
    ".jpeg": FileType("image/jpeg", "JPEG image", _starts(_JPEG), ("image/jpg", "image/pjpeg")),
    ".gif": FileType("image/gif", "GIF image", _starts(b"GIF87a", b"GIF89a")),
    ".webp": FileType("image/webp", "WebP image", _webp),
    ".txt": FileType("text/plain", "text", _text),
    ".csv": FileType("text/csv", "CSV text", _text,
                     ("text/plain", "application/csv", "application/vnd.ms-excel")),
    ".md": FileType("text/markdown", "Markdown text", _text, ("text/plain", "text/x-markdown")),
    ".docx": FileType(_OOXML + "wordprocessingml.document", "Word document", _ooxml("word/")),
    ".xlsx": FileType(_OOXML + "spreadsheetml.sheet", "Excel workbook", _ooxml("xl/")),
    ".pptx": FileType(_OOXML + "presentationml.presentation", "PowerPoint presentation",
                      _ooxml("ppt/")),
    ".odt": FileType(_ODF + "text", "OpenDocument text", _odf(_ODF + "text")),
    ".ods": FileType(_ODF + "spreadsheet", "OpenDocument spreadsheet", _odf(_ODF + "spreadsheet")),
}
_DIGEST = re.compile(r"[0-9a-f]{64}")
# path separators, control characters and direction overrides (which make "fdp.exe" read
# as "exe.pdf"); the Persian half-space (ZWNJ) stays allowed
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\\u202a-\u202e\u2066-\u2069]")
_CONTENT_TYPE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][\w.+-]*+/[A-Za-z0-9][\w.+-]*+(;[ -~]{0,200})?", re.ASCII
)


def safe_filename(name: str, where: str = "") -> str:
    """A display name without directories, control characters, direction overrides or the
    trailing dots and spaces Windows drops ("setup.exe." is "setup.exe"); InputError if
    unusable."""
    if not isinstance(name, str):
        raise InputError("must be text", f"{where}field filename")
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip().rstrip(". ")
    if not base or _BAD_NAME.search(base) or len(base) > 255:
        raise InputError(f"{name!r} is not a usable file name", f"{where}field filename")
    return base


def file_type(filename: str, where: str = "") -> FileType:
    """The accepted type of a file by its final extension (any case); InputError naming the
    file for any other extension."""
    suffix = Path(filename).suffix.lower()
    if suffix not in FILE_TYPES:
        what = f"{suffix} files are" if suffix else "files without an extension are"
        raise InputError(f"{what} not accepted: attachments are documents and images "
                         f"({' '.join(FILE_TYPES)})", f"{where}attachment {filename}")
    return FILE_TYPES[suffix]


def check_file(filename: str, size: int, content_type, where: str = "") -> str:
    """The media type to store for a file of this name and size: InputError if it is too
    large, not of an accepted type (FILE_TYPES), or declared (`content_type`; none or
    application/octet-stream says nothing) as another type than its extension's."""
    if size > MAX_BYTES:
        raise InputError(
            f"is larger than {MAX_BYTES // (1024 * 1024)} MB", f"{where}attachment {filename}"
        )
    kind = file_type(filename, where)
    if content_type in (None, ""):
        return kind.media_type
    if not isinstance(content_type, str) or not _CONTENT_TYPE.fullmatch(content_type):
        raise InputError(
            f"content_type {content_type!r} is not a media type like application/pdf",
            f"{where}attachment {filename}",
        )
    declared = content_type.split(";")[0].strip().lower()
    if declared not in (kind.media_type, *kind.aliases, "application/octet-stream"):
        raise InputError(f"content_type {content_type!r} does not match a "
                         f"{Path(filename).suffix.lower()} file ({kind.media_type})",
                         f"{where}attachment {filename}")
    return kind.media_type


def check_content(filename: str, data: bytes, content_type=None, where: str = "") -> str:
    """`check_file`, then the content itself: its first bytes (and for Office and
    OpenDocument files the package's parts) must be those of the type its extension names.
    Returns the media type to store."""
    media_type = check_file(filename, len(data), content_type, where)
    kind = file_type(filename, where)
    problem = kind.check(data)
    if problem:
        raise InputError(f"is not a {kind.label} file: {problem}", f"{where}attachment {filename}")
    return media_type


class Staging:
    """Blobs written during an import; removed again if the import rolls back. Blobs are
    only written inside a write transaction, so one writer at a time. With `directory` None
    they go into the database (`db` of `put`), in the import's transaction."""

    def __init__(self, directory: Path | None):
        self.directory = None if directory is None else Path(directory)
        self.created: list[Path] = []
        self.swept = False

    def put(self, data: bytes, digest: str | None = None, db=None) -> str:
        """Store `data` under its sha256 (`digest`, when the caller hashed it already, outside
        the write lock); returns the digest. `db`: where it goes when there is no directory."""
        if self.directory is None:
            digest = digest or hashlib.sha256(data).hexdigest()
            storage.blobs.put_blob(db, digest, data, datetime.now(UTC).isoformat())
            return digest
        if not self.swept:  # temp files of a writer killed mid-write (no other writer is live)
            for leftover in self.directory.glob("*.tmp"):
                leftover.unlink(missing_ok=True)
            self.swept = True
        digest = digest or hashlib.sha256(data).hexdigest()
        path = self.directory / digest
        if not path.exists():
            with atomic_file(path) as out:
                out.write(data)
            self.created.append(path)
        return digest

    def commit(self) -> None:
        self.created = []

    def rollback(self) -> None:
        for path in self.created:
            path.unlink(missing_ok=True)
        self.created = []


def _insert(db, reply_id: str, filename: str, digest: str, size: int, content_type: str):
    storage.library.insert_attachment(
        db,
        {
            "reply_id": reply_id,
            "filename": filename,
            "sha256": digest,
            "size": size,
            "content_type": content_type,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )


def add(
    db: sqlite_utils.Database,
    directory: Path | None,
    reply_id: str,
    filename: str,
    data: bytes,
    content_type: str | None = None,
) -> dict:
    """Attach a file (replacing one of the same name) to a saved reply."""
    filename = safe_filename(filename)
    content_type = check_content(filename, data, content_type)
    digest = hashlib.sha256(data).hexdigest()  # before the write lock: up to 10 MB
    staging = Staging(directory)
    try:
        with write_transaction(db):
            if storage.library.reply_version(db, reply_id) is None:
                raise NotFound(f"no saved reply with id {reply_id!r}")
            staging.put(data, digest, db)
            storage.library.delete_attachments(db, reply_id, filename)
            _insert(db, reply_id, filename, digest, len(data), content_type)
    except BaseException:
        staging.rollback()
        raise
    return next(a for a in list_for(db, reply_id) if a["filename"] == filename)


def _load(db, directory: Path | None, digest: str) -> bytes:
    """The content stored under `digest`, from `directory` or, when it is None, from the
    database (FileNotFoundError when it is missing)."""
    if directory is None:
        _blob(Path(), digest)  # the same check of the digest
        data = storage.blobs.get_blob(db, digest)
        if data is None:
            raise FileNotFoundError(f"no blob {digest} in the database")
        return data
    return _blob(directory, digest).read_bytes()


def _blob(directory: Path, digest: str) -> Path:
    """The file of a stored digest; a digest that is not one (a restored database from
    elsewhere could hold any text) never becomes a path outside the directory."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise InputError(f"{digest!r} is not a sha256 digest", "attachments table")
    return Path(directory) / digest


def list_for(db: sqlite_utils.Database, reply_id: str) -> list[dict]:
    """A reply's attachments (filename, size, content_type, sha256), by name."""
    return storage.library.attachment_rows(db, reply_id)


def read(db: sqlite_utils.Database, directory: Path | None, reply_id: str, filename: str) -> bytes:
    """The content of one attachment."""
    for item in list_for(db, reply_id):
        if item["filename"] == filename:
            return _load(db, directory, item["sha256"])
    raise NotFound(f"saved reply {reply_id!r} has no attachment {filename!r}")


def listing(db: sqlite_utils.Database, reply_ids: list[str]) -> dict[str, list[dict]]:
    """{reply id: [{"filename", "size", "content_type"}] by name} for these replies (those
    without attachments are left out): what a page showing the replies lists."""
    found: dict[str, list[dict]] = {}
    for row in storage.library.attachment_rows_of(db, sorted(set(reply_ids))):
        found.setdefault(row.pop("reply_id"), []).append(row)
    return found


def download(db: sqlite_utils.Database, directory: Path, reply_id: str, filename: str) -> dict:
    """One attachment to hand out: {"filename", "content_type", "data", "disposition"}. The
    content type is the stored one only if it is an accepted type (a restored database could
    hold text/html), else application/octet-stream; text types are UTF-8 (checked on upload).
    `disposition` is the Content-Disposition header value (see `content_disposition`).
    NotFound if the reply has no such attachment or its file is missing."""
    row = next((a for a in list_for(db, reply_id) if a["filename"] == filename), None)
    if row is None:
        raise NotFound(f"saved reply {reply_id!r} has no attachment {filename!r}")
    try:
        data = _load(db, directory, row["sha256"])
    except FileNotFoundError as exc:
        raise NotFound(f"the file of attachment {filename!r} of saved reply {reply_id!r} is "
                       f"missing from {directory or 'the database'}") from exc
    accepted = {kind.media_type for kind in FILE_TYPES.values()}
    media_type = row["content_type"] if row["content_type"] in accepted else (
        "application/octet-stream")
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8"
    return {"filename": filename, "content_type": media_type, "data": data,
            "disposition": content_disposition(filename)}


_TOKEN_SAFE = re.compile(r"[A-Za-z0-9!#$&+.^_`|~-]")
_FALLBACK_SAFE = re.compile(r"[A-Za-z0-9 ._()-]+")


def content_disposition(filename: str) -> str:
    """`attachment; filename="..."; filename*=UTF-8''...` (RFC 6266, RFC 8187): the name
    percent-encoded as UTF-8 for browsers, and a plain ASCII fallback for old clients: the
    name itself when it is only letters, digits, spaces and ._()-, else "attachment" with its
    extension. Neither part can hold a quote, a semicolon or a line break."""
    encoded = "".join(ch if _TOKEN_SAFE.fullmatch(ch) else
                      "".join(f"%{byte:02X}" for byte in ch.encode("utf-8"))
                      for ch in filename)
    suffix = Path(filename).suffix
    fallback = filename if _FALLBACK_SAFE.fullmatch(filename) else "attachment" + (
        suffix if _FALLBACK_SAFE.fullmatch(suffix or "x") else "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def export(db: sqlite_utils.Database, directory: Path | None, reply_id: str) -> list[dict]:
    """Attachments inline for export: filename, content_type, content_base64."""
    return [
        {
            "filename": item["filename"],
            "content_type": item["content_type"],
            "content_base64": base64.b64encode(
                _load(db, directory, item["sha256"])
            ).decode("ascii"),
        }
        for item in list_for(db, reply_id)
    ]


def replace_all(
    db: sqlite_utils.Database, staging: Staging, reply_id: str, files: list, where: str = ""
) -> bool:
    """Make a reply's attachments exactly `files` (export records). True if anything changed."""
    if not isinstance(files, list):
        raise InputError("must be a list", f"{where}field attachments")
    wanted = {}
    for item in files:
        if not isinstance(item, dict):
            raise InputError("each attachment must be an object", f"{where}field attachments")
        name = safe_filename(item.get("filename"), where)
        try:
            data = base64.b64decode(item.get("content_base64") or "", validate=True)
        except (ValueError, TypeError) as exc:  # binascii.Error, or non-ASCII text
            raise InputError(
                "content_base64 is not valid base64", f"{where}attachment {name}"
            ) from exc
        content_type = check_content(name, data, item.get("content_type"), where)
        wanted[name] = (hashlib.sha256(data).hexdigest(), data, content_type)
    current = {a["filename"]: (a["sha256"], a["content_type"]) for a in list_for(db, reply_id)}
    if current == {n: (d, ct) for n, (d, _, ct) in wanted.items()}:
        return False
    storage.library.delete_attachments(db, reply_id)
    for name, (digest, data, content_type) in wanted.items():
        _insert(db, reply_id, name, staging.put(data, digest, db), len(data), content_type)
    return True
