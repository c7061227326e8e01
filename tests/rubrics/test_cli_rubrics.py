"""`replykit rubrics ...` through click's CliRunner on a real home directory."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from cli.main import cli
from rubrics.rubric import default_rubric_path
from storage.db import connect

DEFAULT = str(default_rubric_path())


@pytest.fixture
def run(tmp_path):
    def invoke(*args):
        return CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), *args])

    return invoke


def test_validate_default(run):
    result = run("rubrics", "validate", DEFAULT)
    assert result.exit_code == 0, result.output
    assert result.output == (
        "OK: support-reply v1, 8 categories, total weight 100, pass threshold 80\n"
    )


def test_validate_bad_file(run, tmp_path):
    data = yaml.safe_load(default_rubric_path().read_text())
    data["categories"][0]["weight"] = 150
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    result = run("rubrics", "validate", str(path))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {path}: categories[0] (accurate), field weight: "
        "must be an integer 0-100, got 150\n"
    )


def test_score_json_issue_example(run):
    result = run("rubrics", "score", DEFAULT, "--ratings", "accurate=4,clear=3,empathy=na",
                 "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["score"] == 87.5
    assert data["auto_failed"] is False
    assert data["categories"]["clear"] == 66.67
    assert data["categories"]["empathy"] is None


def test_score_text(run):
    result = run("rubrics", "score", DEFAULT, "--ratings", "accurate=1,clear=4")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:4] == [
        "score: 0", "auto_failed: yes", "  accurate: 0", "  complete: n/a",
    ]


def test_score_rating_outside_scale(run):
    result = run("rubrics", "score", DEFAULT, "--ratings", "accurate=7")
    assert result.exit_code == 1
    assert result.output == (
        "Error: rating '7' for category 'accurate' is outside its scale 1-4\n"
    )


def test_import_versions_list_show(run, tmp_path):
    assert run("rubrics", "import", DEFAULT).output == "stored: support-reply v1\n"
    assert run("rubrics", "import", DEFAULT).output == "unchanged: support-reply v1\n"
    data = yaml.safe_load(default_rubric_path().read_text())
    data["pass_threshold"] = 75
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(data))
    assert run("rubrics", "import", str(edited)).output == "stored: support-reply v2\n"
    listed = json.loads(run("rubrics", "list", "--json").output)
    assert listed == [{"name": "support-reply", "latest_version": 2, "versions": [1, 2],
                       "pass_threshold": 75, "categories": 8}]
    v1 = json.loads(run("rubrics", "show", "support-reply", "--version", "1", "--json").output)
    assert (v1["version"], v1["pass_threshold"]) == (1, 80)
    shown = run("rubrics", "show", "support-reply")
    assert shown.output.splitlines()[1].split() == [
        "accurate", "w25", "1-4", "Accurate", "and", "correct", "[critical]"
    ]
    missing = run("rubrics", "show", "support-reply", "--version", "9")
    assert (missing.exit_code, missing.output) == (
        1, "Error: rubric 'support-reply' has no version 9\n"
    )


def test_import_invalid_writes_nothing(run, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\npass_threshold: 50\ncategories: []\n")
    result = run("rubrics", "import", str(path))
    assert result.exit_code == 1
    assert "field categories: must be a non-empty list" in result.output
    assert connect(tmp_path / "home" / "replykit.db")["rubric_versions"].count == 0
