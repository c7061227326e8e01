"""`replykit learn`: adapt the embedders to the team's own labelled questions.

Pairs (customer question → the saved reply that answered it) come from three places: the
library's example questions, past replies sent from a saved reply (`saved_reply_id`), and
inserted suggestions with their question. A fixed fifth of the distinct questions
(md5(question) % 5 == 0) is held out: never trained on, only used to compare before and after.

What is learnt is a linear map on top of each embedder (index.adapters), not new model
weights: it fits on two CPU cores in minutes for thousands of pairs, works the same for
MiniLM and for the 4-bit multilingual e5 (which cannot be fine-tuned), and a version is one
small matrix per model. Training uses the cached base vectors and a supervised contrastive
loss: each training question should be closer to the other documents of its saved reply
(its text, its other questions) than to any other reply's, with a pull towards the identity
map so that what the base model knew is kept. On the mapped vectors a softmax reply head
(`_reply_head`) learns which saved reply each training question belongs to; its probability
is a small bounded ranking signal (`suggest.ranking.LEARNT_WEIGHT`, docs/suggestions.md).

Each run writes HOME/models/<n>/ (manifest, matrices, heads), makes it active when the held-out
top-1 did not drop, and rebuilds the indexes against it (`SuggestEngine.rebuild`);
`rollback` returns to the version that was active before."""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

import storage.search
from index import adapters
from index.cache import embed_cached
from replykit.errors import InputError, NotFound
from replykit.textio import write_atomically
from suggest.engine import SuggestEngine, is_question

HELD_OUT_RULE = "md5(question) % 5 == 0"
SCALE = 20.0  # logit scale of the contrastive loss (sentence-transformers' MNRL default)
RANK = 64
STEPS = 300
BATCH = 512  # training questions per step
LEARNING_RATE = 5e-3
IDENTITY_PULL = 1.0  # weight of ‖W − I‖² / dim in the loss
HEAD_L2 = 3e-6  # weight of ‖H‖² in the reply head's loss (chosen on the public dev sets)
HEAD_STEPS = 200  # L-BFGS iterations of the reply head


def models_dir(engine: SuggestEngine) -> Path:
    return engine.config.home / "models"


def held_out(question: str) -> bool:
    """Whether a question belongs to the held-out split (HELD_OUT_RULE)."""
    return int(hashlib.md5(question.encode("utf-8")).hexdigest(), 16) % 5 == 0


def team_pairs(db) -> list[dict]:
    """Every labelled pair {question, reply_id, source ('example' | 'past' | 'inserted'),
    document (id of the question's own document, or None)}, of saved replies that have
    documents (not archived), each question once per reply."""
    docs = storage.search.document_rows(db, ("id", "kind", "saved_reply_id", "text"))
    live = {d["saved_reply_id"] for d in docs if d["kind"] == "reply"}
    pairs, seen = [], set()
    for d in docs:
        if is_question(d["kind"]) and d["saved_reply_id"] in live:
            key = (d["text"], d["saved_reply_id"])
            if key not in seen:
                seen.add(key)
                source = "example" if d["kind"] == "question" else "past"
                pairs.append({"question": d["text"], "reply_id": d["saved_reply_id"],
                              "source": source, "document": d["id"]})
    for row in storage.search.inserted_questions(db):
        key = (row["query"].strip(), row["reply_id"])
        if key[0] and row["reply_id"] in live and key not in seen:
            seen.add(key)
            pairs.append({"question": key[0], "reply_id": row["reply_id"],
                          "source": "inserted", "document": None})
    return pairs


