"""Library pages for team leads: search, filter and sort; create and edit with a live
placeholder preview; version history with diffs and restore; approve, archive, bulk tag;
import and export; curation (stale replies, near-duplicates, gaps) and merge, which shows both
replies side by side and asks which one stays."""

from __future__ import annotations

import difflib
import tempfile
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext

from replykit import audit
from replykit.errors import InputError, NotFound, ReplykitError
from rubrics.reports import saved_reply_quality
from suggest import curation, feedback, library, library_io
from web.access import report_teams, team_scope
from web.db import engine, get_home, indexing
from web.security import current_user, require_role

bp = Blueprint("library", __name__, url_prefix="/library")

SORTS = {
    "title": ("title", False),
    "usage": ("used", True),
    "acceptance": ("acceptance_rate", True),
    "last_used": ("last_used", True),
    "last_edited": ("updated_at", True),
    "quality": ("mean_score", False),
    "csat": ("csat_mean", False),
}
IMPORT_TYPES = (".jsonl", ".csv")


def _author() -> str:
    return current_user()["name"]


def _teams():
    """The teams whose replies the signed-in lead sees (None: all, for admins)."""
    return team_scope(current_user())


def _reply(reply_id: str) -> dict:
    """A saved reply the signed-in user's teams may see; NotFound for any other, so the
    pages of another team's reply reveal nothing."""
    try:
        reply = library.get_reply(get_home().db, reply_id)
    except NotFound:
        reply = None
    if reply is None or not library.visible_to(reply["teams"], _teams()):
        raise NotFound(f"no saved reply with id {reply_id!r}")
    return reply


def _quality(db) -> dict[str, dict]:
    """Review score and CSAT per saved reply (`saved_reply_quality`), over the conversations
    the user's reports cover."""
    return saved_reply_quality(db, teams=report_teams(current_user()))


def _split(text: str, sep: str = ",") -> list[str]:
    return [part.strip() for part in (text or "").split(sep) if part.strip()]


@bp.get("/")
@require_role("lead")
def index():
    """Saved replies filtered by text, tag, status, language and author, sorted."""
    args = request.args
    db = get_home().db
    replies = library.list_replies(db, status=args.get("status") or None,
                                   tag=args.get("tag") or None,
                                   language=args.get("language") or None,
                                   text=args.get("q") or None, teams=_teams())
    if args.get("author"):
        replies = [r for r in replies if r["author"] == args["author"]]
    usage = {row["reply_id"]: row for row in feedback.usage(db)}
    used = curation.last_used(db)
    quality = _quality(db)
    for reply in replies:
        stats = usage.get(reply["id"], {})
        reply.update(used=stats.get("used", 0), shown=stats.get("shown", 0),
                     acceptance_rate=stats.get("acceptance_rate"), last_used=used.get(reply["id"]),
                     quality=quality.get(reply["id"]))
        reply.update(mean_score=(reply["quality"] or {}).get("mean_score"),
                     csat_mean=(reply["quality"] or {}).get("csat_mean"))
    sort = args.get("sort", "title")
    key, descending = SORTS.get(sort, SORTS["title"])
    present = [r for r in replies if r[key] is not None]
    replies = sorted(present, key=lambda r: r[key], reverse=descending) + [
        r for r in replies if r[key] is None]
    everything = library.list_replies(db, teams=_teams())
    return render_template(
        "library/list.html", replies=replies, args=args, sorts=SORTS, statuses=library.STATUSES,
        indexing=indexing(),
        tags=sorted({t for r in everything for t in r["tags"]}),
        languages=sorted({r["language"] for r in everything}),
        authors=sorted({r["author"] for r in everything if r["author"]}),
    )


def _form_record() -> dict:
    form = request.form
    return {
        "title": form.get("title", ""), "body": form.get("body", "").replace("\r\n", "\n"),
        "tags": _split(form.get("tags", "")), "language": form.get("language", "en").strip(),
        "status": form.get("status", "draft"), "folder": form.get("folder", ""),
        "teams": _split(form.get("teams", "")),
        "questions": _split(form.get("questions", "").replace("\r\n", "\n"), "\n"),
    }


@bp.route("/new", methods=["GET", "POST"])
@require_role("lead")
def new():
    """Create a saved reply; `?questions=...` (repeatable, e.g. from a gap) pre-fills the
    example questions."""
    reply = {"id": "", "title": "", "body": "", "tags": [], "language": "en", "status": "draft",
             "folder": "", "teams": [],
             "questions": [q.strip() for q in request.args.getlist("questions") if q.strip()]}
    if request.method == "POST":
        reply = dict(_form_record(), id=request.form.get("id", "").strip())
        try:
            with engine().writing() as db:
                library.add_reply(db, reply, author=_author())
        except ReplykitError as exc:
            return render_template("library/edit.html", reply=reply, error=str(exc),
                                   statuses=library.STATUSES, creating=True), 400
        flash(_("Created %(id)s.", id=reply["id"]))
        return redirect(url_for("library.view", reply_id=reply["id"]))
    return render_template("library/edit.html", reply=reply, statuses=library.STATUSES,
                           creating=True)


