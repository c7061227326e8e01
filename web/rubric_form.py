"""The rubric editor's form: one row per category (key, label, description, weight, scale
points, critical, N/A allowed; rows added by rubric_form.js and removed with a checkbox),
turned into the same plain definition as the YAML box, which rubrics.rubric.parse_rubric
then validates (its errors name the category and the field)."""

from __future__ import annotations

import re

from werkzeug.datastructures import MultiDict


def rows_of(definition: dict) -> list[dict]:
    """The form's rows for a stored definition's categories (`points`: one 'N: label' a line,
    or 'binary')."""
    rows = []
    for c in definition["categories"]:
        scale = c["scale"]
        points = "binary" if scale == "binary" or scale.get("type") == "binary" else "\n".join(
            f"{p}: {label}" for p, label in scale["points"].items())
        rows.append({"key": c["key"], "label": c["label"], "description": c["description"],
                     "weight": c["weight"], "points": points,
                     "critical": bool(c.get("critical")), "na_allowed": bool(c.get("na_allowed"))})
    return rows


def posted_rows(form: MultiDict) -> list[dict]:
    """The rows of a posted form, in their order, without those marked for removal."""
    rows = []
    for index in form.getlist("category"):
        field = f"cat-{index}-"
        if form.get(field + "remove"):
            continue
        rows.append({"key": form.get(field + "key", "").strip(),
                     "label": form.get(field + "label", ""),
                     "description": form.get(field + "description", ""),
                     "weight": form.get(field + "weight", "").strip(),
                     "points": form.get(field + "points", ""),
                     "critical": bool(form.get(field + "critical")),
                     "na_allowed": bool(form.get(field + "na_allowed"))})
    return rows


def definition_of(form: MultiDict, name: str) -> dict:
    """The rubric definition (as parsed YAML would give it) of a posted form; values that
    are not numbers stay text, for parse_rubric to name."""
    categories = []
    for row in posted_rows(form):
        points = row["points"].strip()
        scale = "binary" if points == "binary" else {"type": "ordinal", "points": {
            _number(point.strip()): label.strip()
            for point, _, label in (line.partition(":") for line in points.splitlines()
                                    if line.strip())}}
        categories.append({"key": row["key"], "label": row["label"],
                           "description": row["description"], "weight": _number(row["weight"]),
                           "critical": row["critical"], "na_allowed": row["na_allowed"],
                           "scale": scale})
    return {"name": name, "pass_threshold": _number(form.get("pass_threshold", "").strip()),
            "description": form.get("description", ""), "categories": categories}


def _number(text: str):
    """An int or float for a number written in the form, else the text as it is."""
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    return text
