"""Lexical search tables on PostgreSQL (pg_trgm), where FTS5 does not exist.

A GIN trigram index on `documents.lexical_text` finds candidates (`LIKE '%tri%'` per query
trigram), and `lexical_trigrams` holds each in-word trigram's document frequency, as SQLite's
fts5vocab table does; its row '' (no trigram is empty) counts the documents. Both are made by
migration 7 (`m007_lexical_trigrams`, nothing on SQLite) and kept by
`storage.search.insert_documents` / `delete_documents` in the writer's transaction."""

from __future__ import annotations

from storage.db import is_postgres

# Characters between words, for the trigrams of index.lexical (Python `re`) and for the
# frequencies computed here (a PostgreSQL regular expression): the same class in both.
WORD_SEPARATORS = r"""[\s"'`.,;:!?()\[\]{}<>/\\|@#$%^&*+=~_\-؟،؛]+"""
# Each distinct in-word trigram of each text of the array parameter, with the text's number.
_TRIGRAMS_OF_TEXTS = (
    "SELECT DISTINCT x.n, substr(w, i, 3) AS trigram "
    "FROM unnest(?::text[]) WITH ORDINALITY AS x(t, n), "
    "regexp_split_to_table(x.t, ?) AS w, generate_series(1, length(w) - 2) AS i")
_CHUNK = 500


def _chunks(values: list) -> list[list]:
    return [values[start : start + _CHUNK] for start in range(0, len(values), _CHUNK)]


def ready(db) -> bool:
    """Whether `lexical_trigrams` exists: bool."""
    return db.execute("SELECT to_regclass('lexical_trigrams') IS NOT NULL").fetchone()[0] == 1


def m007_lexical_trigrams(db) -> None:
    """The trigram index and frequency table on PostgreSQL (SQLite has FTS5: nothing)."""
    if is_postgres(db):
        ensure_tables(db)


def ensure_tables(db) -> None:
    """Create the GIN trigram index on documents and `lexical_trigrams` if missing, filling
    it from the documents already there (call inside a write transaction)."""
    db.execute("CREATE INDEX IF NOT EXISTS documents_lexical_trgm ON documents "
               "USING gin (lexical_text gin_trgm_ops)")
    if ready(db):
        return
    db.execute("CREATE TABLE lexical_trigrams (trigram TEXT PRIMARY KEY, "
               "documents INTEGER NOT NULL)")
    count(db, [row[0] for row in db.execute("SELECT lexical_text FROM documents")], +1)


def ctype_problem(db) -> str | None:
    """Why pg_trgm cannot index Thai and Persian letters in this database (its LC_CTYPE is
    not a UTF-8 one, e.g. 'C': it then indexes none of them), with the fix; None if it can."""
    ok, name, ctype = db.execute(
        "SELECT cardinality(show_trgm('เงิน')) > 0 AND cardinality(show_trgm('پول')) > 0, "
        "datname, datctype FROM pg_database WHERE datname = current_database()").fetchone()
    if ok == 1:
        return None
    return (f"PostgreSQL database {name!r} has LC_CTYPE {ctype!r}, under which pg_trgm "
            "finds no trigrams in Thai or Persian text; create it with CREATE DATABASE "
            f"{name} ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0")


def count(db, texts: list[str], sign: int) -> None:
    """Add (`sign` +1) or take away (-1) these lexical texts' trigrams and the document
    count in `lexical_trigrams`."""
    for chunk in _chunks(texts):
        db.execute(
            "INSERT INTO lexical_trigrams (trigram, documents) "
            f"SELECT trigram, ? * COUNT(*) FROM ({_TRIGRAMS_OF_TEXTS}) AS found GROUP BY trigram "
            "UNION ALL SELECT '', ? ON CONFLICT (trigram) DO UPDATE "
            "SET documents = lexical_trigrams.documents + EXCLUDED.documents",
            [sign, chunk, WORD_SEPARATORS, sign * len(chunk)])
    if sign < 0:
        db.execute("DELETE FROM lexical_trigrams WHERE documents <= 0 AND trigram != ''")


# ---- queries


def frequencies(db, terms: list[str]) -> dict[str, int]:
    """{trigram: documents containing it}; terms in no document are left out."""
    found: dict[str, int] = {}
    for chunk in _chunks(terms):
        found.update(db.execute(
            "SELECT trigram, documents FROM lexical_trigrams WHERE trigram = ANY(?::text[]) "
            "AND documents > 0 AND trigram != ''", [chunk]).fetchall())
    return found


def document_count(db) -> int:
    """Number of documents, as `lexical_trigrams` counts them: int."""
    row = db.execute("SELECT documents FROM lexical_trigrams WHERE trigram = ''").fetchone()
    return row[0] if row else 0


def _search_sql(weights: dict[str, float], limit: int) -> tuple[str, list]:
    terms = list(weights)
    patterns = [f"%{t}%" for t in terms]  # trigrams hold no '%', '_' or '\\' (separators)
    matched = " + ".join(["CASE WHEN lexical_text LIKE ? THEN ?::float8 ELSE 0.0 END"] * len(terms))
    sql = ("SELECT id, matched * 2.2 / (1.0 + 1.2 * (0.25 + 0.75 * length(lexical_text) "
           "/ GREATEST(AVG(length(lexical_text)) OVER (), 1.0))) AS score "
           f"FROM (SELECT id, lexical_text, {matched} AS matched FROM documents "
           f"WHERE {' OR '.join(['lexical_text LIKE ?'] * len(terms))}) AS candidates "
           "ORDER BY score DESC, id LIMIT ?")
    params = [*(v for p, t in zip(patterns, terms, strict=True) for v in (p, weights[t])),
              *patterns, limit]
    return sql, params


def search(db, weights: dict[str, float], limit: int) -> list[tuple[int, float]]:
    """Up to `limit` (document id, score) pairs of the documents holding any of these
    trigrams, best first. score = bm25 with each term counted once: the idf `weights` of the
    trigrams a document holds, scaled down for long documents (k1 1.2, b 0.75, lengths
    relative to the candidates' mean), as FTS5's bm25 ranks them on SQLite."""
    if not weights:
        return []
    rows = db.execute(*_search_sql(weights, limit)).fetchall()
    return [(int(doc_id), float(score)) for doc_id, score in rows]


def index_rows(db, trigram: str) -> int | None:
    """Rows that the GIN trigram index yields for `LIKE '%<trigram>%'`, by EXPLAIN ANALYZE
    with sequential scans off (None if the plan uses no index). Few when pg_trgm indexes the
    trigram's script; every row when it cannot (it then scans the whole index): int."""
    with db.atomic():
        db.execute("SET LOCAL enable_seqscan = off")
        (plan,) = db.execute("EXPLAIN (ANALYZE, FORMAT JSON) SELECT id FROM documents "
                             "WHERE lexical_text LIKE ?", [f"%{trigram}%"]).fetchone()
    nodes = [plan[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        if node.get("Index Name") == "documents_lexical_trgm":
            return int(node["Actual Rows"])
        nodes += node.get("Plans", [])
    return None
