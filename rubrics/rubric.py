"""Rubric definitions: load a rubric YAML file (or a stored definition) and validate it.

A rubric has a name, a version, a pass threshold (0-100) and categories. Each category has a
key, label, description, integer weight 0-100, a scale (`binary`, or an ordinal scale of
consecutive integer points with labels), `na_allowed` and `critical` flags. Every problem is
reported as an InputError naming the file, the category and the field."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from replykit.errors import InputError
from replykit.textio import check_text

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
RUBRIC_FIELDS = {"name", "version", "pass_threshold", "description", "categories"}
CATEGORY_FIELDS = {"key", "label", "description", "weight", "scale", "na_allowed", "critical"}
BINARY_LABELS = {0: "no", 1: "yes"}
MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Scale:
    """`binary` (0 = no, 1 = yes) or `ordinal` (consecutive integer points, each labelled)."""

    kind: str
    points: dict[int, str]

    @property
    def min(self) -> int:
        return min(self.points)

    @property
    def max(self) -> int:
        return max(self.points)

    def to_dict(self) -> dict:
        if self.kind == "binary":
            return {"type": "binary"}
        return {"type": "ordinal", "points": dict(self.points)}


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    description: str
    weight: int
    scale: Scale
    na_allowed: bool = False
    critical: bool = False

    def to_dict(self) -> dict:
        data = asdict(self)
        data["scale"] = self.scale.to_dict()
        return data


@dataclass(frozen=True)
class Rubric:
    name: str
    version: int
    pass_threshold: float
    categories: tuple[Category, ...]
    description: str = ""

    def category(self, key: str) -> Category:
        """The category `key`, or an InputError listing the known keys."""
        for cat in self.categories:
            if cat.key == key:
                return cat
        known = ", ".join(c.key for c in self.categories)
        raise InputError(f"unknown rubric category {key!r} (known: {known})")

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.categories]

    def to_dict(self) -> dict:
        """The definition as plain data (what is stored and what `parse_rubric` reads back)."""
        return {
            "name": self.name,
            "version": self.version,
            "pass_threshold": self.pass_threshold,
            "description": self.description,
            "categories": [c.to_dict() for c in self.categories],
        }


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_scale(raw, where: str) -> Scale:
    if raw == "binary" or (isinstance(raw, dict) and raw.get("type") == "binary"):
        if isinstance(raw, dict) and set(raw) - {"type"}:
            raise InputError("a binary scale takes no other fields", where)
        return Scale("binary", dict(BINARY_LABELS))
    if not isinstance(raw, dict) or raw.get("type", "ordinal") != "ordinal":
        raise InputError(
            "must be 'binary' or a mapping {type: ordinal, points: {1: label, ...}}", where
        )
    unknown = set(raw) - {"type", "points"}
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}", where)
    points = raw.get("points")
    if not isinstance(points, dict) or len(points) < 2:
        raise InputError("an ordinal scale needs 'points' with at least two labelled points", where)
    parsed: dict[int, str] = {}
    for point, label in points.items():
        if isinstance(point, str) and re.fullmatch(r"-?\d+", point.strip()):
            point = int(point)  # stored definitions are JSON, whose keys are strings
        if not _is_int(point):
            raise InputError(f"point {point!r} is not an integer", f"{where}.points")
        if not isinstance(label, str) or not label.strip():
            raise InputError(f"point {point} needs a non-empty label", f"{where}.points")
        parsed[point] = label.strip()
    ordered = sorted(parsed)
    if ordered[-1] - ordered[0] + 1 != len(ordered):
        raise InputError(
            f"points must be consecutive integers, got {ordered}", f"{where}.points"
        )
    return Scale("ordinal", {p: parsed[p] for p in ordered})


def _parse_category(raw, index: int, where: str) -> Category:
    here = f"{where}categories[{index}]"
    if not isinstance(raw, dict):
        raise InputError("must be a mapping with key, label, weight, scale...", here)
    key = raw.get("key")
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise InputError(
            "must be lower-case letters, digits and _ starting with a letter", f"{here}, field key"
        )
    here = f"{here} ({key})"
    unknown = set(raw) - CATEGORY_FIELDS
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}", here)
    for name in ("label", "description"):
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InputError("must be a non-empty string", f"{here}, field {name}")
    weight = raw.get("weight")
    if not _is_int(weight) or not 0 <= weight <= 100:
        raise InputError(f"must be an integer 0-100, got {weight!r}", f"{here}, field weight")
    if "scale" not in raw:
        raise InputError("is required", f"{here}, field scale")
    scale = _parse_scale(raw["scale"], f"{here}, field scale")
    flags = {}
    for name in ("na_allowed", "critical"):
        value = raw.get(name, False)
        if not isinstance(value, bool):
            raise InputError(f"must be true or false, got {value!r}", f"{here}, field {name}")
        flags[name] = value
    return Category(
        key=key,
        label=raw["label"].strip(),
        description=raw["description"].strip(),
        weight=weight,
        scale=scale,
        **flags,
    )


def parse_rubric(data, source: str = "") -> Rubric:
    """Validate plain data (parsed YAML or a stored definition) into a Rubric.
    `source` (a file name) prefixes every error's location."""
    where = f"{source}: " if source else ""
    if not isinstance(data, dict):
        raise InputError("a rubric must be a mapping with name, version, categories...", source)
    unknown = set(data) - RUBRIC_FIELDS
    if unknown:
        raise InputError(
            f"unknown field(s) {', '.join(sorted(map(str, unknown)))}", source or "rubric"
        )
    name = data.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InputError(
            "must be lower-case letters, digits, '.', '-' or '_' (at most 64)", f"{where}field name"
        )
    version = data.get("version", 1)
    if not _is_int(version) or version < 1:
        raise InputError(f"must be a positive integer, got {version!r}", f"{where}field version")
    threshold = data.get("pass_threshold")
    if not isinstance(threshold, int | float) or isinstance(threshold, bool) or not (
        0 <= threshold <= 100
    ):
        raise InputError(
            f"must be a number 0-100, got {threshold!r}", f"{where}field pass_threshold"
        )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise InputError("must be a string", f"{where}field description")
    raw_categories = data.get("categories")
    if not isinstance(raw_categories, list) or not raw_categories:
        raise InputError("must be a non-empty list", f"{where}field categories")
    categories = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_categories):
        category = _parse_category(raw, index, where)
        if category.key in seen:
            raise InputError(
                f"duplicate category key {category.key!r}", f"{where}categories[{index}]"
            )
        seen.add(category.key)
        categories.append(category)
    if sum(c.weight for c in categories) == 0:
        raise InputError("the weights of all categories add up to 0", f"{where}field categories")
    rubric = Rubric(
        name=name,
        version=version,
        pass_threshold=threshold,
        categories=tuple(categories),
        description=description.strip(),
    )
    check_text(rubric.to_dict(), source or "rubric")
    return rubric


def parse_yaml(text: str, source: str):
    """YAML text as plain data; InputError for invalid or too deeply nested YAML."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", source) from exc
    except RecursionError as exc:
        raise InputError("not valid YAML: nested too deeply", source) from exc
    except ValueError as exc:  # a date that does not exist, e.g. 2026-02-30
        raise InputError(f"not valid YAML: {exc}", source) from exc


def load_rubric(path: str | Path) -> Rubric:
    """Read and validate a rubric YAML file."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"is larger than {MAX_FILE_BYTES // 1024} KB", str(path))
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read rubric: {exc}", str(path)) from exc
    return parse_rubric(parse_yaml(text, str(path)), str(path))


DEFAULTS_DIR = Path(__file__).parent / "defaults"


def default_rubric_path() -> Path:
    """The shipped support-reply rubric."""
    return DEFAULTS_DIR / "support-reply.yaml"
