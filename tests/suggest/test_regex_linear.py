"""Every regular expression that reads user text runs in linear time (issue 11, denial of
service): imports run them under the write lock, so one quadratic pattern on a 100k-character
field holds every other writer for seconds. The patterns are found, not listed: every compiled
pattern a module of suggest/, index/, rubrics/, replykit/, storage/ or web/ holds, and every
`re.*` call there with a literal pattern. Each pattern, and the templating and cleaning
functions as a whole, is timed on adversarial inputs of length n and 8n; the time may grow
as much as a linear baseline measured on the same inputs grows (about 8x), with a 3x margin,
where a quadratic pattern grows 64x."""

from __future__ import annotations

import ast
import functools
import importlib
import pkgutil
import re
import time
from pathlib import Path

import pytest

from suggest import privacy
from suggest.cleaning import clean_body

PACKAGES = ("suggest", "index", "rubrics", "replykit", "storage", "web")
N, GROWTH = 8_000, 8
# pieces repeated to length n, then "@!": long runs of one class, many starts that cannot
# finish, and the separators the e-mail, number, tag and placeholder patterns accept
PIECES = (
    "a", "a@", "1 ", "1-", "#A", "<br", "<script", "<Relationship ", "{{a|", "On ", ". ", "ก1"
)
_PER_POSITION = re.compile(r"(?s:.)")


def _patterns() -> list[tuple[str, re.Pattern]]:
    """Every compiled pattern held by a module of the packages, by qualified name."""
    found = []
    for package in PACKAGES:
        path = importlib.import_module(package).__path__
        for info in pkgutil.iter_modules(path, f"{package}."):
            module = importlib.import_module(info.name)
            found += [
                (f"{info.name}.{attr}", value)
                for attr, value in sorted(vars(module).items())
                if isinstance(value, re.Pattern)
            ]
    known = {pattern.pattern for _, pattern in found}
    return found + [(w, p) for w, p in _inline_patterns() if p.pattern not in known]


def _inline_patterns() -> list[tuple[str, re.Pattern]]:
    """Patterns written inline (`re.sub(r"...", ...)`, `re.compile` in a function): every
    call of the `re` module in the packages' source whose pattern is a string literal."""
    found = []
    root = Path(__file__).resolve().parents[2]
    for package in PACKAGES:
        for path in sorted((root / package).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "re"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str | bytes)
                ):
                    where = f"{package}/{path.name}:{node.lineno}"
                    found.append((where, re.compile(node.args[0].value)))
    return found


def _best(run, text: str) -> float:
    times = []
    for _ in range(2):
        start = time.perf_counter()
        run(text)
        times.append(time.perf_counter() - start)
    return min(times)


def _scan(pattern: re.Pattern):
    def run(text: str) -> None:
        for _ in pattern.finditer(text.encode() if isinstance(pattern.pattern, bytes) else text):
            pass

    return run


def _inputs(piece: str) -> tuple[str, str]:
    return (piece * N)[:N] + "@!", (piece * N * GROWTH)[: N * GROWTH] + "@!"


@functools.cache
def _baseline(piece: str) -> tuple[float, float]:
    """(how much a linear scan grows from the small to the large input, a time margin)."""
    small, large = _inputs(piece)
    growth = _best(_scan(_PER_POSITION), large) / _best(_scan(_PER_POSITION), small)
    return growth, 50 * _best(lambda t: t.count("\x00"), large) + 2e-4


def _assert_linear(run, label: str) -> None:
    """`run` on each adversarial input at n and 8n grows no more than 3x what a linear
    baseline grows on the same inputs (a regex matching at every position: the same per-match
    costs and memory effects), plus a margin of 50 `str.count`s of the large input; a
    quadratic run grows 64x every time, so a failed timing is measured twice more."""
    for piece in PIECES:
        small, large = _inputs(piece)
        growth, margin = _baseline(piece)
        for _ in range(3):  # a busy machine can stall one timing: measure again before failing
            t_small, t_large = _best(run, small), _best(run, large)
            if t_large <= 3 * growth * t_small + margin:
                break
        assert t_large <= 3 * growth * t_small + margin, (
            f"{label} on {piece!r}*n: {t_small * 1e3:.2f} ms at n={N}, "
            f"{t_large * 1e3:.2f} ms at {GROWTH}n (a linear scan grew {growth:.1f}x)"
        )


def test_the_modules_hold_patterns():
    names = {name for name, _ in _patterns()}
    assert {"suggest.privacy.EMAIL", "suggest.cleaning._BLOCK_OPEN"} <= names


@pytest.mark.parametrize("name,pattern", _patterns(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_pattern_is_linear(name, pattern):
    _assert_linear(_scan(pattern), name)


def test_templating_is_linear():
    known = privacy.known_details(
        {"customer_name": "Dr. Ana Maria Lima", "customer_email": "ana@example.com", "id": "C1"},
        {"Bob Stone"},
    )
    _assert_linear(lambda text: privacy.template(text, known), "privacy.template")


def test_templating_with_a_huge_author_name_is_linear():
    """An author field of thousands of tokens (up to 100k characters) must not make the
    names to look for, or the search for them, grow faster than the input."""

    def run(text: str) -> None:
        name = text[: len(text) // 2]  # found again and again in a periodic text
        privacy.template(text, privacy.known_details({"customer_name": name}, {name}, {name}))

    _assert_linear(run, "privacy.known_details + template")


def test_cleaning_is_linear():
    _assert_linear(clean_body, "cleaning.clean_body")
