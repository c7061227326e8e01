"""Commands of the rubrics area: `rubrics` (validate, score, import, list, show), `reviews`
(reviews, drafts, assignments, disputes, calibration) and `report` (speed, quality,
combined, surveys). Each command calls one library function and formats its result."""

from __future__ import annotations

import io

import click

from cli.common import echo_json, json_option, pass_home
from replykit.errors import InputError
from replykit.textio import write_csv
from rubrics import assignments, calibration, disputes, drafts, reports, scoring, store, surveys
from rubrics import reviews as reviews_mod
from rubrics import rubric as rubric_mod
from rubrics.calendar import parse_calendar
from rubrics.periods import INTERVALS, parse_bounds, parse_period


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}" if value == int(value) else f"{value:.2f}"
    return str(value)


@click.group()
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


# --- reviews -------------------------------------------------------------------------------


def _comments(values: tuple[str, ...]) -> dict[str, str]:
    comments = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise InputError(f"expected KEY=TEXT, got {value!r}", "--comment")
        comments[key.strip()] = text
    return comments


def _target_options(f):
    f = click.option("--draft", "draft_id", type=int, help="Id of a draft to review.")(f)
    f = click.option("--message", "message_id", help="Message id of the agent reply.")(f)
    f = click.option("--conversation", "conversation_id", help="Conversation of the reply.")(f)
    return f


def _rating_options(f):
    f = click.option("--overall", default=None, help="Overall comment.")(f)
    f = click.option("--comment", "comments", multiple=True,
                     help="KEY=TEXT comment on one category (repeatable).")(f)
    return f


def _calendar(home):
    return parse_calendar(home.config.sections.get("calendar"))


@click.group()
def reviews():
    """Reviews of sent replies and drafts: score, assign, dispute, calibrate."""


@reviews.command("start")
@_target_options
@click.option("--reviewer", required=True)
@click.option("--rubric", "rubric_name", help="Stored rubric (default: support-reply).")
@click.option("--version", "rubric_version", type=int, help="Rubric version (default: newest).")
@click.option("--ratings", default="", help="KEY=RATING,... (optional now).")
@_rating_options
@pass_home
def reviews_start(home, conversation_id, message_id, draft_id, reviewer, rubric_name,
                  rubric_version, ratings, comments, overall):
    """Open an in-progress review of a reply or a draft."""
    db = home.db
    target = reviews_mod.resolve_target(db, conversation_id, message_id, draft_id)
    review_id = reviews_mod.start_review(
        db, target, reviewer, rubric_name, rubric_version, scoring.parse_ratings(ratings),
        _comments(comments), overall or "")
    click.echo(f"review {review_id} started")


@reviews.command("rate")
@click.argument("review_id", type=int)
@click.option("--reviewer", required=True)
@click.option("--ratings", default="", help="KEY=RATING,...")
@_rating_options
@pass_home
def reviews_rate(home, review_id, reviewer, ratings, comments, overall):
    """Add or change ratings and comments of an in-progress review."""
    reviews_mod.rate_review(home.db, review_id, reviewer, scoring.parse_ratings(ratings),
                            _comments(comments), overall)
    click.echo(f"review {review_id} updated")


def _echo_scored(review_id: int, result: dict) -> None:
    failed = " (auto-failed: a critical category below 50)" if result["auto_failed"] else ""
    click.echo(f"review {review_id} submitted: score {_fmt(result['score'])}{failed}")


@reviews.command("submit")
@click.argument("review_id", type=int)
@click.option("--reviewer", required=True)
@json_option
@pass_home
def reviews_submit(home, review_id, reviewer, as_json):
    """Score and submit an in-progress review (every category rated or na)."""
    result = reviews_mod.submit_review(home.db, review_id, reviewer)
    if as_json:
        echo_json(dict(result, id=review_id))
    else:
        _echo_scored(review_id, result)


