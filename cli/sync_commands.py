"""`replykit sync SOURCE`: pull a helpdesk's conversations into replykit (connectors.sync),
once or every few minutes."""

from __future__ import annotations

import re
import signal
import sys
import threading

import click

from cli.common import echo_json, json_option, pass_home
from connectors.base import make_source
from connectors.sync import run_sync
from replykit.errors import ReplykitError
from storage.db import OPERATIONAL_ERRORS, busy_message
from suggest.engine import SuggestEngine

UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_every(value: str | None) -> int | None:
    """'30s', '5m', '1h' -> seconds (at least 10); None stays None."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*([smh])\s*", value)
    if not match or int(match[1]) * UNITS[match[2]] < 10:
        raise click.BadParameter(f"{value!r}: use a duration of 10s or more such as 30s, 5m, 1h",
                                 param_hint="--every")
    return int(match[1]) * UNITS[match[2]]


@click.command("sync")
@click.argument("source")
@click.option("--every", metavar="DURATION",
              help="Keep running: sync again every DURATION (30s, 5m, 1h) until SIGTERM or "
                   "Ctrl-C, which finish the batch being stored and stop.")
@click.option("--no-index", is_flag=True, help="Skip updating the vector indexes afterwards.")
@json_option
@pass_home
def sync_command(home, source, every, no_index, as_json):
    """Pull new conversations and messages from the helpdesk configured as [sync.SOURCE] in
    the home's config.toml (docs/integrations.md). Incremental and resumable: each batch is
    stored with the source's cursor in one transaction, so an interrupted run loses nothing
    and the next one goes on from there. Credentials come from the environment variables the
    config names, never from the command line."""
    from tqdm import tqdm

    interval = parse_every(every)
    connector = make_source(home.config.sections, source)
    stop = threading.Event()
    if interval is not None:
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
    while True:
        try:
            with tqdm(unit=" records", desc=source, disable=as_json or None,
                      file=sys.stderr) as bar:
                counts = run_sync(home.db, connector, progress=bar.update,
                                  warn=lambda line: click.echo(line, err=True),
                                  should_stop=stop.is_set)
            if counts["messages"] and not no_index:
                SuggestEngine(home).sync()
        except (ReplykitError, *OPERATIONAL_ERRORS) as error:
            message = str(error) if isinstance(error, ReplykitError) else busy_message(error)
            if interval is None or message is None:
                raise
            click.echo(f"Error: {message} (trying again in {every.strip()})", err=True)
        else:
            _report(counts, as_json)
        if interval is None or stop.wait(interval):
            return


def _report(counts: dict, as_json: bool) -> None:
    if as_json:
        echo_json(counts)
        return
    left_out = f", {counts['rejected']} left out" if counts["rejected"] else ""
    click.echo(
        f"{counts['source']}: {counts['messages']} messages stored ({counts['skipped']} already "
        f"there{left_out}) in {counts['batches']} batches, {counts['past_replies']} past replies")
