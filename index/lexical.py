"""Lexical search over an SQLite FTS5 table with the `trigram` tokenizer.

Trigrams need no word segmentation, so Thai (written without spaces) and Persian match as well
as English, and typos cost one or two trigrams instead of the whole word. A query becomes an
OR of its distinct trigrams, ranked by FTS5's bm25. Trigrams found in most documents ("the",
"ing") carry almost no weight but cost the most to scan, so the most common ones are dropped
when the query has enough rarer ones (document frequencies come from an fts5vocab table).

Callers store text already passed through `index.normalize.normalize_text` and pass queries
through the same function."""

from __future__ import annotations

import re

import sqlite_utils

import storage.search
import storage.trigrams

MAX_TERMS = 48
COMMON_DF_RATIO = 0.2
MIN_KEPT_TERMS = 6
# Bound on the postings one query may scan: the rarest terms are kept while the sum of their
# document frequencies stays within it (at least MIN_KEPT_TERMS are kept). The MATCH costs
# time in proportion to that sum: at 100k short documents an unbounded query summed ~144k
# postings and took 75/123 ms p50/p95; 20k postings take ~11/15 ms (bench/suggest_bench).
MAX_POSTINGS = 20_000
_SPLIT = re.compile(storage.trigrams.WORD_SEPARATORS)  # as PostgreSQL splits words


def query_trigrams(normalized_query: str) -> list[str]:
    """Distinct trigrams of each word of 3+ characters, in order of first appearance."""
    seen: dict[str, None] = {}
    for word in _SPLIT.split(normalized_query):
        for i in range(len(word) - 2):
            seen.setdefault(word[i : i + 3], None)
    return list(seen)


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class LexicalIndex:
    """Search an external-content FTS5 trigram table (`fts_table`) whose rowids are document
    ids; a companion fts5vocab table gives document frequencies."""

    def __init__(self, db: sqlite_utils.Database, fts_table: str):
        self.db = db
        self.fts_table = fts_table
        # document frequencies (and the document count) already looked up, valid while the
        # database is unchanged: questions repeat their trigrams, so most lookups are free
        self._df_cache: dict[str, int] = {}
        self._count: int | None = None
        self._cache_key: tuple[int, int] | None = None

    def ensure_vocab(self) -> None:
        """Create the fts5vocab companion table if it is missing."""
        storage.search.ensure_fts_vocab(self.db, self.fts_table)

    def _fresh_cache(self) -> None:
        # own writes show in total_changes, other connections' commits in data_version
        key = (self.db.conn.total_changes, storage.search.data_version(self.db))
        if key != self._cache_key:
            self._df_cache.clear()
            self._count = None
            self._cache_key = key

    def document_count(self) -> int:
        self._fresh_cache()
        if self._count is None:
            self._count = storage.search.fts_document_count(self.db, self.fts_table)
        return self._count

    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        """How many documents contain each term (terms in no document are absent)."""
        self._fresh_cache()
        unknown = [t for t in dict.fromkeys(terms) if t not in self._df_cache]
        if unknown:
            found = storage.search.fts_document_frequencies(self.db, self.fts_table, unknown)
            self._df_cache.update({t: found.get(t, 0) for t in unknown})
        return {t: self._df_cache[t] for t in terms if self._df_cache[t]}

    def _selective_terms(self, terms: list[str], df: dict[str, int], total: int) -> list[str]:
        if len(terms) <= MIN_KEPT_TERMS:
            return terms
        present = [t for t in terms if t in df]
        present.sort(key=lambda t: df[t])
        limit = COMMON_DF_RATIO * max(total, 1)
        kept = [t for t in present if df[t] <= limit]
        if len(kept) < MIN_KEPT_TERMS:
            kept = present[:MIN_KEPT_TERMS]
        bounded, postings = [], 0
        for term in kept[:MAX_TERMS]:
            if len(bounded) >= MIN_KEPT_TERMS and postings + df[term] > MAX_POSTINGS:
                break
            bounded.append(term)
            postings += df[term]
        return bounded

    def search(self, normalized_query: str, limit: int = 50) -> list[tuple[int, float]]:
        """Up to `limit` (document id, score) pairs, best first; score = −bm25 (> 0)."""
        trigrams = query_trigrams(normalized_query)
        df = self.document_frequencies(trigrams)
        total = self.document_count()
        terms = self._selective_terms(trigrams, df, total)
        if not terms:
            return []
        match = " OR ".join(_quote(t) for t in terms)
        return storage.search.fts_search(self.db, self.fts_table, match, limit)