@bp.get("/replies/<reply_id>")
@require_role("lead")
def view(reply_id: str):
    """One saved reply with its usage."""
    db = get_home().db
    reply = _reply(reply_id)
    (usage,) = feedback.usage(db, reply_id)
    return render_template("library/view.html", reply=reply, usage=usage,
                           last_used=curation.last_used(db).get(reply_id),
                           quality=_quality(db).get(reply_id))


@bp.route("/replies/<reply_id>/edit", methods=["GET", "POST"])
@require_role("lead")
def edit(reply_id: str):
    """Edit a saved reply (a new version) with a live placeholder preview."""
    db = get_home().db
    reply = _reply(reply_id)
    if request.method == "POST":
        changes = _form_record()
        try:
            with engine().writing():
                library.edit_reply(db, reply_id, changes, _author(),
                                   request.form.get("note", ""),
                                   base_version=request.form.get("version", type=int))
        except ReplykitError as exc:
            return render_template("library/edit.html", reply=dict(reply, **changes),
                                   error=str(exc), statuses=library.STATUSES), exc.status
        flash(_("Saved %(id)s.", id=reply_id))
        return redirect(url_for("library.view", reply_id=reply_id))
    return render_template("library/edit.html", reply=reply, statuses=library.STATUSES)


def _diff(old: dict, new: dict) -> list[tuple[str, str]]:
    """(kind, line) of a line diff of title, body, tags and questions: ' ', '+' or '-'."""
    def lines(v):
        return ([f"title: {v['title']}", f"status: {v['status']}",
                 f"tags: {', '.join(v['tags'])}", ""] + v["body"].split("\n")
                + [""] + [f"question: {q}" for q in v["questions"]])

    out = []
    for line in difflib.ndiff(lines(old), lines(new)):
        if line[:1] in (" ", "+", "-"):
            out.append((line[:1], line[2:]))
    return out


@bp.get("/replies/<reply_id>/history")
@require_role("lead")
def history(reply_id: str):
    """Every version; the diff between two of them (default: the last change)."""
    db = get_home().db
    _reply(reply_id)
    versions = library.history(db, reply_id)
    newest = versions[-1]["version"]
    b = request.args.get("b", newest, type=int)
    a = request.args.get("a", max(b - 1, 1), type=int)
    old, new_ = library.get_version(db, reply_id, a), library.get_version(db, reply_id, b)
    return render_template("library/history.html", reply_id=reply_id, versions=versions,
                           a=a, b=b, diff=_diff(old, new_))


@bp.post("/replies/<reply_id>/restore/<int:version>")
@require_role("lead")
def restore(reply_id: str, version: int):
    _reply(reply_id)
    with engine().writing() as db:
        library.restore_version(db, reply_id, version, _author())
    flash(_("Restored version %(version)s of %(id)s as a new version.", version=version,
            id=reply_id))
    return redirect(url_for("library.history", reply_id=reply_id))


@bp.post("/replies/<reply_id>/approve")
@require_role("lead")
def approve(reply_id: str):
    _reply(reply_id)
    with engine().writing() as db:
        library.edit_reply(db, reply_id, {"status": "approved"}, _author(), "approved")
    flash(_("Approved %(id)s: it is suggested from now on.", id=reply_id))
    return redirect(url_for("library.view", reply_id=reply_id))


@bp.post("/replies/<reply_id>/archive")
@require_role("lead")
def archive(reply_id: str):
    _reply(reply_id)
    with engine().writing() as db:
        library.archive_reply(db, reply_id, _author())
    flash(_("Archived %(id)s.", id=reply_id))
    return redirect(url_for("library.view", reply_id=reply_id))


@bp.post("/bulk-tag")
@require_role("lead")
def bulk_tag():
    """Add or remove a tag on the selected replies."""
    tag = request.form.get("tag", "").strip()
    action = request.form.get("action")
    ids = request.form.getlist("ids")
    if not tag or action not in ("add", "remove") or not ids:
        raise InputError("choose replies, a tag and add or remove")
    # all or nothing: a reply that fails leaves every tag as it was
    with engine().writing() as db:
        for reply_id in ids:
            tags = _reply(reply_id)["tags"]
            if action == "add":
                tags = tags if tag in tags else [*tags, tag]
            else:
                tags = [t for t in tags if t != tag]
            library.edit_reply(db, reply_id, {"tags": tags}, _author(),
                               f"bulk tag: {action} {tag}")
    if action == "add":
        flash(ngettext("Tag '%(tag)s' added to %(num)s reply.",
                       "Tag '%(tag)s' added to %(num)s replies.", len(ids), tag=tag))
    else:
        flash(ngettext("Tag '%(tag)s' removed from %(num)s reply.",
                       "Tag '%(tag)s' removed from %(num)s replies.", len(ids), tag=tag))
    return redirect(url_for("library.index"))


