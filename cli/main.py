"""The `replykit` command: the root group, and every group and command of the area modules
registered on it explicitly. Each command calls one library function and formats its
result; typed errors become one `Error: ...` line and exit status 1."""

from __future__ import annotations

import sys

import click

from cli import (
    learn_commands,
    privacy_commands,
    rubrics_commands,
    suggest_commands,
    sync_commands,
    web_commands,
    worker_commands,
)
from replykit.config import ConfigError
from replykit.errors import ReplykitError
from storage.db import OPERATIONAL_ERRORS, busy_message
from storage.postgres import DatabaseUnreachable
from storage.postgres_schema import DatabaseEncodingError


class ReplykitGroup(click.Group):
    """Turns replykit's typed errors into ClickExceptions for every subcommand."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (ReplykitError, ConfigError, DatabaseUnreachable, DatabaseEncodingError) as exc:
            raise click.ClickException(str(exc)) from exc
        except OPERATIONAL_ERRORS as exc:
            message = busy_message(exc)
            if message is None:
                raise
            raise click.ClickException(message) from exc


@click.group(cls=ReplykitGroup)
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    envvar="REPLYKIT_HOME",
    help="Data directory (default ./replykit-data; env REPLYKIT_HOME).",
)
@click.version_option(package_name="replykit")
def cli(home):
    """replykit: saved-reply suggestions, reply review and speed metrics for support teams."""
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")


for command in (
    # suggest_commands: the library, conversations, indexes, suggestions, serving, data
    suggest_commands.replies,
    suggest_commands.import_group,
    suggest_commands.index,
    suggest_commands.suggest_command,
    suggest_commands.feedback_command,
    suggest_commands.serve,
    suggest_commands.demo,
    suggest_commands.eval_command,
    suggest_commands.backup_command,
    suggest_commands.restore_command,
    # learn_commands: adapting the embedders to the team's own questions
    learn_commands.learn_command,
    # rubrics_commands: rubrics, reviews, reports
    rubrics_commands.rubrics,
    rubrics_commands.reviews,
    rubrics_commands.report,
    # web_commands: web users and API tokens
    web_commands.users_group,
    web_commands.tokens_group,
    # privacy_commands: forgetting a customer
    privacy_commands.privacy_group,
    # worker_commands: embedding workers (PostgreSQL)
    worker_commands.worker,
    # sync_commands: pulling conversations from a helpdesk
    sync_commands.sync_command,
):
    cli.add_command(command)
