"""Length caps for the text of every write request: each string in a JSON body or a form
field is checked before any view runs, so no view spends time (or holds the write lock) on
text longer than it could ever store. docs/bad-input.md lists the caps."""

from __future__ import annotations

from flask import Flask, request

from replykit.errors import InputError
from rubrics.rubric import MAX_FILE_BYTES
from suggest.suggester import MAX_QUERY_CHARS

SHORT = 2_000
LONG = 20_000
# fields that are names, ids, choices or single lines
SHORT_FIELDS = frozenset(
    "a action b channel conversation_id csrf_token decision event folder id ids keep kind "
    "language merge mode name next outcome password q reviewer state status suggestion_id "
    "suggestion_kind tag tags team teams title username version".split()
)
FIELD_LIMITS = {
    "query": MAX_QUERY_CHARS,  # what the suggester accepts
    "questions": 5 * LONG,  # the library form: several example questions, one per line
    "definition": MAX_FILE_BYTES,  # the rubric editor: a whole rubric YAML file
}


class TextTooLong(InputError):
    """A text field of a request is longer than its cap."""

    status = 413


def limit_for(field: str) -> int:
    """The most characters a request field may hold (by its top-level name)."""
    if field in FIELD_LIMITS:
        return FIELD_LIMITS[field]
    return SHORT if field in SHORT_FIELDS or field.startswith("rating-") else LONG


def check_text_fields(data) -> None:
    """TextTooLong naming the first field (and where inside it) whose text, or name, is over
    its cap. `data` is a decoded JSON body or a form as a dict; walked without recursion, so
    deep nesting costs no stack. A nested text has the cap of its top-level field."""
    if not isinstance(data, dict):
        return
    stack = [(None, None, data)]
    while stack:
        field, path, value = stack.pop()
        if isinstance(value, str):
            if len(value) > limit_for(field):
                raise TextTooLong(
                    f"is {len(value):,} characters long; the limit is {limit_for(field):,}",
                    f"field {path}",
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                if len(str(key)) > SHORT:
                    raise TextTooLong(f"has a name of {len(str(key)):,} characters; the limit "
                                      f"is {SHORT:,}", f"field {path}" if path else "request body")
                stack.append((field or key, f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            stack.extend((field, f"{path}[{i}]", item) for i, item in enumerate(value))


def init_app(app: Flask) -> None:
    """Check every write request's JSON body and form fields against the caps."""

    @app.before_request
    def cap_text_fields():
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        if getattr(app.view_functions.get(request.endpoint), "signed_requests", False):
            return  # a webhook: its size is capped, and its body read only once it is signed
        if request.is_json:
            try:
                check_text_fields(request.get_json(silent=True))
            except RecursionError:
                return  # too deeply nested: the view's json_body() says so
        form = request.form.to_dict(flat=False)
        check_text_fields({k: v[0] if len(v) == 1 else v for k, v in form.items()})
