"""Ranked suggestions for a customer's question.

1. The question is normalised like the documents; its script (Latin, Thai, Arabic...) picks
   the weights of the three signals (`suggest.ranking.WEIGHTS`).
2. Candidates: the top documents by cosine similarity from each embedder in use (FAISS) and
   by trigram bm25 (FTS5).
3. Every candidate gets exact scores in 0-1: cosine similarity per embedder (from its cached
   vector) and `trigram_similarity`; its hybrid score is their weighted sum.
4. Documents group into suggestions: a saved reply (its title/body, example questions and the
   past replies sent from it) or a past reply. For ranking, each document's score loses half
   its ambiguity: how close it is to the candidates of other suggestions
   (`ranking.ambiguity`). Suggestions are ranked by their best document plus decaying support
   from the next two (`ranking.support_score`) (plus usage prior, feedback and, after
   `replykit learn`, the learnt reply heads' probability); a suggestion's `score` is its best
   document's plain score (capped so scores never rise down the list). Near-identical answers
   collapse into the higher-ranked one.
5. Below the confidence threshold (on the first suggestion's score) the answer is "no
   confident suggestion".
"""

from __future__ import annotations

import json
import re

import numpy as np

import storage.conversations
import storage.library
import storage.search
from index.batching import embed_query
from index.cache import cache_model, cached_vectors
from index.normalize import clean_text, dominant_script, normalize_text
from replykit.errors import InputError
from suggest import ranking
from suggest.engine import SuggestEngine, is_question
from suggest.library import visible_to

MODES = ("dense", "lexical", "hybrid")
NEAR_DUPLICATE = 0.6
MAX_QUERY_CHARS = 5000
CANDIDATES = 60


def _dense_candidates(engine, embedder, query: str, limit: int):
    """(index, query vector, {doc id: cosine}) for the embedder's nearest documents."""
    index = engine.vector_index(embedder)
    vector = embed_query(embedder, query, engine.config.query_batch)
    hits = index.search(vector, limit)[0] if index is not None else []
    return index, vector, dict(hits)


def _exact_dense(engine, embedder, index, vector, docs: dict[int, dict], hits: dict[int, float]):
    """Calibrated cosine similarity (0 = unrelated for this model) of every candidate,
    computed from its cached vector (as a query or a passage, as the index holds it), and
    those vectors."""
    vectors = {}
    for as_query in (False, True):
        hashes = {d["text_hash"] for d in docs.values() if is_question(d["kind"]) == as_query}
        if hashes:
            vectors[as_query] = cached_vectors(
                engine.db, cache_model(embedder, as_query), sorted(hashes)
            )
    scores, stored_vectors = {}, {}
    for doc_id, doc in docs.items():
        stored = vectors[is_question(doc["kind"])].get(doc["text_hash"])
        if stored is not None:
            stored_vectors[doc_id] = stored
        cosine = float(stored @ vector) if stored is not None else hits.get(doc_id, 0.0)
        scores[doc_id] = index.calibrate(cosine) if index is not None else 0.0
    return scores, stored_vectors


def _ambiguity(index, vectors: dict[int, np.ndarray], group_of: dict[int, tuple]):
    """Calibrated `ranking.ambiguity` of the candidates that have a vector."""
    if index is None or len(vectors) < 2:
        return {}
    ids = sorted(vectors)
    values = ranking.ambiguity(np.stack([vectors[i] for i in ids]), [group_of[i] for i in ids])
    return {doc_id: index.calibrate(value) for doc_id, value in zip(ids, values, strict=True)}


def _load_documents(db, ids: list[int]) -> dict[int, dict]:
    columns = ("id", "kind", "ref", "saved_reply_id", "text", "lexical_text", "text_hash")
    return {row["id"]: row for row in storage.search.document_rows(db, columns, ids)}


def _visible_replies(db, ids: set[str], tags, language, teams, include_drafts) -> dict[str, dict]:
    if not ids:
        return {}
    statuses = ("approved", "draft") if include_drafts else ("approved",)
    found = {}
    for row in storage.library.reply_rows(db, sorted(ids)):
        row["tags"], row["teams"] = json.loads(row["tags"]), json.loads(row["teams"])
        if row["status"] not in statuses:
            continue
        if tags and not set(tags) & set(row["tags"]):
            continue
        if language and row["language"] != language:
            continue
        if not visible_to(row["teams"], teams):
            continue
        found[row["id"]] = row
    return found


