"""`replykit learn`: adapt the embedders to the team's labelled questions, roll back, list
versions (suggest.learning)."""

from __future__ import annotations

import click

from cli.common import echo_json, json_option, pass_home
from suggest import learning
from suggest.engine import SuggestEngine


def _figure(value) -> str:
    return "-" if value is None else f"{value:.3f}"


@click.command("learn")
@click.option("--rollback", is_flag=True,
              help="Return to the model version active before the current one and rebuild.")
@click.option("--status", "show_status", is_flag=True,
              help="List the learnt versions and say which is active.")
@json_option
@pass_home
def learn_command(home, rollback, show_status, as_json):
    """Adapt the embedders to the team's own questions (example questions, past replies sent
    from a saved reply, inserted suggestions), compare before and after on a held-out fifth
    of them, keep the new version in HOME/models/ and rebuild the indexes against it."""
    engine = SuggestEngine(home)
    if rollback:
        result = learning.rollback(engine)
        if as_json:
            echo_json(result)
            return
        target = "the base models" if result["to"] is None else f"version {result['to']}"
        click.echo(f"Rolled back from version {result['from']} to {target}; indexes rebuilt.")
        return
    if show_status:
        result = learning.status(engine)
        if as_json:
            echo_json(result)
            return
        click.echo(f"Active: {result['active'] or 'the base models'}")
        for v in result["versions"]:
            click.echo(f"version {v['version']}  {v['created_at']}  {v['pairs']['train']} pairs  "
                       f"held-out top-1 {_figure(v['eval']['before']['top1'])} -> "
                       f"{_figure(v['eval']['after']['top1'])}")
        return
    manifest = learning.learn(engine)
    if as_json:
        echo_json(manifest)
        return
    pairs = manifest["pairs"]
    click.echo(
        f"Learnt version {manifest['version']} from {pairs['total']} question -> saved reply "
        f"pairs in {manifest['seconds']} s: {pairs['train']} for training, {pairs['held_out']} "
        f"held out ({manifest['held_out_rule']}; never used for training).")
    click.echo("Held-out top-1 (nearest document's reply, dense), before -> after:")
    for model, figures in manifest["eval"]["models"].items():
        click.echo(f"  {model}: {_figure(figures['before'])} -> {_figure(figures['after'])}")
    if manifest["activated"]:
        click.echo(f"Version {manifest['version']} is active; indexes rebuilt in "
                   f"{manifest['rebuild_seconds']} s. Undo: replykit learn --rollback")
    else:
        click.echo(f"Held-out top-1 dropped: version {manifest['version']} is kept in "
                   "HOME/models/ but not activated; the current models stay.")
