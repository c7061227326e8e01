"""Every command is documented: docs/cli.md is generated from the commands' help and must be
current, and every command has a help text."""

from pathlib import Path

import click

from cli import clidoc
from cli.main import cli

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def test_cli_reference_is_current():
    assert DOC.read_text(encoding="utf-8") == clidoc.render(), (
        "docs/cli.md is out of date: run `python -m cli.clidoc > docs/cli.md`"
    )


def test_every_command_has_help():
    missing = [
        " ".join(path) for path, command in clidoc._walk(cli, []) if path and not command.help
    ]
    assert missing == []


def test_walk_reaches_nested_commands():
    names = {" ".join(path) for path, _ in clidoc._walk(cli, [])}
    assert {"replies import", "index rebuild", "suggest", "eval"} <= names
    assert isinstance(cli, click.Group)


def test_every_list_show_and_status_command_takes_json():
    lacking = [
        " ".join(path)
        for path, command in clidoc._walk(cli, [])
        if path
        and path[-1] in ("list", "show", "status")
        and "as_json" not in {p.name for p in command.params}
    ]
    assert lacking == []