@bp.get("/export")
@require_role("lead")
def export():
    """Download the library as JSONL or CSV (the format of `replykit replies export`)."""
    fmt = request.args.get("format", "jsonl")
    if fmt not in ("jsonl", "csv"):
        raise InputError("must be jsonl or csv", "parameter format")
    home = get_home()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"saved_replies.{fmt}"
        library_io.export_replies(home.db, path, home.config.attachments_dir,
                                  request.args.get("status") or None, teams=_teams())
        data = path.read_bytes()
    audit.record(home.db, current_user(), "library.export", "library",
                 {"format": fmt, "status": request.args.get("status") or "", "bytes": len(data)})
    mime = "text/csv" if fmt == "csv" else "application/x-ndjson"
    return Response(data, mimetype=mime, headers={
        "Content-Disposition": f"attachment; filename=saved_replies.{fmt}"})


def _check_import_ids(db, path: Path) -> None:
    """Refuse an import that would change a reply the lead's teams do not see."""
    existing = {r["id"] for r in library.list_replies(db)}
    visible = {r["id"] for r in library.list_replies(db, teams=_teams())}
    for number, record in library_io.read_records(path):
        if record.get("id") in existing - visible:
            raise InputError(f"no saved reply with id {record['id']!r} among your teams' "
                             "replies", f"{path} line {number}")


@bp.post("/import")
@require_role("lead")
def import_():
    """Import a JSONL or CSV file (up to the request size limit); all or nothing."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InputError("choose a file", "file")
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in IMPORT_TYPES:
        raise InputError("must be a .jsonl or .csv file", "file")
    home = get_home()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        upload.save(path)
        try:
            _check_import_ids(home.db, path)
            with engine().writing() as db:
                counts = library_io.import_replies(db, path, home.config.attachments_dir,
                                                   _author())
        except InputError as exc:
            flash(_("Import failed, nothing changed: %(error)s",
                    error=str(exc).replace(str(path), upload.filename)))
            return redirect(url_for("library.index"))
    flash(_("Imported: %(summary)s", summary=library_io.summary(counts)))
    # the first few (flashes live in the session cookie); the CLI's --json lists them all
    for warning in counts["warnings"][:10]:
        flash(_("Warning: %(warning)s",
                warning=library_io.warning_line(warning).replace(str(path), upload.filename)))
    if len(counts["warnings"]) > 10:
        flash(_("… and %(num)s more warnings.", num=len(counts["warnings"]) - 10))
    return redirect(url_for("library.index"))


@bp.get("/curation")
@require_role("lead")
def curation_view():
    """Stale replies, near-duplicates (each linking to the side-by-side merge page) and gaps,
    with thread follow-up chatter apart."""
    args = request.args
    days = args.get("days", 30, type=int)
    age = args.get("age", 30, type=int)
    threshold = args.get("threshold", 0.8, type=float)
    eng = engine()
    visible = {r["id"] for r in library.list_replies(eng.db, teams=_teams())}
    duplicates = curation.duplicates(eng, threshold)
    duplicates["pairs"] = [p for p in duplicates["pairs"] if {p["a"], p["b"]} <= visible]
    duplicates["clusters"] = [c for c in ([i for i in c if i in visible]
                                          for c in duplicates["clusters"]) if len(c) > 1]
    gaps = curation.gaps(eng, teams=_teams())
    return render_template(
        "library/curation.html", days=days, age=age, threshold=threshold,
        as_of=curation.usage_as_of(eng.db),
        stale=[r for r in curation.stale(eng.db, days=days, min_age=age) if r["id"] in visible],
        duplicates=duplicates, gaps=[g for g in gaps if not g["follow_up"]],
        follow_ups=[g for g in gaps if g["follow_up"]],
    )


@bp.get("/merge")
@require_role("lead")
def merge_compare():
    """Two saved replies side by side (title, body, questions, usage, review score and CSAT),
    asking which one stays before anything is merged."""
    a, b = request.args.get("a", ""), request.args.get("b", "")
    if not a or not b or a == b:
        raise InputError("choose two different saved replies", "parameters a and b")
    db = get_home().db
    quality = _quality(db)
    used = curation.last_used(db)
    sides = []
    for reply_id in (a, b):
        reply = _reply(reply_id)
        (usage,) = feedback.usage(db, reply_id) or [{}]
        sides.append(dict(reply, usage=usage, last_used=used.get(reply_id),
                          quality=quality.get(reply_id)))
    return render_template("library/merge.html", sides=sides)


@bp.post("/merge")
@require_role("lead")
def merge():
    """Merge one saved reply into another (history kept, usage redirected): `keep` stays, and
    `merge` (or, from the side-by-side page, the other of `a` and `b`) is archived."""
    keep = request.form.get("keep", "")
    merged = request.form.get("merge", "")
    pair = [request.form.get("a", ""), request.form.get("b", "")]
    if not merged and keep in pair:
        merged = pair[1 - pair.index(keep)]
    if not keep or not merged:
        abort(400, "choose the reply to keep and the one to merge into it")
    _reply(keep)
    _reply(merged)
    with engine().writing() as db:
        curation.merge(db, keep, merged, _author())
    flash(_("Merged %(merged)s into %(keep)s; %(merged)s is archived.", merged=merged, keep=keep))
    return redirect(url_for("library.view", reply_id=keep))
