"""The code passes the linter configured in pyproject.toml (pyflakes, pycodestyle, bugbear,
isort, pyupgrade)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_passes():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it is in requirements.txt)")
    result = subprocess.run(
        [ruff, "check", "--output-format", "concise", "cli", "connectors", "replykit", "storage",
         "index", "suggest", "web", "rubrics", "bench", "tests"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
