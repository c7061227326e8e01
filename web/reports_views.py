"""Reports dashboard: first-response-time distribution, SLA compliance over time, quality
trend, the quality x speed quadrant per agent, weakest rubric categories, saved replies with
the lowest review scores, saved-reply usage and acceptance, drafting time with and
without a suggestion, and survey results (NPS, CES, CSAT) per agent, channel, team and saved
reply beside quality and speed. Filters: period (default: the 8 weeks up to today), agent, channel,
team (reports cover the user's teams; admins all). A figure about misses (SLA compliance,
quality, a quadrant, a category) links to the breached or poor replies behind it; every
table downloads as CSV."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext

from replykit import audit
from replykit.errors import InputError, NotFound
from replykit.textio import write_csv
from rubrics import reports, surveys
from rubrics.calendar import parse_calendar
from rubrics.periods import INTERVALS, parse_bounds
from suggest import drafts, feedback, library
from web import charts
from web.access import blinded_reviews, may_read_conversation, report_teams, team_scope
from web.db import get_home
from web.security import current_user, require_role

bp = Blueprint("reports", __name__, url_prefix="/reports")

# first-response histogram buckets, in minutes (calendar time)
BUCKETS = ((0, 15), (15, 60), (60, 240), (240, 480), (480, 1440), (1440, None))


def _filters() -> dict:
    """from/to (default: the 8 weeks up to today, in the team calendar's time zone), agent,
    channel, interval, team (one of the user's teams: 403 otherwise)."""
    args = request.args
    calendar = parse_calendar(get_home().config.sections.get("calendar"))
    to = args.get("to") or datetime.now(ZoneInfo(calendar.timezone)).date().isoformat()
    try:
        start = args.get("from") or (date.fromisoformat(to) - timedelta(weeks=8)).isoformat()
    except (ValueError, OverflowError) as exc:
        raise InputError("must be a date (YYYY-MM-DD) after the first 8 weeks of year 1",
                         "parameter to") from exc
    interval = args.get("interval") or "week"
    if interval not in INTERVALS:
        raise InputError(f"must be one of {', '.join(INTERVALS)}", "parameter interval")
    team = args.get("team") or None
    team_scope(current_user(), team)
    return {"from": start, "to": to, "agent": args.get("agent") or None,
            "channel": args.get("channel") or None, "interval": interval, "team": team}


def _bounds(filters: dict):
    calendar = parse_calendar(get_home().config.sections.get("calendar"))
    return parse_bounds(filters["from"], filters["to"], calendar)


def _link(filters: dict, table: str, **extra) -> str:
    query = {k: v for k, v in filters.items() if v} | {k: v for k, v in extra.items() if v}
    return url_for("reports.table", name=table, **query)


def _bucket_label(lo: int, hi: int | None) -> str:
    def fmt(m):
        return f"{m // 60}h" if m >= 60 else f"{m}m"
    return f"{fmt(lo)}–{fmt(hi)}" if hi is not None else f"> {fmt(lo)}"


def _reports(filters: dict) -> dict:
    home = get_home()
    start, end = _bounds(filters)
    teams = report_teams(current_user(), filters["team"])
    kwargs = {"agent": filters["agent"], "channel": filters["channel"],
              "interval": filters["interval"], "teams": teams}
    sections = home.config.sections
    return {
        "speed": reports.speed_report(home.db, sections, start, end, **kwargs),
        "quality": reports.quality_report(home.db, sections, start, end, **kwargs),
        "combined": reports.combined_report(home.db, sections, start, end, **kwargs),
        "drafting": drafts.drafting_report(home.db, start, end, filters["agent"], teams),
    }


def _surveys(filters: dict) -> dict:
    """The surveys report over the user's teams, with only the saved replies those teams see,
    each with its title."""
    home = get_home()
    start, end = _bounds(filters)
    report = surveys.surveys_report(
        home.db, home.config.sections, start, end, agent=filters["agent"],
        channel=filters["channel"], interval=filters["interval"],
        teams=report_teams(current_user(), filters["team"]))
    titles = {r["id"]: r["title"] for r in library.list_replies(
        home.db, teams=team_scope(current_user()))}
    report["by_saved_reply"] = {reply_id: dict(figures, title=titles[reply_id])
                                for reply_id, figures in report["by_saved_reply"].items()
                                if reply_id in titles}
    return report


@bp.get("/")
@require_role("reviewer", "lead")
def dashboard():
    """The dashboard with its charts and headline figures."""
    filters = _filters()
    data = _reports(filters)
    speed, quality, combined = data["speed"], data["quality"], data["combined"]
    firsts = [r for r in speed["replies"] if r["first_response"]]
    histogram = []
    for lo, hi in BUCKETS:
        count = sum(1 for r in firsts if r["calendar_s"] >= lo * 60
                    and (hi is None or r["calendar_s"] < hi * 60))
        histogram.append((_bucket_label(lo, hi), count,
                          _link(filters, "responses", first="1", min_m=str(lo),
                                max_m=str(hi) if hi else None)))
    usage = _usage_rows()
    top_used = sorted(usage, key=lambda r: -r["used"])[:10]
    labels = quality["category_labels"]
    pass_score = quality["pass_threshold"]
    weakest = _weakest_saved_replies(filters)
    figures = {
        "first_response": charts.columns(histogram, title=_("First response time")),
        "sla": charts.columns(
            [(k, v["sla"]["compliance_pct"], _link(filters, "responses", period=k, breached="1"),
              ngettext("%(num)s reply", "%(num)s replies", v["sla"]["replies"]))
             for k, v in speed["by_period"].items()], unit="%", limit=100,
            title=_("SLA compliance")),
        "quality": charts.columns(
            [(k, v["mean_score"], _link(filters, "quality", period=k, poor="1"),
              ngettext("%(num)s review", "%(num)s reviews", v["reviews"]))
             for k, v in quality["by_period"].items()], limit=100, title=_("Quality score"),
            pass_line=pass_score),
        "quadrant": charts.stacked(
            [(a, v["quadrants"], {q: _link(filters, "quality", agent=a, quadrant=q)
                                  for q in reports.QUADRANTS},
              _("%(num)s reviewed", num=v["with_sla"]))
             for a, v in combined["by_agent"].items()], reports.QUADRANTS,
            title=_("Quality × speed per agent"), labels=QUADRANT_LABELS),
        "categories": charts.bars(
            sorted(((labels.get(k, k), v, _link(filters, "quality", category=k),
                     ngettext("%(num)s review", "%(num)s reviews",
                              quality["overall"]["category_reviews"].get(k, 0)))
                    for k, v in quality["overall"]["categories"].items()),
                   key=lambda item: item[1])[:8], limit=100, title=_("Weakest categories"),
            pass_line=pass_score),
        "saved_replies": charts.bars(
            [(r["title"], r["mean_score"],
              _link(filters, "quality", saved_reply=r["id"], poor="1"),
              _("%(num)s reviewed", num=r["reviewed"])
              + (_(", CSAT %(csat)s (%(num)s)", csat=format(r["csat_mean"], ".1f"), num=r["rated"])
                 if r["csat_mean"] is not None else ""))
             for r in weakest[:8]], limit=100, title=_("Lowest-scored saved replies"),
            pass_line=pass_score),
        "usage": charts.bars([(r["title"], r["used"], url_for("library.view", reply_id=r["id"]))
                              for r in top_used], title=_("Most used saved replies")),
        "drafting": charts.bars(
            [(_("%(agent)s with", agent=a), v["with_suggestion"]["median_s"],
              _link(filters, "drafting", agent=a))
             for a, v in data["drafting"]["by_agent"].items()]
            + [(_("%(agent)s without", agent=a), v["without_suggestion"]["median_s"],
                _link(filters, "drafting", agent=a))
               for a, v in data["drafting"]["by_agent"].items()], unit=" s",
            title=_("Median drafting time")),
    }
    agents = sorted(speed["by_agent"])
    return render_template("reports/dashboard.html", filters=filters, figures=figures,
                           speed=speed, quality=quality, combined=combined,
                           drafting=data["drafting"], surveys=_surveys(filters), agents=agents,
                           channels=sorted(speed["by_channel"]), intervals=INTERVALS,
                           tables=TABLES, link=lambda name, **kw: _link(filters, name, **kw))


QUADRANT_LABELS = {"good_fast": lazy_gettext("good, in time"),
                   "good_slow": lazy_gettext("good, late"),
                   "poor_fast": lazy_gettext("poor, in time"),
                   "poor_slow": lazy_gettext("poor, late")}


def _weakest_saved_replies(filters: dict) -> list[dict]:
    """Saved replies the user's teams see with their review score and CSAT in the period,
    those with enough reviews first (FEW_REVIEWS), lowest score first."""
    home = get_home()
    start, end = _bounds(filters)
    teams = report_teams(current_user(), filters["team"])
    titles = {r["id"]: r["title"]
              for r in library.list_replies(home.db, teams=team_scope(current_user()))}
    found = reports.saved_reply_quality(home.db, start, end, teams)
    rows = [dict(figures, id=reply_id, title=titles[reply_id])
            for reply_id, figures in found.items()
            if reply_id in titles and figures["mean_score"] is not None]
    return sorted(rows, key=lambda r: (r["few"], r["mean_score"]))


def _usage_rows() -> list[dict]:
    """Usage (`suggest.feedback.usage`, the one definition) of the saved replies the user's
    teams see."""
    db = get_home().db
    titles = {r["id"]: r["title"]
              for r in library.list_replies(db, teams=team_scope(current_user()))}
    return [{"id": r["reply_id"], "title": titles[r["reply_id"]], "shown": r["shown"],
             "used": r["used"], "inserted_in_workspace": r["inserted"],
             "sent_in_conversations": r["sent"], "sent_through_replykit": r["sends"],
             "acceptance_rate": r["acceptance_rate"], "basis": r["basis"],
             "mean_edit_ratio": r["mean_edit_ratio"], "time_saved_s": r["time_saved_s"],
             "last_used": r["last_used"]}
            for r in feedback.usage(db) if r["reply_id"] in titles]


def _table_rows(name: str, filters: dict) -> list[dict]:
    """The rows behind a figure, filtered by the drill-down parameters."""
    args = request.args
    if name in ("responses", "quality", "categories", "quadrant", "drafting"):
        data = _reports(filters)
    if name == "responses":
        rows = data["speed"]["replies"]
        if args.get("first"):
            rows = [r for r in rows if r["first_response"]]
        if args.get("min_m"):
            low = 60 * _minutes("min_m")
            rows = [r for r in rows if r["calendar_s"] >= low]
        if args.get("max_m"):
            high = 60 * _minutes("max_m")
            rows = [r for r in rows if r["calendar_s"] < high]
        if args.get("breached"):
            rows = [r for r in rows if r["sla"] is not None and not r["sla"]["within"]]
        return [dict(r, sla=None if r["sla"] is None else r["sla"]["within"]) for r in rows
                if not args.get("period") or _in_period(r["sent_at"], args["period"], filters)]
    if name == "quality":
        return _quality_rows(data, filters)
    if name == "categories":
        return [{"category": k, "mean_score": v}
                for k, v in data["quality"]["overall"]["categories"].items()]
    if name == "quadrant":
        return [dict(agent=a, reviewed=v["reviewed_replies"], **v["quadrants"],
                     north_star_pct=v["north_star_pct"], mean_score=v["mean_score"])
                for a, v in data["combined"]["by_agent"].items()]
    if name == "drafting":
        return [{k: r[k] for k in ("id", "agent", "team", "conversation_id", "opened_at",
                                   "finished_at", "outcome", "seconds", "suggestion_id",
                                   "edit_ratio")} for r in data["drafting"]["drafts"]]
    if name == "surveys":
        columns, rows = reports.flatten_groups(_surveys(filters))
        return [{c: r.get(c) for c in columns} for r in rows]
    if name == "usage":
        return _usage_rows()
    if name == "saved_replies":
        return [{k: r[k] for k in ("id", "title", "sent", "reviewed", "reviews", "mean_score",
                                   "poor", "rated", "csat_mean", "low_csat", "few")}
                for r in _weakest_saved_replies(filters)]
    raise NotFound(f"no report table {name!r}")


def _minutes(name: str) -> int:
    """A whole number of minutes from the query string; InputError otherwise."""
    value = request.args.get(name, type=int)
    if value is None:
        raise InputError("must be a whole number of minutes", f"parameter {name}")
    return value


def _quality_rows(data: dict, filters: dict) -> list[dict]:
    """Reviewed replies, narrowed by the drill-down parameters: period, poor=1 (below the
    pass threshold), quadrant (good/poor x in time/late), category (rated below the pass
    threshold there) and saved_reply (sent from it)."""
    args = request.args
    within = {(r["conversation_id"], r["message_id"]): r["sla"]["within"]
              for r in data["speed"]["replies"] if r["sla"] is not None}
    rows = []
    for r in data["quality"]["replies"]:
        key = (r["conversation_id"], r["message_id"])
        quadrant = (("good" if r["good"] else "poor") + "_"
                    + ("fast" if within[key] else "slow")) if key in within else None
        if ((args.get("period") and not _in_period(r["sent_at"], args["period"], filters))
                or (args.get("poor") and r["good"])
                or (args.get("quadrant") and quadrant != args["quadrant"])
                or (args.get("category") and args["category"] not in r["low_categories"])
                or (args.get("saved_reply") and r["saved_reply_id"] != args["saved_reply"])):
            continue
        rows.append(dict(r, scores=" ".join(map(str, r["scores"])),
                         low_categories=" ".join(r["low_categories"]), quadrant=quadrant))
    return rows


def _in_period(instant: str, period: str, filters: dict) -> bool:
    from rubrics.periods import bucket_key

    calendar = parse_calendar(get_home().config.sections.get("calendar"))
    return bucket_key(datetime.fromisoformat(instant), filters["interval"], calendar) == period


TABLES = ("responses", "quality", "categories", "quadrant", "drafting", "usage",
          "saved_replies", "surveys")


@bp.get("/tables/<name>")
@require_role("reviewer", "lead")
def table(name: str):
    """The rows behind a figure (conversations and replies), as a page or ?format=csv."""
    filters = _filters()
    rows = _table_rows(name, filters)
    columns = list(rows[0]) if rows else []
    if request.args.get("format") == "csv":
        buffer = io.StringIO()
        write_csv(buffer, columns, rows)
        audit.record(get_home().db, current_user(), "report.export", f"report:{name}",
                     {"rows": len(rows), "filters": {k: v for k, v in filters.items() if v}})
        return Response(buffer.getvalue(), mimetype="text/csv", headers={
            "Content-Disposition": f"attachment; filename={name}.csv"})
    query = {k: v for k, v in request.args.items() if k != "format"}
    return render_template("reports/table.html", name=name, rows=rows, columns=columns,
                           csv_url=url_for("reports.table", name=name, format="csv", **query),
                           back_url=url_for("reports.dashboard",
                                            **{k: v for k, v in filters.items() if v}))


@bp.get("/conversations/<conversation_id>")
@require_role("reviewer", "lead")
def conversation(conversation_id: str):
    """One conversation's messages, with links to the reviews of its replies."""
    from rubrics.reviews import list_reviews
    from web.api_workspace import conversation as load

    db = get_home().db
    if not may_read_conversation(db, current_user(), conversation_id):
        raise NotFound(f"no conversation {conversation_id!r}")
    hidden = blinded_reviews(db, current_user())
    return render_template("reports/conversation.html", conversation=load(db, conversation_id),
                           reviews=[r for r in list_reviews(db, conversation_id=conversation_id)
                                    if r["id"] not in hidden])
