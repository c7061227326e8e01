"""`replykit worker`: an embedding worker for a PostgreSQL database (suggest.worker)."""

from __future__ import annotations

import signal
import threading

import click

from cli.common import echo_json, json_option, pass_home
from suggest import worker as workers
from suggest.engine import SuggestEngine


@click.command("worker")
@click.option("--once", is_flag=True,
              help="Embed every pending document, then exit (default: keep waiting for more).")
@click.option("--batch", default=workers.BATCH, show_default=True, type=click.IntRange(1, 10000),
              help="Documents embedded per transaction.")
@click.option("--poll", default=2.0, show_default=True, type=click.FloatRange(0.05, 3600),
              help="Seconds to wait before looking again when nothing is pending.")
@json_option
@pass_home
def worker(home, once, batch, poll, as_json):
    """Embed search documents that lack vectors (after `import conversations --no-index` or
    `replies import --no-index`), on PostgreSQL only. Run one per core on as many machines
    as you like against one database: they never embed the same document, and the documents
    of a worker that dies are taken by the others. SIGTERM or Ctrl-C: finish the batch and
    stop."""
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())

    def progress(model: str, count: int) -> None:
        if not as_json:
            click.echo(f"{model}: {count} embedded")

    workers.require_postgres(home.db)  # before loading models
    engine = SuggestEngine(home)
    names = ", ".join(embedder.name for embedder in engine.embedders())  # loaded before work
    click.echo(f"Worker ready ({names}); batches of {batch}", err=True)
    done = workers.work(engine, batch=batch, once=once, poll=poll, stop=stop, report=progress)
    if as_json:
        echo_json({"embedded": done})
    else:
        click.echo(f"Stopped: {sum(done.values())} documents embedded")
