"""Library curation: stale saved replies, near-duplicate pairs and clusters to merge (with a
merge that keeps history and redirects usage), and gaps: clusters of customer questions whose
best saved reply is a weak match, as candidates for new saved replies.

Similarity is calibrated as suggestion scores are (index.vectors `calibrate`: 0 = what two
unrelated texts score with that model on this data, 1 = identical), so one threshold means
the same in every script: the raw cosine of e5, the multilingual model, is about 0.8 for
unrelated texts, that of MiniLM about 0.1. Latin-script texts use the primary embedder;
other scripts use the multilingual one, and are skipped when none is configured (the primary
model cannot tell Thai or Persian texts apart). docs/web.md defines stale, near-duplicate and
gap for leads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import sqlite_utils

import storage.library
import storage.search
from index.cache import cache_model, cached_vectors
from index.vectors import baseline_similarity
from replykit.errors import InputError
from storage import conversations as conversation_store
from storage.db import write_transaction
from suggest import feedback, library
from suggest.engine import is_question

MAX_DAYS = 36500  # stale's day counts: a century, far below timedelta's limit


def last_used(db: sqlite_utils.Database) -> dict[str, str]:
    """Latest use of each saved reply used at least once (`feedback.usage`'s last_used: an
    'inserted' feedback or a sent message using it)."""
    return {row["reply_id"]: row["last_used"] for row in feedback.usage(db) if row["last_used"]}


def usage_as_of(db: sqlite_utils.Database, now: datetime | None = None) -> datetime:
    """The moment usage is measured up to: the newest imported message (conversations arrive
    by export, often weeks late, and a reply is not stale for the weeks no export covers yet),
    or `now` when there is none."""
    now = now or datetime.now(UTC)
    latest = conversation_store.latest_message_at(db)
    return min(now, datetime.fromisoformat(latest)) if latest else now


def stale(db: sqlite_utils.Database, days: int = 30, min_age: int = 30,
          min_acceptance: float = 0.2, min_shown: int = 10,
          now: datetime | None = None) -> list[dict]:
    """Approved replies a lead should look at, least recently used first, each with its
    reasons: used before but not in the `days` days up to `usage_as_of` (the newest imported
    message); never used although added at least `min_age` days before `now`; or accepted
    less often than `min_acceptance` once shown at least `min_shown` times."""
    for value, name in ((days, "days"), (min_age, "age")):
        if not 0 <= value <= MAX_DAYS:
            raise InputError(f"must be a whole number of days from 0 to {MAX_DAYS}", name)
    now = now or datetime.now(UTC)
    as_of = usage_as_of(db, now)
    cutoff = (as_of - timedelta(days=days)).isoformat()
    added_by = (now - timedelta(days=min_age)).isoformat()
    usage = {row["reply_id"]: row for row in feedback.usage(db)}
    found = []
    for reply in library.list_replies(db, status="approved"):
        stats = usage.get(reply["id"], {})
        last = stats.get("last_used")
        reasons = []
        if last is None and reply["created_at"] < added_by:
            added = (now - datetime.fromisoformat(reply["created_at"])).days
            reasons.append(f"never used; added {added} days ago")
        elif last is not None and last < cutoff:
            idle = (as_of - datetime.fromisoformat(last)).days
            reasons.append(f"last used {last[:10]}, {idle} days before the newest "
                           f"conversation ({as_of.date().isoformat()})")
        rate = stats.get("acceptance_rate")
        if rate is not None and stats["shown"] >= min_shown and rate < min_acceptance:
            reasons.append(f"agents took it {stats['inserted']} of {stats['shown']} times "
                           f"it was suggested ({rate:.0%})")
        if reasons:
            found.append({"id": reply["id"], "title": reply["title"],
                          "language": reply["language"], "last_used": last,
                          "acceptance_rate": rate, "shown": stats.get("shown", 0),
                          "reasons": reasons})
    return sorted(found, key=lambda r: r["last_used"] or "")


def _embedders(engine) -> tuple:
    found = engine.embedders()
    return found[0], (found[1] if len(found) > 1 else None)


def _vectors(engine, docs: list[dict]) -> dict[int, tuple[np.ndarray, str]]:
    """(unit vector, model) of documents by id, from the embedder their script calls for, in
    the role the index encoded them (customer questions as queries: it matters to e5)."""
    primary, multilingual = _embedders(engine)
    out: dict[int, tuple[np.ndarray, str]] = {}
    for embedder, wanted in ((primary, [d for d in docs if d["script"] == "latin"]),
                             (multilingual, [d for d in docs if d["script"] != "latin"])):
        if embedder is None or not wanted:
            continue
        for as_query in (False, True):
            picked = [d for d in wanted if is_question(d["kind"]) == as_query]
            cached = cached_vectors(engine.db, cache_model(embedder, as_query),
                                    [d["text_hash"] for d in picked])
            for doc in picked:
                vector = cached.get(doc["text_hash"])
                if vector is not None:
                    out[doc["id"]] = (vector / (np.linalg.norm(vector) or 1.0), embedder.name)
    return out


def _baselines(engine, vectors: dict[int, tuple[np.ndarray, str]]) -> dict[str, float]:
    """What unrelated texts score, per model: the baseline its vector index recorded (the
    one suggestion scores are calibrated with), else that of the vectors at hand."""
    out = {}
    for embedder in engine.embedders():
        index = engine.vector_index(embedder)
        mine = [v for v, model in vectors.values() if model == embedder.name]
        out[embedder.name] = (index.baseline if index is not None and len(index)
                              else baseline_similarity(np.array(mine)) if mine else 0.0)
    return out


def _calibrated(cosine: float | np.ndarray, baseline: float):
    """`index.vectors.VectorIndex.calibrate` with a given baseline."""
    return (cosine - baseline) / (1.0 - baseline)


def _reply_docs(db: sqlite_utils.Database) -> list[dict]:
    """The fullest 'reply' document (title + body) of each non-archived saved reply."""
    best: dict[str, dict] = {}
    for row in storage.search.reply_documents_with_reply(db):
        if len(row["text"]) > len(best.get(row["saved_reply_id"], {}).get("text", "")):
            best[row["saved_reply_id"]] = dict(row, kind="reply")
    return list(best.values())


def duplicates(engine, threshold: float = 0.8) -> dict:
    """Pairs of saved replies in the same language whose texts are at least `threshold`
    similar (calibrated: 0 unrelated, 1 identical), most similar first, and the clusters the
    pairs form. Each pair: a, a_title, b, b_title, language, similarity."""
    if not 0 < threshold <= 1:
        raise InputError("must be a number above 0 and at most 1", "threshold")
    docs = _reply_docs(engine.db)
    vectors = _vectors(engine, docs)
    baselines = _baselines(engine, vectors)
    docs = [d for d in docs if d["id"] in vectors]
    pairs = []
    for i, a in enumerate(docs):
        va, model_a = vectors[a["id"]]
        for b in docs[i + 1:]:
            vb, model_b = vectors[b["id"]]
            if a["language"] != b["language"] or model_a != model_b:
                continue
            similarity = float(_calibrated(float(va @ vb), baselines[model_a]))
            if similarity >= threshold:
                pairs.append({"a": a["saved_reply_id"], "a_title": a["title"],
                              "b": b["saved_reply_id"], "b_title": b["title"],
                              "language": a["language"], "similarity": round(similarity, 4)})
    pairs.sort(key=lambda p: -p["similarity"])
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for pair in pairs:
        parent[root(pair["a"])] = root(pair["b"])
    clusters: dict[str, list[str]] = {}
    for reply_id in {p["a"] for p in pairs} | {p["b"] for p in pairs}:
        clusters.setdefault(root(reply_id), []).append(reply_id)
    return {"threshold": threshold, "pairs": pairs,
            "clusters": sorted((sorted(c) for c in clusters.values()), key=lambda c: -len(c))}


def gaps(engine, weak: float = 0.45, same: float = 0.75, min_size: int = 3,
         limit: int = 5000, teams=None) -> list[dict]:
    """Clusters of recent customer questions (past replies) whose closest approved saved-reply
    text or example question is less than `weak` similar (calibrated); a question joins a
    cluster when it is `same` similar to the cluster's first question. Largest first; each
    with size, examples (distinct questions, up to 5), best_match, and follow_up: True when
    most of its questions came after an agent's reply in their thread ("thanks", "any
    update?", "I tried that"): chatter of a thread rather than a question a saved reply could
    answer. `teams`: only questions of conversations with no team or one of these."""
    db = engine.db
    questions = [dict(q, kind="past") for q in storage.search.recent_past_documents(
        db, None if teams is None else list(teams), limit)]
    library_docs = storage.search.approved_library_documents(db)
    vectors = _vectors(engine, questions + library_docs)
    baselines = _baselines(engine, vectors)
    by_model: dict[str, np.ndarray] = {}
    for model in {m for _, m in vectors.values()}:
        rows = [v for d in library_docs if d["id"] in vectors
                for v, m in [vectors[d["id"]]] if m == model]
        by_model[model] = np.array(rows) if rows else np.zeros((0, 1))
    open_questions = []
    for q in questions:
        if q["id"] not in vectors:
            continue
        vector, model = vectors[q["id"]]
        matrix = by_model[model]
        cosine = float((matrix @ vector).max()) if len(matrix) else baselines[model]
        best = float(_calibrated(cosine, baselines[model]))
        if best < weak:
            open_questions.append((q, vector, model, best))
    clusters: list[dict] = []
    for q, vector, model, best in open_questions:
        for cluster in clusters:
            if (cluster["model"] == model and _calibrated(
                    float(cluster["centre"] @ vector), baselines[model]) >= same):
                cluster["questions"].append(q)
                cluster["best"].append(best)
                break
        else:
            clusters.append({"model": model, "centre": vector, "questions": [q],
                             "best": [best]})
    found = [
        {"size": len(c["questions"]),
         "examples": list(dict.fromkeys(q["text"] for q in c["questions"]))[:5],
         "best_match": round(max(c["best"]), 4),
         "follow_up": 2 * sum(q["follow_up"] for q in c["questions"]) > len(c["questions"])}
        for c in clusters if len(c["questions"]) >= min_size
    ]
    return sorted(found, key=lambda c: -c["size"])


def merge(db: sqlite_utils.Database, keep: str, merged: str, author: str = "") -> dict:
    """Merge saved reply `merged` into `keep`: its example questions move to `keep`, its
    usage (sent messages, past replies, feedback) is redirected, and it is archived with a
    note. Both keep their full history. Returns the updated `keep`."""
    if keep == merged:
        raise InputError("cannot merge a saved reply into itself")
    with write_transaction(db):
        target, source = library.get_reply(db, keep), library.get_reply(db, merged)
        questions = target["questions"] + [q for q in source["questions"]
                                           if q not in target["questions"]]
        library.edit_reply(db, keep, {"questions": questions}, author, f"merged {merged}")
        library.edit_reply(db, merged, {"status": "archived"}, author, f"merged into {keep}")
        storage.library.redirect_reply(db, merged, keep)
    return library.get_reply(db, keep)
