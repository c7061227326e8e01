"""The OpenAPI document of the JSON API."""

from __future__ import annotations

from flask import Blueprint, jsonify

from web.security import public

bp = Blueprint("openapi", __name__, url_prefix="/api")


@bp.get("/openapi.json")
@public
def document():
    return jsonify({"openapi": "3.1.0"})
