"""Command modules imported for their side effect of registering commands on `cli`."""

from replykit import cli_privacy, cli_rubrics, cli_suggest, cli_web  # noqa: F401
