"""Speed, quality and combined (quality x speed) reports for a period, with optional agent,
channel and team filters, broken down by agent, channel and period bucket. docs/metrics.md defines
every figure. Each report is a JSON-ready dict; `flatten_groups` turns one into table rows."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

import sqlite_utils

from rubrics import scoring
from rubrics.calendar import parse_calendar, parse_instant
from rubrics.periods import buckets
from rubrics.sla import parse_sla
from rubrics.speed import load_facts, quantile, reply_rows, speed_metrics
from rubrics.store import get_rubric
from rubrics.survey_scores import nps
from storage import conversations as conversation_store
from storage import reviews as review_store

WEAKEST = 3


def _settings(sections: dict):
    return parse_calendar(sections.get("calendar")), parse_sla(sections.get("sla"))


def _header(kind: str, start: datetime, end: datetime, agent, channel, interval, calendar,
            teams=None):
    return {
        "report": kind,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "filters": {"agent": agent, "channel": channel,
                    "teams": None if teams is None else sorted(teams)},
        "interval": interval,
        "timezone": calendar.timezone,
    }


def team_conversations(db: sqlite_utils.Database, teams) -> set[str] | None:
    """Ids of the conversations of `teams` ('' among them: those with no team); None (no
    filter) when `teams` is None."""
    if teams is None:
        return None
    return conversation_store.conversation_ids_of_teams(db, teams)


def _round(value, digits=2):
    return None if value is None else round(value, digits)


# --- speed ---------------------------------------------------------------------------------


def speed_report(
    db: sqlite_utils.Database, sections: dict, start: datetime, end: datetime,
    agent: str | None = None, channel: str | None = None, interval: str = "month",
    now: datetime | None = None, teams=None,
) -> dict:
    """Team speed metrics over [start, end) with by_agent, by_channel and by_period groups,
    and every answering reply with its times and SLA verdict. Backlog is counted at
    min(end, now). `teams`: only conversations of these teams ('' = no team; None: all)."""
    calendar, targets = _settings(sections)
    periods = buckets(start, end, interval, calendar)
    now = now or datetime.now(UTC)
    facts = load_facts(db, calendar, targets, end)
    allowed = team_conversations(db, teams)
    if allowed is not None:
        facts = [f for f in facts if f["id"] in allowed]
    if channel is not None:
        facts = [f for f in facts if f["channel"] == channel]

    def metrics(lo, hi, who=None, chan=None):
        return speed_metrics(facts, lo, hi, calendar, agent=who or agent, channel=chan,
                             as_of=min(hi, now))

    agents = sorted({r["author"] for f in facts for r in f["replies"]
                     if start <= r["sent_at"] < end and r["author"]})
    return dict(
        _header("speed", start, end, agent, channel, interval, calendar, teams),
        overall=metrics(start, end),
        by_agent={a: metrics(start, end, who=a) for a in agents if agent in (None, a)},
        by_channel={c: metrics(start, end, chan=c)
                    for c in sorted({f["channel"] for f in facts})},
        by_period={key: metrics(lo, hi) for key, lo, hi in periods},
        replies=reply_rows(facts, start, end, agent=agent),
    )


# --- quality -------------------------------------------------------------------------------


def reviewed_replies(db: sqlite_utils.Database, start: datetime, end: datetime) -> list[dict]:
    """Sent agent replies from [start, end) with their submitted reviews, one entry per reply:
    mean score, spread, pass verdict and per-category scores of every review."""
    rows = review_store.submitted_reply_reviews(db)
    ratings: dict[int, dict] = {}
    for row in review_store.all_ratings(db, rated_only=True):
        ratings.setdefault(row["review_id"], {})[row["category"]] = row["rating"]
    rubrics: dict[tuple, object] = {}
    replies: dict[tuple, dict] = {}
    for row in rows:
        sent = parse_instant(row["sent_at"])
        if not start <= sent < end:
            continue
        version = (row["rubric_name"], row["rubric_version"])
        if version not in rubrics:
            rubrics[version] = get_rubric(db, *version)
        rubric = rubrics[version]
        categories = {
            key: float(scoring.category_score(rubric, key, value))
            for key, value in ratings.get(row["id"], {}).items() if value is not None
        }
        entry = replies.setdefault((row["conversation_id"], row["message_id"]), {
            "conversation_id": row["conversation_id"], "message_id": row["message_id"],
            "author": row["author"], "channel": row["channel"], "sent_at": sent,
            "reviews": [],
        })
        entry["reviews"].append({
            "id": row["id"], "reviewer": row["reviewer"], "score": row["score"],
            "auto_failed": bool(row["auto_failed"]), "rubric": f"{version[0]} v{version[1]}",
            "pass_threshold": rubric.pass_threshold, "categories": categories,
            "labels": {c.key: c.label for c in rubric.categories},
        })
    for entry in replies.values():
        scores = [r["score"] for r in entry["reviews"]]
        entry["score"] = statistics.fmean(scores)
        entry["spread"] = max(scores) - min(scores)
        entry["pass_threshold"] = statistics.fmean(r["pass_threshold"] for r in entry["reviews"])
        entry["good"] = entry["score"] >= entry["pass_threshold"]
        by_category: dict[str, list[float]] = {}
        for review in entry["reviews"]:
            for key, value in review["categories"].items():
                by_category.setdefault(key, []).append(value)
        entry["low_categories"] = sorted(
            key for key, values in by_category.items()
            if statistics.fmean(values) < entry["pass_threshold"])
    return sorted(replies.values(), key=lambda e: (e["sent_at"], e["conversation_id"]))


def quality_metrics(replies: list[dict]) -> dict:
    """Quality figures of a set of reviewed replies (see `reviewed_replies`)."""
    reviews = [r for e in replies for r in e["reviews"]]
    scores = [e["score"] for e in replies]
    multi = [e["spread"] for e in replies if len(e["reviews"]) >= 2]
    per_category: dict[str, list[float]] = {}
    for review in reviews:
        for key, value in review["categories"].items():
            per_category.setdefault(key, []).append(value)
    categories = {key: _round(statistics.fmean(v)) for key, v in sorted(per_category.items())}
    versions: dict[str, int] = {}
    for review in reviews:
        versions[review["rubric"]] = versions.get(review["rubric"], 0) + 1
    return {
        "replies": len(replies),
        "reviews": len(reviews),
        "mean_score": _round(statistics.fmean(scores)) if scores else None,
        "median_score": _round(quantile(scores, 0.5)),
        "pass_rate_pct": _round(100 * sum(e["good"] for e in replies) / len(replies))
        if replies else None,
        "poor_replies": sum(not e["good"] for e in replies),
        "auto_failed_reviews": sum(r["auto_failed"] for r in reviews),
        "spread": {
            "multi_reviewed_replies": len(multi),
            "mean_range": _round(statistics.fmean(multi)) if multi else None,
            "max_range": _round(max(multi)) if multi else None,
        },
        "categories": categories,
        "category_reviews": {key: len(v) for key, v in sorted(per_category.items())},
        "weakest_categories": sorted(categories, key=lambda k: (categories[k], k))[:WEAKEST],
        "rubric_versions": versions,
    }


def _of_teams(db, replies: list[dict], teams) -> list[dict]:
    allowed = team_conversations(db, teams)
    return replies if allowed is None else [e for e in replies if e["conversation_id"] in allowed]


def _filtered(replies, agent, channel):
    return [e for e in replies if agent in (None, e["author"]) and channel in (None, e["channel"])]


def _in(replies, lo, hi):
    return [e for e in replies if lo <= e["sent_at"] < hi]


def quality_report(
    db: sqlite_utils.Database, sections: dict, start: datetime, end: datetime,
    agent: str | None = None, channel: str | None = None, interval: str = "month",
    teams=None,
) -> dict:
    """Review scores of replies sent in [start, end): overall, by agent, channel, period, and
    the list of reviewed replies with their mean and spread. `teams` as in speed_report."""
    calendar, _targets = _settings(sections)
    periods = buckets(start, end, interval, calendar)
    replies = _filtered(_of_teams(db, reviewed_replies(db, start, end), teams), agent, channel)
    saved = {(row["conversation_id"], row["message_id"]): row["saved_reply_id"]
             for row in conversation_store.saved_reply_messages(db)}
    labels = {key: label for e in replies for r in e["reviews"]
              for key, label in r["labels"].items()}
    thresholds = [r["pass_threshold"] for e in replies for r in e["reviews"]]
    return dict(
        _header("quality", start, end, agent, channel, interval, calendar, teams),
        category_labels=labels,
        pass_threshold=_round(statistics.fmean(thresholds)) if thresholds else None,
        overall=quality_metrics(replies),
        by_agent={a: quality_metrics(_filtered(replies, a, None))
                  for a in sorted({e["author"] for e in replies})},
        by_channel={c: quality_metrics(_filtered(replies, None, c))
                    for c in sorted({e["channel"] for e in replies})},
        by_period={key: quality_metrics(_in(replies, lo, hi)) for key, lo, hi in periods},
        replies=[
            {"conversation_id": e["conversation_id"], "message_id": e["message_id"],
             "author": e["author"], "channel": e["channel"], "sent_at": e["sent_at"].isoformat(),
             "reviews": len(e["reviews"]), "score": _round(e["score"]),
             "spread": _round(e["spread"]), "good": e["good"],
             "scores": [r["score"] for r in e["reviews"]],
             "low_categories": e["low_categories"],
             "saved_reply_id": saved.get((e["conversation_id"], e["message_id"]))}
            for e in replies
        ],
    )


# --- combined ------------------------------------------------------------------------------

QUADRANTS = ("good_fast", "good_slow", "poor_fast", "poor_slow")


def combined_metrics(replies: list[dict]) -> dict:
    """Quadrant counts and the north-star share (good and fast) of reviewed replies that
    have an SLA verdict; replies without one are counted as `no_sla`."""
    judged = [e for e in replies if e["sla"] is not None]
    counts = dict.fromkeys(QUADRANTS, 0)
    for e in judged:
        quadrant = ("good" if e["good"] else "poor") + "_" + (
            "fast" if e["sla"]["within"] else "slow")
        counts[quadrant] += 1
    scores = [e["score"] for e in replies]
    return {
        "reviewed_replies": len(replies),
        "with_sla": len(judged),
        "no_sla": len(replies) - len(judged),
        "quadrants": counts,
        "north_star_pct": _round(100 * counts["good_fast"] / len(judged)) if judged else None,
        "mean_score": _round(statistics.fmean(scores)) if scores else None,
        "median_response_s": {
            clock: _round(quantile([e["durations"][f"{clock}_s"] for e in judged], 0.5), 1)
            for clock in ("calendar", "business")
        },
    }


def combined_report(
    db: sqlite_utils.Database, sections: dict, start: datetime, end: datetime,
    agent: str | None = None, channel: str | None = None, interval: str = "month",
    teams=None,
) -> dict:
    """The north star (share of reviewed replies both good and within SLA) with quadrants;
    per agent also the quality and response-time trend by period and the weakest categories.
    `teams` as in speed_report."""
    calendar, targets = _settings(sections)
    periods = buckets(start, end, interval, calendar)
    facts = load_facts(db, calendar, targets, end)
    allowed = team_conversations(db, teams)
    if allowed is not None:
        facts = [f for f in facts if f["id"] in allowed]
    verdicts = {
        (r["conversation_id"], r["message_id"]): r for f in facts for r in f["replies"]
    }
    replies = _filtered(_of_teams(db, reviewed_replies(db, start, end), teams), agent, channel)
    for e in replies:
        fact = verdicts.get((e["conversation_id"], e["message_id"]))
        e["sla"] = fact["sla"] if fact else None
        e["durations"] = fact["durations"] if fact else None
    if channel is not None:
        facts = [f for f in facts if f["channel"] == channel]

    def trend(who):
        rows = {}
        for key, lo, hi in periods:
            quality = quality_metrics(_in(_filtered(replies, who, None), lo, hi))
            speed = speed_metrics(facts, lo, hi, calendar, agent=who)
            rows[key] = {
                "mean_score": quality["mean_score"],
                "reviewed_replies": quality["replies"],
                "response_median_s": {"calendar": speed["response"]["calendar"]["median"],
                                      "business": speed["response"]["business"]["median"]},
                "sla_compliance_pct": speed["sla"]["compliance_pct"],
            }
        return rows

    by_agent = {}
    for name in sorted({e["author"] for e in replies}):
        mine = _filtered(replies, name, None)
        by_agent[name] = dict(
            combined_metrics(mine),
            weakest_categories=quality_metrics(mine)["weakest_categories"],
            trend=trend(name),
        )
    return dict(
        _header("combined", start, end, agent, channel, interval, calendar, teams),
        overall=combined_metrics(replies),
        by_agent=by_agent,
        by_channel={c: combined_metrics(_filtered(replies, None, c))
                    for c in sorted({e["channel"] for e in replies})},
        by_period={key: combined_metrics(_in(replies, lo, hi)) for key, lo, hi in periods},
        rubric_versions=quality_metrics(replies)["rubric_versions"],
    )


# --- per saved reply ------------------------------------------------------------------------

FEW_REVIEWS = 3  # below this many reviewed replies a saved reply's score is shown as "few"


def saved_reply_quality(db: sqlite_utils.Database, start: datetime | None = None,
                        end: datetime | None = None, teams=None) -> dict[str, dict]:
    """Review scores and survey answers of the agent replies sent from each saved reply in
    [start, end) (None: no bound), by saved reply id. Each entry: sent (replies sent from it),
    reviewed (those with a submitted review), reviews, mean_score (mean of the reviewed
    replies' scores), poor (reviewed replies below their rubric's pass threshold), rated
    (conversations with a CSAT among those it was sent in, each counted once), csat_mean,
    low_csat (rated 1 or 2), nps ({"n", "promoters", "passives", "detractors", "score"} of the
    conversations with an NPS answer), ces_rated, ces_mean, few (fewer than FEW_REVIEWS
    reviewed replies: not yet a trend). `teams` as in speed_report. A reply counts when its
    import names the saved reply or its send was recorded with it (sent_replies, matched to an
    insertion): docs/metrics.md."""
    lo = start or datetime.min.replace(tzinfo=UTC)
    hi = end or datetime.max.replace(tzinfo=UTC)
    allowed = team_conversations(db, teams)
    sent = {(row["conversation_id"], row["message_id"]): row
            for row in conversation_store.saved_reply_messages(db)}
    for number, row in enumerate(conversation_store.sends(db)):
        if row["saved_reply_id"] is not None:
            key = (row["conversation_id"], row["message_id"] or f"unsynced send {number}")
            sent[key] = dict(row, message_id=key[1], created_at=row["sent_at"])
    sent = [row for row in sent.values() if lo <= parse_instant(row["created_at"]) < hi
            and (allowed is None or row["conversation_id"] in allowed)]
    reviewed = {(e["conversation_id"], e["message_id"]): e for e in reviewed_replies(db, lo, hi)}
    surveyed = {row["id"]: row for row in conversation_store.survey_answers(db)}
    found: dict[str, dict] = {}
    for row in sent:
        entry = found.setdefault(row["saved_reply_id"], {"sent": 0, "replies": [],
                                                         "conversations": set()})
        entry["sent"] += 1
        review = reviewed.get((row["conversation_id"], row["message_id"]))
        if review is not None:
            entry["replies"].append(review)
        entry["conversations"].add(row["conversation_id"])
    out = {}
    for reply_id, entry in found.items():
        replies = entry["replies"]
        answers = [surveyed[c] for c in sorted(entry["conversations"]) if c in surveyed]
        csat = [a["csat"] for a in answers if a["csat"] is not None]
        ces = [a["ces"] for a in answers if a["ces"] is not None]
        out[reply_id] = {
            "sent": entry["sent"],
            "reviewed": len(replies),
            "reviews": sum(len(e["reviews"]) for e in replies),
            "mean_score": _round(statistics.fmean(e["score"] for e in replies))
            if replies else None,
            "poor": sum(not e["good"] for e in replies),
            "rated": len(csat),
            "csat_mean": _round(statistics.fmean(csat)) if csat else None,
            "low_csat": sum(1 for value in csat if value <= 2),
            "nps": nps([a["nps"] for a in answers if a["nps"] is not None]),
            "ces_rated": len(ces),
            "ces_mean": _round(statistics.fmean(ces)) if ces else None,
            "few": len(replies) < FEW_REVIEWS,
        }
    return out


# --- tables --------------------------------------------------------------------------------


def _flatten(data: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        elif isinstance(value, list):
            if key == "weakest_categories":
                flat[name] = " ".join(value)
        else:
            flat[name] = value
    return flat


def flatten_groups(report: dict) -> tuple[list[str], list[dict]]:
    """(columns, rows): one row per group (overall, agent:X, channel:Y, team:T (surveys),
    period:Z, saved_reply:R (surveys)) with the group's metrics flattened to dotted names;
    lists of rows and trends are left out."""
    groups = [("overall", report["overall"])]
    for kind in ("agent", "channel", "team", "period", "saved_reply"):
        groups += [(f"{kind}:{k}", v) for k, v in report.get(f"by_{kind}", {}).items()]
    rows, columns = [], ["group"]
    for name, metrics in groups:
        flat = _flatten({k: v for k, v in metrics.items() if k != "trend"})
        for key in flat:
            if key not in columns:
                columns.append(key)
        rows.append(dict(flat, group=name))
    return columns, rows
