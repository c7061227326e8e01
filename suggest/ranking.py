"""Scoring pieces of the suggester: a bounded lexical similarity and the hybrid fusion.

bm25 finds lexical candidates but its scale depends on the query, so it cannot be mixed
with cosine similarity or compared with a threshold. Each candidate is therefore re-scored
with `trigram_similarity`: the share of the question's trigram information (idf-weighted)
found in the document, balanced against the share of the document that the question covers,
a number in 0-1 that means the same for every query."""

from __future__ import annotations

import math

from index.lexical import LexicalIndex, query_trigrams

# Dense weight in the hybrid score, by the question's script and whether a multilingual
# embedder exists. Measured on the public dev sets (docs/evaluation.md).
DENSE_WEIGHT_LATIN = 0.75
DENSE_WEIGHT_MULTILINGUAL = 0.6
DENSE_WEIGHT_BLIND = 0.25


def dense_weight(script: str, multilingual: bool) -> float:
    """How much the dense score counts in `hybrid` for a question in `script`."""
    if script == "latin":
        return DENSE_WEIGHT_LATIN
    return DENSE_WEIGHT_MULTILINGUAL if multilingual else DENSE_WEIGHT_BLIND


def fuse(dense: float, lexical: float, weight: float) -> float:
    """Weighted sum of the two 0-1 scores."""
    return weight * dense + (1 - weight) * lexical


def trigram_similarity(
    query_terms: dict[str, float], document_text: str
) -> float:
    """sqrt(query coverage × document coverage): query coverage = idf mass of the question's
    trigrams found in the document / idf mass of all its trigrams; document coverage = share
    of the document's distinct trigrams that the question has."""
    doc_terms = set(query_trigrams(document_text))
    if not doc_terms or not query_terms:
        return 0.0
    shared = [t for t in query_terms if t in doc_terms]
    if not shared:
        return 0.0
    query_cover = sum(query_terms[t] for t in shared) / sum(query_terms.values())
    doc_cover = len(shared) / len(doc_terms)
    return math.sqrt(query_cover * doc_cover)


def query_weights(lexical: LexicalIndex, normalized_query: str) -> dict[str, float]:
    """idf of each distinct trigram of the question; unseen trigrams get the highest idf."""
    terms = query_trigrams(normalized_query)
    df = lexical.document_frequencies(terms)
    total = lexical.document_count()
    return {t: math.log(1 + total / max(df.get(t, 0), 0.5)) for t in terms}


def lexical_scores(
    lexical: LexicalIndex, normalized_query: str, docs: dict[int, dict], _hits: list[int]
) -> dict[int, float]:
    """`trigram_similarity` of every candidate document."""
    weights = query_weights(lexical, normalized_query)
    return {i: trigram_similarity(weights, d["lexical_text"]) for i, d in docs.items()}
