"""The layers stay layered: SQL lives only in `storage/`, storage calls up into no domain
package, and imports point one way (index <- suggest/rubrics <- connectors <- web <- cli).
Found with `ast` (string constants, subscripts, calls, import statements), never by grepping
the text, so a comment or docstring that mentions SQL is not a finding and a wrapped string
still is."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOMAIN_PACKAGES = ("replykit", "suggest", "index", "rubrics", "connectors", "web", "cli")

# A ratchet: modules allowed to hold SQL while it moves into storage/ (issue 14). It is empty
# now that every module's SQL has moved; the test fails if a listed module is already clean,
# so the set can only shrink. Never add a module to it.
ALLOWED: set[str] = set()

# An SQL statement at the start of a string (after blanks or an opening parenthesis).
# Upper case only: SQL here is written in capitals, and prose ("Update the reply") is not.
SQL_START = re.compile(
    r"^[\s(]*(SELECT|INSERT|UPDATE|DELETE|REPLACE|CREATE|ALTER|DROP|PRAGMA|WITH|BEGIN|COMMIT|"
    r"ROLLBACK|SAVEPOINT|RELEASE|VACUUM|ATTACH|DETACH)\b"
)
# Calls that run SQL on a sqlite3 connection or a sqlite_utils.Database, whatever the name
# of the object they are called on.
SQL_METHODS = {"execute", "executemany", "executescript", "query"}


def _modules(*packages: str) -> list[tuple[str, Path]]:
    found = []
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.append((".".join(parts), path))
    return found


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the constant nodes that are docstrings (prose, not SQL)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                ids.add(id(body[0].value))
    return ids


def _is_database(node: ast.expr) -> bool:
    """`db`, `home.db`, `self.db`, `g.database`...: an expression naming a database."""
    name = node.id if isinstance(node, ast.Name) else (
        node.attr if isinstance(node, ast.Attribute) else "")
    return name == "db" or name.endswith("_db") or name == "database"


def sql_findings(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, what) for each SQL string, table access and SQL call in `tree`."""
    prose = _docstrings(tree)  # and the pieces of f-strings, judged as one string below
    prose.update(id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
                 for part in node.values)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in prose and SQL_START.match(node.value):
                found.append((node.lineno, f"SQL string {node.value.strip()[:40]!r}"))
        elif isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and SQL_START.match(first.value):
                found.append((node.lineno, f"SQL f-string {first.value.strip()[:40]!r}"))
        elif isinstance(node, ast.Subscript) and _is_database(node.value):
            found.append((node.lineno, "table access db[...]"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method in SQL_METHODS or (method == "table" and _is_database(node.func.value)):
                found.append((node.lineno, f".{method}(...) call"))
    return sorted(found)


def _sql_by_module() -> dict[str, list[str]]:
    by_module = {}
    for module, path in _modules(*DOMAIN_PACKAGES):
        findings = sql_findings(_parse(path))
        if findings:
            rel = path.relative_to(ROOT)
            by_module[module] = [f"{rel}:{line}: {what}" for line, what in findings]
    return by_module


def test_no_sql_outside_storage():
    by_module = _sql_by_module()
    outside = [line for module in sorted(set(by_module) - ALLOWED) for line in by_module[module]]
    assert outside == [], (
        "SQL outside storage/ (move it into a storage module's query functions):\n"
        + "\n".join(outside)
    )
    clean = sorted(ALLOWED - set(by_module))
    assert clean == [], f"no SQL left in {clean}: remove them from ALLOWED in {__file__}"


def test_sql_detector_sees_strings_tables_and_calls():
    tree = ast.parse(
        '"""Update the reply: SELECT is prose here."""\n'
        'a = ("  SELECT id "\n     "FROM t")\n'
        'b = f"DELETE FROM {table} WHERE id = ?"\n'
        'home.db["saved_replies"].insert({})\n'
        'db.table("t")\n'
        'conn.execute(sql)\n'
        'label = "Update the reply"\n'
    )
    assert [line for line, _ in sql_findings(tree)] == [2, 4, 5, 6, 7]


def _imports(tree: ast.Module) -> list[tuple[int, str, str | None]]:
    """(line, imported name, enclosing function or None) for each import in `tree`;
    `from a import b` gives `a.b` (b may be a module or a name in a: both start with `a.`)."""
    found = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name, function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                assert child.level == 0, f"relative import at line {child.lineno}"
                found.extend((child.lineno, f"{child.module}.{alias.name}", function)
                             for alias in child.names)
            visit(child, function)

    visit(tree, None)
    return found


def _within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_storage_imports_no_domain_package():
    # The one call up: a data migration that templates past replies with suggest.privacy's
    # rules (storage/migrations.py says why).
    exceptions = {("storage.migrations", "_m005_templated_titles", "suggest.conversations."
                   "m005_templated_titles")}
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: imports {name}"
        for module, path in _modules("storage")
        for line, name, function in _imports(_parse(path))
        if _within(name, *DOMAIN_PACKAGES)
        and not _within(name, "replykit.errors")
        and (module, function, name) not in exceptions
    ]
    assert wrong == []


def _is_cli(name: str) -> bool:
    return _within(name, "cli")


def test_lower_layers_do_not_import_upper():
    """index imports no domain package; suggest and rubrics import no connectors or web;
    connectors import no web; rubrics never imports index; and nothing imports the CLI but
    the CLI itself, its entry point (pyproject.toml) and the tests."""
    rules = {  # importing package -> packages it must not import
        "index": ("suggest", "rubrics", "connectors", "web"),
        "suggest": ("connectors", "web"),
        "rubrics": ("connectors", "web", "index"),
        "connectors": ("web",),
        "storage": ("connectors", "web"),
        "replykit": ("connectors", "web"),
    }
    wrong = []
    for package in ("replykit", "storage", "suggest", "index", "rubrics", "connectors", "web",
                    "bench"):
        for module, path in _modules(package):
            if _is_cli(module):
                continue
            for line, name, _function in _imports(_parse(path)):
                upper = rules.get(package, ())
                if _within(name, *upper) or _is_cli(name):
                    wrong.append(f"{path.relative_to(ROOT)}:{line}: imports {name}")
    assert wrong == []

