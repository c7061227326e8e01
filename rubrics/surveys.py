"""Survey results (NPS, CES, CSAT) per agent, channel, team, period and saved reply, beside
quality (review score) and speed (response time, SLA): `surveys_report`. docs/metrics.md
defines every figure; survey answers belong to a conversation (import fields nps, ces, csat)."""

from __future__ import annotations

import statistics
from datetime import datetime

import sqlite_utils

from rubrics.periods import buckets
from rubrics.reports import (
    _filtered,
    _header,
    _of_teams,
    _round,
    _settings,
    quality_metrics,
    reviewed_replies,
    team_conversations,
)
from rubrics.speed import load_facts, quantile
from rubrics.survey_scores import survey_metrics
from storage import conversations as conversation_store


def _speed(replies: list[dict]) -> dict:
    """Median response time and SLA compliance of answering replies (speed report facts)."""
    answering = [r for r in replies if r["durations"] is not None]
    judged = [r for r in answering if r["sla"] is not None]
    within = sum(1 for r in judged if r["sla"]["within"])
    return {"replies": len(answering),
            "response_median_s": _round(quantile([r["durations"]["calendar_s"]
                                                  for r in answering], 0.5), 1),
            "sla_compliance_pct": _round(100 * within / len(judged)) if judged else None}


def _quality(reviewed: list[dict]) -> dict:
    figures = quality_metrics(reviewed)
    return {"reviewed": figures["replies"], "mean_score": figures["mean_score"],
            "pass_rate_pct": figures["pass_rate_pct"]}


def surveys_report(
    db: sqlite_utils.Database, sections: dict, start: datetime, end: datetime,
    agent: str | None = None, channel: str | None = None, interval: str = "month",
    teams=None,
) -> dict:
    """Survey results (NPS, CES, CSAT) beside quality and speed, per agent, channel, team,
    period and saved reply. Surveys: conversations started in [start, end) (by agent: those
    they own; by saved reply: those it was sent in); quality and speed: the replies sent in
    it. `teams` as in speed_report."""
    calendar, targets = _settings(sections)
    facts = load_facts(db, calendar, targets, end)
    allowed = team_conversations(db, teams)
    rows = {row["id"]: row for row in conversation_store.all_conversations(db)}
    facts = [f for f in facts if (allowed is None or f["id"] in allowed)
             and channel in (None, f["channel"])]
    reviewed = _filtered(_of_teams(db, reviewed_replies(db, start, end), teams), agent, channel)
    in_period = [r for f in facts for r in f["replies"] if start <= r["sent_at"] < end]

    def group(chosen: list[dict], who: str | None = None, lo=start, hi=end, keys=None) -> dict:
        """Figures of the conversations `chosen` started in [lo, hi) (owned by `who`) and of
        their replies sent in [lo, hi) (by `who`), or of the replies `keys` when given."""
        ids = {f["id"] for f in chosen}
        replies = [r for f in chosen for r in f["replies"] if lo <= r["sent_at"] < hi
                   and who in (None, r["author"])
                   and (keys is None or (r["conversation_id"], r["message_id"]) in keys)]
        if keys is None:
            started = [rows[f["id"]] for f in chosen
                       if lo <= f["started_at"] < hi and who in (None, f["owner"])]
            quality = [e for e in reviewed if e["conversation_id"] in ids
                       and lo <= e["sent_at"] < hi and who in (None, e["author"])]
        else:
            started = [rows[f["id"]] for f in chosen]
            quality = [e for e in reviewed if (e["conversation_id"], e["message_id"]) in keys]
        return dict(survey_metrics(started), quality=_quality(quality), speed=_speed(replies))

    agents = sorted({r["author"] for r in in_period if r["author"]})
    return dict(
        _header("surveys", start, end, agent, channel, interval, calendar, teams),
        overall=group(facts, agent),
        by_agent={a: group(facts, a) for a in agents if agent in (None, a)},
        by_channel={c: group([f for f in facts if f["channel"] == c], agent)
                    for c in sorted({f["channel"] for f in facts})},
        by_team={t: group([f for f in facts if rows[f["id"]]["team"] == t], agent)
                 for t in sorted({rows[f["id"]]["team"] for f in facts})},
        by_period={key: group(facts, agent, lo, hi)
                   for key, lo, hi in buckets(start, end, interval, calendar)},
        by_saved_reply=_by_saved_reply(db, facts, start, end, agent, group),
    )


def _by_saved_reply(db, facts: list[dict], start, end, agent, group) -> dict:
    """Per saved reply: the conversations it was sent in during [start, end) (by `agent`)
    and the replies that carried it (`sends`: every recorded send, `mean_edit_ratio` of
    those with one)."""
    by_id = {f["id"]: f for f in facts}
    found: dict[str, dict] = {}
    for send in conversation_store.sends(db):
        if (send["saved_reply_id"] is None or send["conversation_id"] not in by_id
                or agent not in (None, send["agent"])
                or not start <= datetime.fromisoformat(send["sent_at"]) < end):
            continue
        entry = found.setdefault(send["saved_reply_id"], {"ids": set(), "keys": set(),
                                                          "ratios": [], "sends": 0})
        entry["sends"] += 1
        entry["ids"].add(send["conversation_id"])
        if send["message_id"] is not None:
            entry["keys"].add((send["conversation_id"], send["message_id"]))
        if send["edit_ratio"] is not None:
            entry["ratios"].append(send["edit_ratio"])
    return {
        reply_id: dict(group([by_id[i] for i in sorted(e["ids"])], keys=e["keys"]),
                       sends=e["sends"],
                       mean_edit_ratio=_round(statistics.fmean(e["ratios"]), 3)
                       if e["ratios"] else None)
        for reply_id, e in sorted(found.items())
    }
