"""The OpenAPI document matches the app: every /api route and method is documented, every
documented operation exists, and answers of the real app fit the documented shapes."""

from __future__ import annotations

import re

from web.openapi import DOCUMENT


def _app_operations(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        found |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_every_api_route_is_documented_and_nothing_else(app, client):
    served = client.get("/api/openapi.json").get_json()
    assert served == DOCUMENT and served["openapi"].startswith("3.")
    documented = {(p, m) for p, ops in DOCUMENT["paths"].items() for m in ops}
    assert documented == _app_operations(app)


def test_path_parameters_are_declared(app):
    for path, ops in DOCUMENT["paths"].items():
        names = set(re.findall(r"{([a-z_]+)}", path))
        for op in ops.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path


def _check(schema: dict, value, where: str = "") -> None:
    """A small structural check of `value` against the subset of JSON Schema used here."""
    if "$ref" in schema:
        schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "enum" in schema:
        assert value in schema["enum"], where
        return
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    python = {"object": dict, "array": list, "string": str, "number": (int, float),
              "integer": int, "boolean": bool, "null": type(None)}
    if kinds:
        assert isinstance(value, tuple(python[k] for k in kinds)), (where, value)
    if isinstance(value, dict):
        for key in schema.get("required", []):
            assert key in value, f"{where}.{key} missing"
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                _check(sub, value[key], f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _check(schema["items"], item, f"{where}[{i}]")


def test_real_answers_fit_the_document(as_user):
    client, token = as_user("lee")
    headers = {"X-CSRFToken": token}
    paths = DOCUMENT["paths"]
    answer = client.post("/api/suggest", json={"query": "refund please"}, headers=headers)
    _check(paths["/api/suggest"]["post"]["responses"]["200"]["content"]["application/json"][
        "schema"], answer.get_json(), "suggest")
    error = client.post("/api/suggest", json={"query": ""}, headers=headers)
    _check({"$ref": "#/components/schemas/Error"}, error.get_json(), "error")
    for path in ("/api/rubrics", "/api/reviews", "/api/reviews/calibration"):
        response = client.get(path)
        schema = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        _check(schema, response.get_json(), path)