def _past_replies(db, ids: set[str], teams) -> dict[str, dict]:
    """Past replies by id, of conversations with no team or one of `teams` (None: all)."""
    if not ids:
        return {}
    return {
        row["id"]: row
        for row in storage.conversations.past_replies_with_team(db, sorted(ids))
        if teams is None or not row["team"] or row["team"] in teams
    }


_DIGITS = re.compile(r"\d+")


def _answer_key(answer: str) -> str:
    return _DIGITS.sub("#", normalize_text(answer))[:400]


def _unit_key(doc_id: int, doc: dict, replies: dict, pasts: dict) -> tuple[str, str]:
    """The suggestion a document belongs to: a visible saved reply, a past answer (past
    replies with the same answer are one suggestion), or ("hidden", id) when not shown."""
    if doc["saved_reply_id"] in replies:
        return ("saved", doc["saved_reply_id"])
    if doc["kind"] == "past" and doc["ref"] in pasts:
        return ("past", _answer_key(pasts[doc["ref"]]["answer"]))
    return ("hidden", str(doc_id))


def suggest(
    engine: SuggestEngine,
    query: str,
    k: int | None = None,
    mode: str | None = None,
    tags: list[str] | None = None,
    language: str | None = None,
    teams: list[str] | None = None,
    include_drafts: bool = False,
) -> dict:
    """{'suggestions': [...], 'confident': bool}; each suggestion has id, kind ('saved' or
    'past'), title, body, score (0-1), reason {type, text}, tags, language, saved_reply_id.
    `teams`: only saved replies visible to these teams and past replies of their
    conversations (and of those with no team); None: every team."""
    config = engine.config
    k = config.k if k is None else k
    mode = mode or config.mode
    if mode not in MODES:
        raise InputError(f"must be one of {', '.join(MODES)}", "field mode")
    if not isinstance(query, str) or not query.strip():
        raise InputError("must be non-empty text", "field query")
    if len(query) > MAX_QUERY_CHARS:
        raise InputError(f"is longer than {MAX_QUERY_CHARS} characters", "field query")
    if not isinstance(k, int) or not 1 <= k <= 50:
        raise InputError("must be an integer from 1 to 50", "field k")
    query = clean_text(query)
    normalized = normalize_text(query)
    script = dominant_script(query)
    limit = max(CANDIDATES, 4 * k)
    embedders = engine.embedders()
    weight = ranking.weights(script, len(embedders) > 1, mode)

    searched = [
        (embedder, w, *_dense_candidates(engine, embedder, query, limit))
        for embedder, w in zip(embedders, weight[:2], strict=False)
        if w > 0
    ]
    lexical_hits = (
        engine.lexical.search(normalized, limit)
        if ranking.lexical_candidates(script, len(embedders) > 1, mode)
        else []
    )
    candidate_ids = {i for *_, hits in searched for i in hits} | {i for i, _ in lexical_hits}
    docs = _load_documents(engine.db, sorted(candidate_ids))
    replies = _visible_replies(
        engine.db,
        {d["saved_reply_id"] for d in docs.values() if d["saved_reply_id"]},
        tags,
        language,
        teams,
        include_drafts,
    )
    pasts = (
        _past_replies(engine.db, {d["ref"] for d in docs.values() if d["kind"] == "past"}, teams)
        if not tags and not language
        else {}
    )
    group_of = {doc_id: _unit_key(doc_id, doc, replies, pasts) for doc_id, doc in docs.items()}
    signals = engine.ranking_signals()

    # fused: the shown similarity; ranking subtracts the document's ambiguity penalty, less
    # for the team's common answers (they resemble many questions because they answer them)
    fused = dict.fromkeys(docs, 0.0)
    penalty = dict.fromkeys(docs, 0.0)
    common = {
        doc_id: signals["share"].get(key[1], signals["never_used"][1]) if key[0] == "saved" else 0
        for doc_id, key in group_of.items()
    }
    heard = {}  # saved reply id -> the learnt reply heads' probability (`ranking.LEARNT_WEIGHT`)
    unheard = set()  # candidate saved replies that some head was not trained on
    dense_weight = sum(w for _, w, *_ in searched)
    for embedder, w, index, vector, hits in searched:
        head = getattr(embedder, "head", None)
        if head is not None:
            found = head.of(vector, replies)
            unheard |= replies.keys() - found.keys()
            for reply_id, probability in found.items():
                heard[reply_id] = heard.get(reply_id, 0.0) + w / dense_weight * probability
        scores, vectors = _exact_dense(engine, embedder, index, vector, docs, hits)
        for doc_id, score in scores.items():
            fused[doc_id] += w * score
        for doc_id, value in _ambiguity(index, vectors, group_of).items():
            relief = 1 - ranking.COMMON_ANSWER_RELIEF * common[doc_id]
            penalty[doc_id] += w * ranking.AMBIGUITY_WEIGHT * value * relief
    if weight[2] > 0:
        for doc_id, score in ranking.lexical_scores(engine.lexical, normalized, docs).items():
            fused[doc_id] += weight[2] * score

    units: dict[tuple[str, str], dict] = {}
    for doc_id, doc in docs.items():
        key = group_of[doc_id]
        if key[0] == "hidden":
            continue
        unit = units.setdefault(key, {"scores": [], "doc": doc, "score": float("-inf")})
        unit["scores"].append(fused[doc_id] - penalty[doc_id])
        if fused[doc_id] > unit["score"]:
            unit["score"], unit["doc"] = fused[doc_id], doc

    def rank_score(key: tuple[str, str], unit: dict) -> float:
        score = ranking.support_score(unit["scores"])
        if key[0] == "saved":
            score += signals["prior"].get(key[1], signals["never_used"][0])
            score += signals["feedback"].get(key[1], 0.0)
            score += ranking.LEARNT_WEIGHT * learnt.get(key[1], 0.0)
        elif ranking.thread_bound(pasts[unit["doc"]["ref"]]["answer"]):
            score -= ranking.THREAD_BOUND_PENALTY
        return score

    def ranked_units() -> list:
        return sorted(units.items(), key=lambda item: (-rank_score(*item), item[0]))

    learnt = {}  # the heads are heard only if they know each of the best suggestions
    ranked = ranked_units()
    contenders = ranked[: ranking.LEARNT_CONTENDERS]
    if heard and not any(kind == "saved" and ref in unheard for (kind, ref), _ in contenders):
        learnt = heard
        ranked = ranked_units()
    suggestions = []
    for (kind, _), unit in ranked:
        suggestion = _suggestion(kind, unit, replies, pasts)
        if any(_same_answer(suggestion, shown) for shown in suggestions):
            continue
        if suggestions:
            # ranked by support, shown with the best match's score: keep scores in rank order
            suggestion["score"] = min(suggestion["score"], suggestions[-1]["score"])
        suggestions.append(suggestion)
        if len(suggestions) == k:
            break
    # MiniLM alone cannot read Thai or Arabic script: its similarities there mean nothing
    trusted = not (mode == "dense" and script != "latin" and len(embedders) == 1)
    confident = (
        trusted and bool(suggestions) and suggestions[0]["score"] >= config.confidence_threshold
    )
    return {"suggestions": suggestions, "confident": confident}