def _contrastive_fit(anchors, anchor_owner, anchor_doc, targets, target_owner) -> np.ndarray:
    """W = I + U·Vᵀ ((dim, dim), U and V of rank RANK) minimising the supervised contrastive
    loss of the anchors against the target documents (the anchor's own document left out)
    plus IDENTITY_PULL · ‖U·Vᵀ‖² / dim. Low rank: fewer parameters to overfit a few thousand
    pairs, and cheaper steps on two shared cores."""
    import torch

    torch.manual_seed(16)
    a = torch.from_numpy(anchors)
    t = torch.from_numpy(targets)
    same = torch.from_numpy(np.equal.outer(anchor_owner, target_owner))
    own = torch.from_numpy(np.equal.outer(anchor_doc, np.arange(len(targets))))
    positive = same & ~own
    usable = positive.any(dim=1)
    dim = anchors.shape[1]
    if not bool(usable.any()):
        return np.eye(dim, dtype=np.float32)
    u = torch.zeros(dim, RANK, requires_grad=True)
    v = (torch.randn(dim, RANK) / dim**0.5).requires_grad_()
    optimiser = torch.optim.Adam([u, v], lr=LEARNING_RATE)
    anchors_usable = torch.nonzero(usable).flatten()
    for _ in range(STEPS):
        # a batch of BATCH anchors per step keeps a step's cost linear in the documents
        batch = anchors_usable[torch.randperm(len(anchors_usable))[:BATCH]]
        optimiser.zero_grad()
        qa = torch.nn.functional.normalize(a[batch] + (a[batch] @ u) @ v.T, dim=1)
        qt = torch.nn.functional.normalize(t + (t @ u) @ v.T, dim=1)
        logits = (SCALE * qa @ qt.T).masked_fill(own[batch], float("-inf"))
        every = torch.logsumexp(logits, dim=1)
        right = torch.logsumexp(logits.masked_fill(~positive[batch], float("-inf")), dim=1)
        change = ((u.T @ u) * (v.T @ v)).sum() / dim  # ‖U·Vᵀ‖² without forming it
        loss = (every - right).mean() + IDENTITY_PULL * change
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        return (torch.eye(dim) + u @ v.T).numpy().astype(np.float32)


