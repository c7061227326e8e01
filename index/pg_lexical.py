"""Lexical search on PostgreSQL with pg_trgm: the interface of `index.lexical.LexicalIndex`
(`search`, `document_frequencies`, `document_count`, `ensure_vocab`) over a GIN trigram index
on `documents.lexical_text` and the `lexical_trigrams` frequency table (storage.trigrams).

The query's trigrams are chosen exactly as on SQLite (the rarest, within the same posting
budget); a document is a candidate when it holds one of them (`LIKE '%tri%'`, answered by the
GIN index), ranked by bm25 with each trigram counted once. `suggest.ranking` then scores every
candidate the same way on both backends. pg_trgm indexes only characters its LC_CTYPE calls
alphanumeric: under a UTF-8 ctype (checked here) that includes Thai and Persian letters and
Thai vowel and tone marks. Nothing is cached: every call reads the database, so every
`serve` process sees every commit at once."""

from __future__ import annotations

import math

import storage.trigrams
from index.lexical import LexicalIndex, query_trigrams
from replykit.errors import ReplykitError


class PgLexicalIndex(LexicalIndex):
    """Trigram search over `documents` in the PostgreSQL database `db`."""

    def __init__(self, db):
        super().__init__(db, "documents")

    def ensure_vocab(self) -> None:
        """Refuse a database whose ctype hides Thai and Persian letters from pg_trgm (the
        trigram index and frequency table come with migration 7)."""
        problem = storage.trigrams.ctype_problem(self.db)
        if problem:
            raise ReplykitError(problem)

    def document_count(self) -> int:
        return storage.trigrams.document_count(self.db)

    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        """How many documents contain each term (terms in no document are absent)."""
        return storage.trigrams.frequencies(self.db, list(dict.fromkeys(terms)))

    def search(self, normalized_query: str, limit: int = 50) -> list[tuple[int, float]]:
        """Up to `limit` (document id, score) pairs, best first; score > 0."""
        trigrams = query_trigrams(normalized_query)
        df = self.document_frequencies(trigrams)
        total = self.document_count()
        terms = self._selective_terms(trigrams, df, total)
        weights = {t: math.log(1 + total / df[t]) for t in terms if t in df}
        return storage.trigrams.search(self.db, weights, limit) if weights else []