def _same_answer(a: dict, b: dict) -> bool:
    """Near-identical answers (e.g. a past reply that is a saved reply with names filled in)."""
    return ranking.text_overlap(a["body"], b["body"]) >= NEAR_DUPLICATE


_REASON = {"reply": "saved_reply", "question": "example_question", "past": "past_question"}


def _suggestion(kind: str, unit: dict, replies: dict, pasts: dict) -> dict:
    doc = unit["doc"]
    reason = {"type": _REASON[doc["kind"]], "text": doc["text"]}
    if kind == "saved":
        reply = replies[doc["saved_reply_id"]]
        return {
            "id": reply["id"],
            "kind": "saved",
            "title": reply["title"],
            "body": reply["body"],
            "score": _shown(unit["score"]),
            "reason": reason,
            "tags": reply["tags"],
            "language": reply["language"],
            "folder": reply["folder"],
            "saved_reply_id": reply["id"],
        }
    past = pasts[doc["ref"]]
    return {
        "id": past["id"],
        "kind": "past",
        "title": past["title"],
        "body": past["answer"],
        "score": _shown(unit["score"]),
        "reason": reason,
        "tags": [],
        "language": None,
        "conversation_id": past["conversation_id"],
        "saved_reply_id": past["saved_reply_id"],
    }


def _shown(score: float) -> float:
    """The score as shown: 0 (no better than unrelated text) to 1 (identical)."""
    return round(min(max(score, 0.0), 1.0), 4)