@reviews.command("add")
@_target_options
@click.option("--reviewer", required=True)
@click.option("--rubric", "rubric_name", help="Stored rubric (default: support-reply).")
@click.option("--version", "rubric_version", type=int, help="Rubric version (default: newest).")
@click.option("--ratings", required=True, help="KEY=RATING,... for every category.")
@_rating_options
@json_option
@pass_home
def reviews_add(home, conversation_id, message_id, draft_id, reviewer, rubric_name,
                rubric_version, ratings, comments, overall, as_json):
    """Review a reply or draft in one step (start, rate, submit)."""
    db = home.db
    target = reviews_mod.resolve_target(db, conversation_id, message_id, draft_id)
    review_id = reviews_mod.add_review(
        db, target, reviewer, scoring.parse_ratings(ratings), rubric_name, rubric_version,
        _comments(comments), overall or "")
    review = reviews_mod.get_review(db, review_id)
    if as_json:
        echo_json(review)
    else:
        _echo_scored(review_id, review)


@reviews.command("list")
@click.option("--reviewer")
@click.option("--author")
@click.option("--state", type=click.Choice(["in_progress", "submitted"]))
@json_option
@pass_home
def reviews_list(home, reviewer, author, state, as_json):
    """Reviews, newest first."""
    items = reviews_mod.list_reviews(home.db, reviewer=reviewer, author=author, state=state)
    if as_json:
        echo_json(items)
        return
    for r in items:
        target = (f"draft {r['draft_id']}" if r["target_kind"] == "draft"
                  else f"{r['conversation_id']}/{r['message_id']}")
        click.echo(f"{r['id']:>4}  {r['state']:<11} {_fmt(r['score']):>6}  {target}  "
                   f"{r['author']} <- {r['reviewer']}  {r['rubric_name']} v{r['rubric_version']}")


@reviews.command("show")
@click.argument("review_id", type=int)
@json_option
@pass_home
def reviews_show(home, review_id, as_json):
    """One review with ratings, comments, disputes and history."""
    r = reviews_mod.get_review(home.db, review_id)
    if as_json:
        echo_json(r)
        return
    click.echo(f"review {r['id']} ({r['state']}) of {r['author']} by {r['reviewer']}, "
               f"{r['rubric_name']} v{r['rubric_version']}: score {_fmt(r['score'])}"
               + (" auto-failed" if r["auto_failed"] else ""))
    for key, c in r["categories"].items():
        rating = "-" if not c["rated"] else _fmt(c["rating"])
        comment = f"  {c['comment']}" if c["comment"] else ""
        click.echo(f"  {key:<14} {rating:>3}  {_fmt(c['score']):>6}{comment}")
    if r["overall_comment"]:
        click.echo(f"overall: {r['overall_comment']}")
    for event in r["history"]:
        click.echo(f"  {event['created_at']}  {event['event']} by {event['actor']}")


@reviews.command("assign")
@click.option("--per-agent", type=int, required=True, help="Replies to sample per agent.")
@click.option("--period", required=True,
              help="YYYY-MM, YYYY-Www, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD.")
@click.option("--reviewers", required=True, help="Comma-separated reviewer names.")
@click.option("--seed", help="Seed for a reproducible sample (default: random, printed).")
@json_option
@pass_home
def reviews_assign(home, per_agent, period, reviewers, seed, as_json):
    """Sample N unreviewed replies per agent from a period into reviewers' queues."""
    start, end = parse_period(period, _calendar(home))
    result = assignments.assign(home.db, start, end, period, per_agent, reviewers.split(","),
                                seed)
    if as_json:
        echo_json(result)
        return
    for a in result["assigned"]:
        click.echo(f"{a['conversation_id']}/{a['message_id']}  {a['author']} -> {a['reviewer']}")
    for s in result["skipped"]:
        click.echo(f"skipped {s['agent']}: {s['reason']}")
    click.echo(f"{len(result['assigned'])} assigned (seed {result['seed']})")


