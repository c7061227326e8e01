"""CLI of customers' privacy: `privacy forget` (a right-to-erasure request)."""

from __future__ import annotations

import click

from cli.common import echo_json, json_option, pass_home

COUNTED = ("conversations", "messages", "past_replies", "documents", "embeddings", "reviews",
           "review_drafts", "drafts", "feedback", "feedback_queries", "saved_replies")
LABELS = {"feedback_queries": "feedback queries erased",
          "saved_replies": "saved replies templated"}


@click.group("privacy")
def privacy_group():
    """Customers' data: forget a customer on request."""


@privacy_group.command("forget")
@click.option("--customer", required=True, help="The customer's id or e-mail address.")
@click.option("--dry-run", is_flag=True, help="Only say what would be deleted.")
@json_option
@pass_home
def forget_command(home, customer, dry_run, as_json):
    """Delete everything stored about a customer: their conversations, messages, past replies,
    search documents and cached embeddings, reviews and drafts of replies to them; erase the
    feedback queries and template the saved replies that hold their details; then bring the
    vector indexes in line and empty the WAL file (exit 1 if a reader keeps it from being
    emptied; on PostgreSQL: VACUUM the touched tables). Backups made before keep their copy."""
    from replykit import audit
    from replykit.forget import erase_leftovers, forget_customer
    from suggest.engine import SuggestEngine
    from web.security import secret_key

    report = forget_customer(home.db, customer, dry_run=dry_run)
    changed = any(report[k] for k in COUNTED)
    if not dry_run:
        # logged by a keyed hash and counts only: the log must not keep who was forgotten
        audit.record(home.db, None, "privacy.forget", "customer", {
            "customer_hmac": audit.customer_digest(customer, secret_key(home.config)),
            **{k: report[k] for k in COUNTED if k in report}})
        if changed:
            SuggestEngine(home).sync()
        # no copy of the deleted rows left: the WAL emptied (SQLite), tables vacuumed (PostgreSQL)
        report.update(erase_leftovers(home.db, home.config.db_path))
    if as_json:
        echo_json(report)
        return
    if not changed:
        click.echo(f"Nothing stored for customer {customer!r} (searched customer ids and "
                   "e-mail addresses).")
    else:
        verb = "Would delete" if dry_run else "Deleted"
        counts = ", ".join(f"{report[k]} {LABELS.get(k, k.replace('_', ' '))}"
                           for k in COUNTED if k in report)
        click.echo(f"{verb} for customer {customer!r}: {counts}.")
    for other in report["also_on_other_conversations"]:
        click.echo(f"Other conversations also carry {other!r}: run privacy forget --customer "
                   f"{other!r} if they are this customer's too.")
