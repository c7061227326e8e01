"""Speed metrics from imported conversation timestamps (docs/metrics.md defines each one).

`conversation_facts` turns one conversation's messages into per-reply response times and SLA
verdicts plus per-conversation first response, resolution and reply count, in calendar and
business time. `speed_metrics` aggregates facts for a period and optional agent/channel.
`load_facts` is the database edge."""

from __future__ import annotations

import statistics
from datetime import datetime
from fractions import Fraction
from math import floor

import sqlite_utils

from rubrics.calendar import Calendar, business_time, calendar_time, parse_instant
from rubrics.sla import Target, target_for, verdict
from storage import conversations as conversation_store


def quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (Hyndman-Fan type 7, numpy's default):
    h = (n - 1) q, result = x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h])."""
    if not values:
        return None
    ordered = [Fraction(v) for v in sorted(values)]
    h = (len(ordered) - 1) * Fraction(q).limit_denominator(1000)  # exact: 0.9 is 9/10
    lo = floor(h)
    if lo + 1 >= len(ordered):
        return float(ordered[-1])
    return float(ordered[lo] + (h - lo) * (ordered[lo + 1] - ordered[lo]))


def summary(values: list[float]) -> dict:
    """{"count", "median", "p90", "mean"} of seconds (None when empty), rounded to 0.1 s."""

    def rnd(v):
        return None if v is None else round(v, 1)

    return {
        "count": len(values),
        "median": rnd(quantile(values, 0.5)),
        "p90": rnd(quantile(values, 0.9)),
        "mean": rnd(statistics.fmean(values)) if values else None,
    }


def _durations(calendar: Calendar, start: datetime, end: datetime) -> dict:
    return {
        "calendar_s": calendar_time(start, end).total_seconds(),
        "business_s": business_time(calendar, start, end).total_seconds(),
    }


def _sla(target: Target | None, first: bool, durations: dict) -> dict | None:
    if target is None:
        return None
    goal = target.first_response_s if first else target.response_s
    elapsed = durations["business_s" if target.clock == "business" else "calendar_s"]
    return dict(verdict(goal, elapsed), clock=target.clock,
                kind="first_response" if first else "response")


def conversation_facts(
    conversation: dict, messages: list[dict], calendar: Calendar, targets: tuple[Target, ...]
) -> dict:
    """Per-reply and per-conversation facts of one conversation. `messages` need role,
    author, created_at, message_id, seq; they are taken in (created_at, seq) order.
    An agent message answers the customer messages since the previous agent message and its
    response time runs from the first of them; an agent message with no customer message
    waiting answers nothing and has no response time."""
    ordered = sorted(messages, key=lambda m: (parse_instant(m["created_at"]), m["seq"]))
    target = target_for(targets, conversation.get("channel") or "",
                        conversation.get("priority") or "")
    replies = []
    waiting_since = None
    first_response = None
    for message in ordered:
        at = parse_instant(message["created_at"])
        if message["role"] == "customer":
            waiting_since = waiting_since or at
            continue
        reply = {
            "conversation_id": conversation["id"],
            "message_id": message["message_id"],
            "author": message["author"],
            "sent_at": at,
            "asked_at": waiting_since,
            "first": False,
            "durations": None,
            "sla": None,
        }
        if waiting_since is not None:
            reply["durations"] = _durations(calendar, waiting_since, at)
            reply["first"] = first_response is None
            reply["sla"] = _sla(target, reply["first"], reply["durations"])
            if first_response is None:
                first_response = dict(reply["durations"], agent=message["author"], at=at)
        waiting_since = None
        replies.append(reply)
    started = parse_instant(ordered[0]["created_at"]) if ordered else (
        parse_instant(conversation["first_message_at"])
        if conversation.get("first_message_at") else None
    )
    resolved = (
        parse_instant(conversation["resolved_at"]) if conversation.get("resolved_at") else None
    )
    owner = None
    for reply in replies:
        if resolved is None or reply["sent_at"] <= resolved:
            owner = reply["author"]
    return {
        "id": conversation["id"],
        "channel": conversation.get("channel") or "",
        "priority": conversation.get("priority") or "",
        "csat": conversation.get("csat"),
        "started_at": started,
        "resolved_at": resolved,
        "resolution": _durations(calendar, started, resolved) if started and resolved else None,
        "first_response": first_response,
        "agent_replies": len(replies),
        "owner": owner,
        "target": target,
        "replies": replies,
        "waiting_since": waiting_since,
        "ordered": ordered,
    }


def backlog_entry(facts: dict, calendar: Calendar, as_of: datetime) -> dict | None:
    """The conversation's entry in the backlog at `as_of`: open then (not resolved by as_of),
    with a customer message unanswered at as_of for longer than its SLA target
    (first-response target if no agent had answered yet, else the response target)."""
    if facts["target"] is None or facts["started_at"] is None or facts["started_at"] > as_of:
        return None
    if facts["resolved_at"] is not None and facts["resolved_at"] <= as_of:
        return None
    waiting_since = None
    answered = False
    for message in facts["ordered"]:
        at = parse_instant(message["created_at"])
        if at > as_of:
            break
        if message["role"] == "customer":
            waiting_since = waiting_since or at
        else:
            answered = answered or waiting_since is not None
            waiting_since = None
    if waiting_since is None:
        return None
    sla = _sla(facts["target"], not answered, _durations(calendar, waiting_since, as_of))
    if sla["within"]:
        return None
    return {"conversation_id": facts["id"], "waiting_since": waiting_since.isoformat(),
            "overdue_by_s": sla["by_s"], "clock": sla["clock"], "kind": sla["kind"]}


def load_facts(
    db: sqlite_utils.Database, calendar: Calendar, targets: tuple[Target, ...],
    before: datetime,
) -> list[dict]:
    """Facts of every conversation whose first message is before `before`."""
    conversations = {row["id"]: row for row in conversation_store.all_conversations(db)}
    grouped: dict[str, list[dict]] = {cid: [] for cid in conversations}
    for row in conversation_store.message_times(db):
        grouped[row["conversation_id"]].append(row)
    facts = []
    for cid, conversation in sorted(conversations.items()):
        item = conversation_facts(conversation, grouped[cid], calendar, targets)
        if item["started_at"] is not None and item["started_at"] < before:
            facts.append(item)
    return facts


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def _both(items: list[dict]) -> dict:
    return {
        "calendar": summary([d["calendar_s"] for d in items]),
        "business": summary([d["business_s"] for d in items]),
    }


def speed_metrics(
    facts: list[dict], start: datetime, end: datetime, calendar: Calendar,
    agent: str | None = None, channel: str | None = None, as_of: datetime | None = None,
) -> dict:
    """Speed metrics over [start, end). Reply metrics take replies sent in the period;
    conversation metrics take conversations whose first message is in the period. `agent`
    keeps replies by that agent and conversations it owns (owner = last agent to reply by the
    resolution; first response: the first responder). Backlog is counted at `as_of`."""
    if channel is not None:
        facts = [f for f in facts if f["channel"] == channel]
    replies = [
        r for f in facts for r in f["replies"]
        if start <= r["sent_at"] < end and (agent is None or r["author"] == agent)
    ]
    answering = [r for r in replies if r["durations"] is not None]
    with_sla = [r for r in answering if r["sla"] is not None]
    within = sum(1 for r in with_sla if r["sla"]["within"])
    started = [f for f in facts if start <= f["started_at"] < end]
    owned = [f for f in started if agent is None or f["owner"] == agent]
    firsts = [
        f["first_response"] for f in started
        if f["first_response"] and (agent is None or f["first_response"]["agent"] == agent)
    ]
    resolved = [f for f in owned if f["resolution"] is not None]
    eligible = [f for f in resolved if f["agent_replies"] >= 1]
    one_touch = [f for f in eligible if f["agent_replies"] == 1]
    csat = [f["csat"] for f in owned if f["csat"] is not None]
    backlog = []
    if as_of is not None:
        backlog = [
            entry for f in facts
            if (agent is None or f["owner"] == agent)
            and (entry := backlog_entry(f, calendar, as_of)) is not None
        ]
    return {
        "replies": len(replies),
        "conversations": len(owned),
        "first_response": _both(firsts),
        "response": _both([r["durations"] for r in answering]),
        "resolution": _both([f["resolution"] for f in resolved]),
        "sla": {
            "replies": len(with_sla),
            "within": within,
            "breached": len(with_sla) - within,
            "compliance_pct": _pct(within, len(with_sla)),
        },
        "fcr": {"eligible": len(eligible), "one_reply": len(one_touch),
                "rate_pct": _pct(len(one_touch), len(eligible))},
        "resolution_rate": {"conversations": len(owned), "resolved": len(resolved),
                            "rate_pct": _pct(len(resolved), len(owned))},
        "agent_replies_per_conversation": (
            round(statistics.fmean(f["agent_replies"] for f in owned), 2) if owned else None
        ),
        "backlog": {"count": len(backlog), "conversations": backlog},
        "csat": {"count": len(csat),
                 "average": round(statistics.fmean(csat), 2) if csat else None},
    }


def reply_rows(facts: list[dict], start: datetime, end: datetime,
               agent: str | None = None, channel: str | None = None) -> list[dict]:
    """Each answering agent reply sent in [start, end): times and SLA verdict, JSON-ready."""
    rows = []
    for f in facts:
        if channel is not None and f["channel"] != channel:
            continue
        for r in f["replies"]:
            if r["durations"] is None or not start <= r["sent_at"] < end:
                continue
            if agent is not None and r["author"] != agent:
                continue
            rows.append({
                "conversation_id": r["conversation_id"], "message_id": r["message_id"],
                "author": r["author"], "channel": f["channel"], "priority": f["priority"],
                "asked_at": r["asked_at"].isoformat(), "sent_at": r["sent_at"].isoformat(),
                "first_response": r["first"], **r["durations"], "sla": r["sla"],
            })
    return rows
