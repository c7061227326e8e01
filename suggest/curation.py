"""Library curation: stale saved replies, near-duplicate pairs and clusters to merge (with a
merge that keeps history and redirects usage), and gaps: clusters of customer questions whose
best saved reply is a weak match, as candidates for new saved replies.

Similarity is the cosine of cached passage vectors (the engine's embedders). Latin-script
texts use the primary embedder; other scripts use the multilingual one, and are skipped when
none is configured (the primary model cannot tell Thai or Persian texts apart)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import sqlite_utils

import storage.library
import storage.search
from index.cache import cached_vectors
from replykit.errors import InputError
from storage.db import write_transaction
from suggest import feedback, library


def last_used(db: sqlite_utils.Database) -> dict[str, str]:
    """Latest use of each saved reply used at least once (`feedback.usage`'s last_used: an
    'inserted' feedback or a sent message using it)."""
    return {row["reply_id"]: row["last_used"] for row in feedback.usage(db) if row["last_used"]}


def stale(db: sqlite_utils.Database, days: int = 30, min_acceptance: float = 0.2,
          min_shown: int = 10, now: datetime | None = None) -> list[dict]:
    """Approved replies not used in `days` days (or never), or accepted less often than
    `min_acceptance` once shown at least `min_shown` times; least recently used first."""
    cutoff = ((now or datetime.now(UTC)) - timedelta(days=days)).isoformat()
    usage = {row["reply_id"]: row for row in feedback.usage(db)}
    found = []
    for reply in library.list_replies(db, status="approved"):
        stats = usage.get(reply["id"], {})
        last = stats.get("last_used")
        reasons = []
        if last is None and reply["created_at"] < cutoff:
            reasons.append("never used")
        elif last is not None and last < cutoff:
            reasons.append(f"not used in {days} days")
        rate = stats.get("acceptance_rate")
        if rate is not None and stats["shown"] >= min_shown and rate < min_acceptance:
            reasons.append(f"accepted {rate:.0%} of {stats['shown']} times shown")
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
    """(unit vector, model) of documents by id, from the embedder their script calls for."""
    primary, multilingual = _embedders(engine)
    out: dict[int, tuple[np.ndarray, str]] = {}
    for embedder, wanted in ((primary, [d for d in docs if d["script"] == "latin"]),
                             (multilingual, [d for d in docs if d["script"] != "latin"])):
        if embedder is None or not wanted:
            continue
        cached = cached_vectors(engine.db, embedder.name, [d["text_hash"] for d in wanted])
        for doc in wanted:
            vector = cached.get(doc["text_hash"])
            if vector is not None:
                out[doc["id"]] = (vector / (np.linalg.norm(vector) or 1.0), embedder.name)
    return out


def _reply_docs(db: sqlite_utils.Database) -> list[dict]:
    """The fullest 'reply' document (title + body) of each non-archived saved reply."""
    best: dict[str, dict] = {}
    for row in storage.search.reply_documents_with_reply(db):
        if len(row["text"]) > len(best.get(row["saved_reply_id"], {}).get("text", "")):
            best[row["saved_reply_id"]] = dict(row)
    return list(best.values())


def duplicates(engine, threshold: float = 0.9) -> dict:
    """Pairs of saved replies in the same language whose texts are at least `threshold`
    similar, most similar first, and the clusters the pairs form."""
    if not 0 < threshold <= 1:
        raise InputError("must be a number above 0 and at most 1", "threshold")
    docs = _reply_docs(engine.db)
    vectors = _vectors(engine, docs)
    docs = [d for d in docs if d["id"] in vectors]
    pairs = []
    for i, a in enumerate(docs):
        va, model_a = vectors[a["id"]]
        for b in docs[i + 1:]:
            vb, model_b = vectors[b["id"]]
            if a["language"] != b["language"] or model_a != model_b:
                continue
            similarity = float(va @ vb)
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


def gaps(engine, weak: float = 0.55, same: float = 0.8, min_size: int = 3,
         limit: int = 5000, teams=None) -> list[dict]:
    """Clusters of recent customer questions (past replies) whose closest saved-reply text
    is less than `weak` similar; a question joins a cluster when it is `same` similar to
    the cluster's first question. Largest clusters first, each with example questions.
    `teams`: only questions of conversations with no team or one of these (None: all)."""
    db = engine.db
    questions = storage.search.recent_past_documents(
        db, None if teams is None else list(teams), limit)
    library_docs = storage.search.approved_library_documents(db)
    vectors = _vectors(engine, questions + library_docs)
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
        best = float((matrix @ vector).max()) if len(matrix) else 0.0
        if best < weak:
            open_questions.append((q, vector, model, best))
    clusters: list[dict] = []
    for q, vector, model, best in open_questions:
        for cluster in clusters:
            if cluster["model"] == model and float(cluster["centre"] @ vector) >= same:
                cluster["questions"].append(q["text"])
                cluster["best"].append(best)
                break
        else:
            clusters.append({"model": model, "centre": vector, "questions": [q["text"]],
                             "best": [best]})
    found = [
        {"size": len(c["questions"]), "examples": c["questions"][:5],
         "best_match": round(max(c["best"]), 4)}
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