def _reply_head(vectors: np.ndarray, owner: list[str]):
    """Softmax regression over the saved replies on the adapted, normalised question vectors:
    (reply ids, weights (dim, replies), bias (replies,)) minimising the cross-entropy of each
    training question's reply plus HEAD_L2 · ‖weights‖². Its probability is a bounded ranking
    signal (`suggest.ranking.LEARNT_WEIGHT`): a reply's questions as a whole, not only its
    nearest few, vote for it."""
    import torch

    replies = sorted(set(owner))
    code = {reply: i for i, reply in enumerate(replies)}
    x = torch.from_numpy(adapters.normalized(vectors))
    y = torch.tensor([code[o] for o in owner])
    weights = torch.zeros(x.shape[1], len(replies), requires_grad=True)
    bias = torch.zeros(len(replies), requires_grad=True)
    optimiser = torch.optim.LBFGS([weights, bias], max_iter=HEAD_STEPS,
                                  line_search_fn="strong_wolfe")

    def closure():
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ weights + bias, y)
        loss = loss + HEAD_L2 * (weights**2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    return replies, weights.detach().numpy(), bias.detach().numpy()


def _top1(anchors, anchor_owner, targets, target_owner, matrix) -> float | None:
    """Share of anchors whose most similar target (after `matrix`) belongs to their reply."""
    if not len(anchors):
        return None

    best = np.argmax(adapters.normalized(anchors @ matrix)
                     @ adapters.normalized(targets @ matrix).T, axis=1)
    return round(float(np.mean(np.asarray(target_owner)[best] == np.asarray(anchor_owner))), 4)


def _vectors(engine, embedder, texts, as_query) -> np.ndarray:
    return embed_cached(engine.db, embedder, texts, as_query=as_query)[0] if texts else (
        np.zeros((0, embedder.dim), dtype=np.float32))


@contextmanager
def _models_lock(folder: Path):
    """One `learn` or `rollback` at a time per home (they pick version numbers)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def learn(engine: SuggestEngine) -> dict:
    """Learn a new model version from the team's pairs, activate it unless the held-out
    top-1 dropped, rebuild the indexes. Returns the version's manifest (see module doc)."""
    with _models_lock(models_dir(engine)):
        return _learn(engine)


def _learn(engine: SuggestEngine) -> dict:
    started = time.perf_counter()
    pairs = team_pairs(engine.db)
    train = [p for p in pairs if not held_out(p["question"])]
    test = [p for p in pairs if held_out(p["question"])]
    if len({p["reply_id"] for p in train}) < 2:
        raise InputError("needs labelled questions of at least two saved replies (example "
                         "questions, past replies sent from a saved reply, inserted suggestions)",
                         "learn")
    folder = models_dir(engine)
    previous = adapters.active_version(folder)
    version = 1 + max((int(p.name) for p in folder.glob("*") if p.name.isdigit()), default=0)
    work = folder / f".{version}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    replies = [d for d in storage.search.document_rows(
        engine.db, ("id", "kind", "saved_reply_id", "text")) if d["kind"] == "reply"]
    files, heads, evaluation = {}, {}, {}
    # train from the base models, whatever version is active now
    active = {e.name: e for e in engine.embedders()}
    bases = [getattr(e, "base", e) for e in active.values()]
    for i, embedder in enumerate(bases):
        passages = _vectors(engine, embedder, [d["text"] for d in replies], False)
        questions = _vectors(engine, embedder, [p["question"] for p in train], True)
        targets = np.concatenate([passages, questions])
        target_owner = [d["saved_reply_id"] for d in replies] + [p["reply_id"] for p in train]
        anchor_doc = [len(replies) + j for j in range(len(train))]
        matrix = _contrastive_fit(questions, [p["reply_id"] for p in train], anchor_doc,
                                  targets, target_owner)
        head = adapters.ReplyHead(*_reply_head(questions @ matrix, [p["reply_id"] for p in train]))
        tests = _vectors(engine, embedder, [p["question"] for p in test], True)
        test_owner = [p["reply_id"] for p in test]
        identity = np.eye(embedder.dim, dtype=np.float32)
        evaluation[embedder.name] = {
            "before": _top1(tests, test_owner, targets, target_owner, identity),
            "after": _top1(tests, test_owner, targets, target_owner, matrix),
            "reply_head": head.top1(adapters.normalized(tests @ matrix), test_owner),
        }
        files[embedder.name] = f"adapter-{i}.npy"
        heads[embedder.name] = f"head-{i}.npz"
        with open(work / files[embedder.name], "wb") as out:
            np.save(out, matrix)
        head.save(work / heads[embedder.name])
    before = [e["before"] for e in evaluation.values() if e["before"] is not None]
    after = [e["after"] for e in evaluation.values() if e["after"] is not None]
    activated = sum(after) >= sum(before)
    manifest = {
        "version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_models": [e.name for e in bases],
        "adapters": files,
        "heads": heads,
        "kind": "linear map on the base embeddings (supervised contrastive loss) and a softmax "
                "reply head on the mapped vectors",
        "pairs": {
            "total": len(pairs),
            "train": len(train),
            "held_out": len(test),
            "by_source": {s: sum(p["source"] == s for p in pairs)
                          for s in ("example", "past", "inserted")},
        },
        "held_out_rule": HELD_OUT_RULE,
        "eval": {
            "metric": "dense top-1 of the held-out questions (nearest document's reply)",
            "models": evaluation,
            "before": {"top1": round(sum(before) / len(before), 4) if before else None},
            "after": {"top1": round(sum(after) / len(after), 4) if after else None},
        },
        "previous": previous,
        "activated": activated,
        "seconds": None,
    }
    manifest["seconds"] = round(time.perf_counter() - started, 2)
    write_atomically(work / adapters.MANIFEST, json.dumps(manifest, indent=2) + "\n")
    work.rename(folder / str(version))
    if activated:
        adapters.set_active(folder, version)
        engine.rebuild()
    manifest["rebuild_seconds"] = round(time.perf_counter() - started - manifest["seconds"], 2)
    return manifest


def rollback(engine: SuggestEngine) -> dict:
    """Return to the version active before the current one (or the base models) and rebuild
    the indexes. {"from": version, "to": version or None}; NotFound when none is active."""
    folder = models_dir(engine)
    with _models_lock(folder):
        current = adapters.active_version(folder)
        if current is None:
            raise NotFound("no learnt model version is active: nothing to roll back")
        previous = adapters.read_manifest(folder, current).get("previous")
        adapters.set_active(folder, previous)
        engine.rebuild()
    return {"from": current, "to": previous}


def status(engine: SuggestEngine) -> dict:
    """{"active": version or None, "versions": [manifest, ...]} of the home."""
    folder = models_dir(engine)
    versions = sorted(int(p.name) for p in folder.glob("*") if p.name.isdigit())
    return {"active": adapters.active_version(folder),
            "versions": [adapters.read_manifest(folder, v) for v in versions]}