@reviews.command("queue")
@click.option("--reviewer", required=True)
@json_option
@pass_home
def reviews_queue(home, reviewer, as_json):
    """A reviewer's assigned replies and drafts awaiting review."""
    result = assignments.queue(home.db, reviewer)
    if as_json:
        echo_json(result)
        return
    for a in result["assignments"]:
        click.echo(f"reply {a['conversation_id']}/{a['message_id']} by {a['author']} "
                   f"({a['sent_at']})")
    for d in result["drafts"]:
        click.echo(f"draft {d['id']} by {d['author']} ({d['requested_at']})")
    if not result["assignments"] and not result["drafts"]:
        click.echo("queue empty")


@reviews.command("dispute")
@click.argument("review_id", type=int)
@click.option("--agent", required=True, help="The reviewed agent.")
@click.option("--reason", required=True)
@pass_home
def reviews_dispute(home, review_id, agent, reason):
    """Dispute a submitted review of your reply."""
    dispute_id = disputes.open_dispute(home.db, review_id, agent, reason)
    click.echo(f"dispute {dispute_id} opened on review {review_id}")


@reviews.command("resolve-dispute")
@click.argument("dispute_id", type=int)
@click.option("--lead", required=True)
@click.option("--uphold", "decision", flag_value="uphold", help="Keep the review as scored.")
@click.option("--rescore", "decision", flag_value="rescore",
              help="Reopen the review for its reviewer to re-score.")
@click.option("--comment", default="")
@pass_home
def reviews_resolve_dispute(home, dispute_id, lead, decision, comment):
    """Resolve a dispute: --uphold or --rescore."""
    if decision is None:
        raise InputError("choose --uphold or --rescore")
    result = disputes.resolve_dispute(home.db, dispute_id, lead, decision, comment)
    click.echo(f"dispute {dispute_id}: {result['state']} (review {result['review']})")


@reviews.command("disputes")
@click.option("--state", type=click.Choice(["open", "upheld", "rescore", "rescored"]))
@json_option
@pass_home
def reviews_disputes(home, state, as_json):
    """Disputes, newest first."""
    items = disputes.list_disputes(home.db, state)
    if as_json:
        echo_json(items)
        return
    for d in items:
        click.echo(f"{d['id']:>4}  {d['state']:<8} review {d['review_id']}  {d['agent']}: "
                   f"{d['reason']}")


@reviews.command("request-draft")
@click.option("--author", required=True)
@click.option("--body", help="The draft reply.")
@click.option("--body-file", type=click.File(encoding="utf-8"), help="Read the draft from a file.")
@click.option("--question", default="", help="The customer's question / context.")
@click.option("--reviewer", help="Address it to one reviewer.")
@click.option("--conversation", "conversation_id", help="Conversation the draft answers.")
@pass_home
def reviews_request_draft(home, author, body, body_file, question, reviewer, conversation_id):
    """Send a draft reply for review before sending it."""
    text = body_file.read() if body_file else (body or "")
    draft_id = drafts.request_draft(home.db, author, text, question, reviewer, conversation_id)
    click.echo(f"draft {draft_id} requested")


@reviews.command("return-draft")
@click.argument("draft_id", type=int)
@click.option("--reviewer", required=True)
@click.option("--comment", default="", help="What to change before sending.")
@pass_home
def reviews_return_draft(home, draft_id, reviewer, comment):
    """Return a reviewed draft to its author with comments."""
    drafts.return_draft(home.db, draft_id, reviewer, comment)
    click.echo(f"draft {draft_id} returned")


@reviews.command("drafts")
@click.option("--author")
@click.option("--state", type=click.Choice(["requested", "returned"]))
@json_option
@pass_home
def reviews_drafts(home, author, state, as_json):
    """Drafts, newest first."""
    items = drafts.list_drafts(home.db, author, state)
    if as_json:
        echo_json(items)
        return
    for d in items:
        click.echo(f"{d['id']:>4}  {d['state']:<9} {d['author']}  {d['question'][:50]}")


