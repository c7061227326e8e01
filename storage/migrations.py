"""The database schema as ordered migrations. `schema_version` records each one applied;
a migration and its record commit together, so a crash never leaves a half-migrated file.

Each group of tables keeps its migrations in its own module of this package (library,
conversations, search, reviews, users). Add a migration to its module and list it here
(never edit or reorder a released one). Version numbers are blocks so groups never
collide: 1-99 library, conversations and search, 100-199 reviews, 200-299 users. Each
migration not yet recorded is applied, in version order.

On PostgreSQL an empty database first gets the baseline (`storage.postgres_schema`: the
schema of the migrations in BASELINE_VERSIONS, which rebuild SQLite tables and make FTS5
tables PostgreSQL cannot run), recorded as those versions; every later migration runs on
both backends, so it must be portable SQL (docs/design.md, "Storage")."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

from storage import (
    app_secrets,
    audit,
    blobs,
    conversations,
    library,
    reviews,
    search,
    sync_state,
    trigrams,
    users,
    webhooks,
)
from storage.db import is_postgres, write_transaction
from storage.postgres_schema import BASELINE_VERSIONS, apply_baseline, check_encoding


def _m005_templated_titles(db: sqlite_utils.Database) -> None:
    """A data migration: templating past replies again needs the rules of suggest.privacy,
    the one place where storage calls up into a domain package (imported here, lazily)."""
    from suggest.conversations import m005_templated_titles

    m005_templated_titles(db)


MIGRATIONS = (
    (1, "saved-reply library", library.m001_library),
    (2, "conversations and past replies", conversations.m002_conversations),
    (3, "search documents, FTS5 trigram index, embedding cache, feedback",
     search.m003_search_documents),
    (4, "feedback and proposals linked to their conversation", library.m004_conversation_links),
    (5, "templated past-reply titles; past replies templated again", _m005_templated_titles),
    (6, "saved-reply actions (tags, status, assignee set on the ticket)",
     library.m006_reply_actions),
    (7, "trigram index and frequencies for lexical search (PostgreSQL only)",
     trigrams.m007_lexical_trigrams),
    (8, "helpdesk sync cursors", sync_state.m008_sync_state),
    (10, "conversations' NPS and CES survey answers", conversations.m010_survey_scores),
    (11, "what agents really sent (sent_replies)", conversations.m011_sent_replies),
    (12, "the index queue: documents the vector indexes have not caught up with",
     search.m012_index_queue),
    (100, "rubric versions, reviews, drafts, assignments, disputes", reviews.m100_reviews),
    (101, "calibration sessions and their participants", reviews.m101_calibration_sessions),
    (102, "the replies of calibration sessions", reviews.m102_calibration_items),
    (200, "web users, sessions, API tokens, login attempts, drafting sessions", users.m200_web),
    (201, "users in several teams", users.m201_user_teams),
    (202, "owners by user id: drafting sessions, drafts sent for review", users.m202_owner_ids),
    (203, "reviewers by user id", users.m203_reviewer_ids),
    (204, "each user's interface language and calendar", users.m204_user_locale),
    (210, "login throttle, API token expiry", users.m210_accounts),
    (220, "audit log of admin changes, exports and erasures", audit.m220_audit_log),
    (240, "attachment contents in the database (PostgreSQL mode)",
     blobs.m240_attachment_blobs),
    (241, "secrets shared by every server of the database", app_secrets.m241_app_secrets),
    (250, "helpdesk webhook events (idempotent on the event id) and notes posted back",
     webhooks.m250_webhook_events),
    (251, "the helpdesk source each conversation came from (sync or webhook)",
     webhooks.m251_conversation_sources),
)


def applied_versions(db: sqlite_utils.Database) -> set[int]:
    """Versions of the migrations recorded in the file."""
    if "schema_version" not in db.table_names():
        return set()
    return {row[0] for row in db.execute("SELECT version FROM schema_version")}


def migrate(db: sqlite_utils.Database) -> int:
    """Apply every migration not yet recorded, each in its own transaction; return the newest."""
    if is_postgres(db):
        _postgres_baseline(db)
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    applied = applied_versions(db)
    for version, name, apply in sorted(MIGRATIONS):
        if version in applied:
            continue
        with write_transaction(db):
            # Re-check under the write lock: another process may have migrated meanwhile.
            if version in applied_versions(db):
                continue
            apply(db)
            db["schema_version"].insert(
                {"version": version, "name": name, "applied_at": datetime.now(UTC).isoformat()}
            )
    return max(applied_versions(db))


def _postgres_baseline(db) -> None:
    """Give an empty PostgreSQL database the baseline schema, recorded as BASELINE_VERSIONS
    (under the write lock: two processes opening a new database at once make it once).
    A database whose encoding is not UTF8 is refused first."""
    check_encoding(db)
    if "schema_version" in db.table_names():
        return
    names = dict((version, name) for version, name, _ in MIGRATIONS)
    with write_transaction(db):
        if "schema_version" in db.table_names():
            return
        apply_baseline(db)
        db.execute("CREATE TABLE schema_version ("
                   "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        now = datetime.now(UTC).isoformat()
        db["schema_version"].insert_all(
            {"version": v, "name": names[v], "applied_at": now} for v in sorted(BASELINE_VERSIONS))


def recorded_migrations(db: sqlite_utils.Database) -> int:
    """int: rows of schema_version (sqlite3.OperationalError when the table is missing)."""
    return db.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0]
