"""What every command module shares: the `Home` chosen by --home, and --json output."""

from __future__ import annotations

import json
from functools import update_wrapper

import click

from replykit.config import load_config
from replykit.home import Home


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