@reviews.command("draft")
@click.argument("draft_id", type=int)
@json_option
@pass_home
def reviews_draft(home, draft_id, as_json):
    """A draft's result as its author sees it: state, comments and scores."""
    d = drafts.draft_result(home.db, draft_id)
    if as_json:
        echo_json(d)
        return
    click.echo(f"draft {d['id']} by {d['author']}: {d['state']}"
               + (f" by {d['reviewer']}" if d["state"] == "returned" else ""))
    if d["return_comment"]:
        click.echo(f"comment: {d['return_comment']}")
    for r in d["reviews"]:
        click.echo(f"review {r['id']} by {r['reviewer']} ({r['state']}): score "
                   f"{_fmt(r['score'])}")


@reviews.command("calibration")
@click.option("--from", "start", help="YYYY-MM-DD or ISO datetime (default: 30 days ago).")
@click.option("--to", "end", help="YYYY-MM-DD (inclusive) or ISO datetime (default: now).")
@click.option("--rubric", "rubric_name")
@json_option
@pass_home
def reviews_calibration(home, start, end, rubric_name, as_json):
    """Agreement between reviewers who scored the same replies."""
    lo, hi = parse_bounds(start, end, _calendar(home))
    report = calibration.calibration_report(home.db, lo, hi, rubric_name)
    if as_json:
        echo_json(report)
        return
    if not report:
        click.echo("no reply was reviewed by two or more reviewers in this period")
    for entry in report:
        click.echo(f"{entry['rubric']} v{entry['rubric_version']}: {entry['replies']} replies, "
                   f"{entry['reviews']} reviews")
        for key, c in entry["categories"].items():
            click.echo(f"  {key:<14} alpha {_fmt(c['alpha']):>6}  agreement "
                       f"{_fmt(c['agreement_pct'])}%")
        for name, r in entry["reviewers"].items():
            click.echo(f"  {name:<14} mean deviation {_fmt(r['mean_deviation'])} "
                       f"(abs {_fmt(r['mean_abs_deviation'])}) over {r['reviews']} reviews")


# --- reports -------------------------------------------------------------------------------


@click.group()
def report():
    """Speed, quality, combined (quality x speed) and survey (NPS, CES, CSAT) reports."""


def _report_command(name: str, build):
    @report.command(name, help=build.__doc__.split(".")[0] + ".")
    @click.option("--from", "start", help="YYYY-MM-DD or ISO datetime (default: 30 days ago).")
    @click.option("--to", "end", help="YYYY-MM-DD (inclusive) or ISO datetime (default: now).")
    @click.option("--agent", help="Only this agent.")
    @click.option("--channel", help="Only this channel.")
    @click.option("--interval", type=click.Choice(INTERVALS), default="month",
                  show_default=True, help="Period buckets (by_period, trends).")
    @click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]),
                  default="table", show_default=True)
    @pass_home
    def command(home, start, end, agent, channel, interval, fmt):
        sections = home.config.sections
        lo, hi = parse_bounds(start, end, parse_calendar(sections.get("calendar")))
        data = build(home.db, sections, lo, hi, agent=agent, channel=channel, interval=interval)
        if fmt == "json":
            echo_json(data)
            return
        columns, rows = reports.flatten_groups(data)
        if fmt == "csv":
            out = io.StringIO()
            write_csv(out, columns, rows, lineterminator="\n")
            click.echo(out.getvalue(), nl=False)
            return
        click.echo(f"{name} report {data['from']} .. {data['to']} ({data['timezone']})")
        names = [r["group"] for r in rows]
        width = max(len(c) for c in columns)
        cells = [[_fmt(r.get(c)) for r in rows] for c in columns[1:]]
        sizes = [max(len(n), *(len(line[i]) for line in cells)) for i, n in enumerate(names)]
        heads = [n.rjust(s) for n, s in zip(names, sizes, strict=True)]
        click.echo(" ".join([" " * width, *heads]))
        for column, line in zip(columns[1:], cells, strict=True):
            cells_out = [v.rjust(s) for v, s in zip(line, sizes, strict=True)]
            click.echo(" ".join([column.ljust(width), *cells_out]))

    return command


report_speed = _report_command("speed", reports.speed_report)
report_quality = _report_command("quality", reports.quality_report)
report_combined = _report_command("combined", reports.combined_report)
report_surveys = _report_command("surveys", surveys.surveys_report)
