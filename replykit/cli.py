"""The `replykit` command. Each command calls one library function and formats its result;
typed errors become one `Error: ...` line and exit status 1."""

from __future__ import annotations

import json
import sqlite3
import sys
from functools import update_wrapper

import click

from replykit.config import ConfigError, load_config
from replykit.errors import ReplykitError
from replykit.home import Home
from storage.db import busy_message


class ReplykitGroup(click.Group):
    """Turns replykit's typed errors into ClickExceptions for every subcommand."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (ReplykitError, ConfigError) as exc:
            raise click.ClickException(str(exc)) from exc
        except sqlite3.OperationalError as exc:
            message = busy_message(exc)
            if message is None:
                raise
            raise click.ClickException(message) from exc


def pass_home(f):
    """Give the command the `Home` chosen by --home / REPLYKIT_HOME."""

    @click.pass_context
    def wrapper(ctx, *args, **kwargs):
        root = ctx.find_root()
        home = root.meta.get("replykit.home")
        if home is None:
            home = Home(load_config(root.params.get("home")))
            root.meta["replykit.home"] = home
            ctx.call_on_close(home.close)
        return ctx.invoke(f, home, *args, **kwargs)

    return update_wrapper(wrapper, f)


def echo_json(data) -> None:
    """Print `data` as JSON (UTF-8, not ASCII-escaped) for scripts."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


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


def _register_commands() -> None:
    from replykit import commands  # noqa: F401  (registers its commands on `cli`)


_register_commands()
