"""Commands of the rubrics area: `rubrics` (validate, score, import, list, show), `reviews`
(reviews, drafts, assignments, disputes, calibration) and `report` (speed, quality,
combined). Each command calls one library function and formats its result."""

from __future__ import annotations

import click

from replykit.cli import cli, echo_json, json_option, pass_home
from rubrics import rubric as rubric_mod
from rubrics import scoring, store


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}" if value == int(value) else f"{value:.2f}"
    return str(value)


@cli.group()
def rubrics():
    """Rubric files: validate, try out, store as versions, list and show."""


@rubrics.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
def rubrics_validate(file, as_json):
    """Check a rubric YAML file; errors name the file, category and field."""
    rubric = rubric_mod.load_rubric(file)
    if as_json:
        echo_json(rubric.to_dict())
        return
    weights = sum(c.weight for c in rubric.categories)
    click.echo(
        f"OK: {rubric.name} v{rubric.version}, {len(rubric.categories)} categories, "
        f"total weight {weights}, pass threshold {_fmt(float(rubric.pass_threshold))}"
    )


@rubrics.command("score")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--ratings", required=True, help="KEY=RATING,... (RATING: a scale point or na).")
@json_option
def rubrics_score(file, ratings, as_json):
    """Score ratings against a rubric file without storing anything."""
    rubric = rubric_mod.load_rubric(file)
    result = scoring.score(rubric, scoring.parse_ratings(ratings))
    if as_json:
        echo_json(result)
        return
    click.echo(f"score: {_fmt(result['score'])}")
    click.echo(f"auto_failed: {_fmt(result['auto_failed'])}")
    for key, value in result["categories"].items():
        click.echo(f"  {key}: {_fmt(value)}")


@rubrics.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--by", default="", help="Who stores it.")
@json_option
@pass_home
def rubrics_import(home, file, by, as_json):
    """Store a rubric file; a changed definition becomes a new version."""
    result = store.import_rubric_file(home.db, file, by=by)
    if as_json:
        echo_json(result)
        return
    verb = "stored" if result["created"] else "unchanged"
    click.echo(f"{verb}: {result['name']} v{result['version']}")


@rubrics.command("list")
@json_option
@pass_home
def rubrics_list(home, as_json):
    """Stored rubrics and their versions."""
    items = store.list_rubrics(home.db)
    if as_json:
        echo_json(items)
        return
    for item in items:
        versions = ",".join(str(v) for v in item["versions"])
        click.echo(
            f"{item['name']}  latest v{item['latest_version']}  versions {versions}  "
            f"pass {_fmt(float(item['pass_threshold']))}  {item['categories']} categories"
        )


@rubrics.command("show")
@click.argument("name")
@click.option("--version", "version", type=int, help="Version (default: newest).")
@json_option
@pass_home
def rubrics_show(home, name, version, as_json):
    """A stored rubric version's definition."""
    data = store.show_rubric(home.db, name, version)
    if as_json:
        echo_json(data)
        return
    click.echo(
        f"{data['name']} v{data['version']}  pass threshold {_fmt(float(data['pass_threshold']))}"
        f"  (stored {data['created_at']} by {data['created_by'] or '-'})"
    )
    for cat in data["categories"]:
        flags = [f for f in ("critical", "na_allowed") if cat[f]]
        scale = cat["scale"]
        points = (
            "binary" if scale["type"] == "binary" else f"{min(scale['points'])}-"
            f"{max(scale['points'])}"
        )
        click.echo(
            f"  {cat['key']:<14} w{cat['weight']:<3} {points:<7} {cat['label']}"
            + (f"  [{', '.join(flags)}]" if flags else "")
        )
