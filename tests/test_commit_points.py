"""One commit point: every write commits through `extensions.transaction()`, nowhere else.

Read from the source with ast, so that a commit in a comment or a docstring does not count
and one in any expression does.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "booking"

#: (module, function) → why that function may commit itself. The transaction helper is the
#: one commit point; the outbox's one-row-at-a-time loops (mailer, reminders, survey
#: requests) each run one `with transaction():` per row, so they need no entry here.
ALLOWED = {
    ("booking/extensions.py", "transaction"): "the commit point itself",
}


def commits(source: str, filename: str = "<source>") -> list[tuple[int, str | None]]:
    """(line, enclosing function) of every `….commit()` call in the source."""
    found = []

    def visit(node: ast.AST, function: str | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "commit"):
            found.append((node.lineno, function))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(source, filename=filename), None)
    return found


def test_the_finder_sees_a_commit_in_code_but_not_in_words():
    source = '''
def save(user):
    """Calls db.session.commit() at the end."""  # a docstring: not a call
    # db.session.commit() in a comment: not a call either
    db.session.commit()
'''
    assert commits(source) == [(5, "save")]


def test_nothing_commits_outside_the_transaction_helper():
    stray = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE.parent).as_posix()
        for line, function in commits(path.read_text(), module):
            if (module, function) not in ALLOWED:
                stray.append(f"{module}:{line} in {function or 'the module'}")
    assert stray == [], "commit outside extensions.transaction(): " + ", ".join(stray)
