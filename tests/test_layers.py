"""The import contract: domain → nothing above it; services → domain; web → both.

Read from the source with ast, so that an import inside a function counts as much as one at the
top of a module.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "booking"

#: What each layer may import from inside `booking` (besides itself).
ALLOWED = {
    "domain": {"booking.domain", "booking.extensions"},
    "services": {"booking.domain", "booking.services", "booking.extensions", "booking.config"},
}
#: Names of flask that tie code to a request; only the web layer uses them.
REQUEST_BOUND = {"request", "session", "g", "abort", "redirect", "url_for", "flash",
                 "make_response", "Response", "render_template_string"}
#: What the domain may not touch at all: the app and the request.
APP_BOUND = {"current_app", "has_app_context", "has_request_context"}


def modules(layer: str, package: Path = PACKAGE):
    return sorted((package / layer).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.with_suffix("").parts
    parts = parts[len(parts) - 1 - parts[::-1].index("booking"):]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path):
    """(imported module, names) for every import statement in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, set()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names = {alias.name for alias in node.names}
            if module == "booking":
                for name in names:
                    yield f"booking.{name}", set()
            else:
                yield module, names


def crossings(layer: str, package: Path = PACKAGE):
    allowed = ALLOWED[layer]
    for path in modules(layer, package):
        for module, names in imports(path):
            if module.startswith("booking") and not any(
                    module == ok or module.startswith(ok + ".") for ok in allowed):
                yield f"{module_name(path)} imports {module}"
            if module == "flask" and names & REQUEST_BOUND:
                yield f"{module_name(path)} imports flask.{sorted(names & REQUEST_BOUND)}"
            if layer == "domain" and module == "flask" and names & APP_BOUND:
                yield f"{module_name(path)} imports flask.{sorted(names & APP_BOUND)}"


@pytest.mark.parametrize("layer", ["domain", "services"])
def test_layer_imports_only_what_lies_below_it(layer):
    assert modules(layer), f"booking/{layer}/ holds no module"
    assert list(crossings(layer)) == []


def test_only_the_web_layer_reads_the_request():
    outside = [path for path in PACKAGE.rglob("*.py")
               if "web" not in path.relative_to(PACKAGE).parts
               and any(module == "flask" and "request" in names
                       for module, names in imports(path))]
    assert outside == []


def test_the_contract_catches_a_crossing(tmp_path):
    """The check itself fails on a domain module that reaches up into the services."""
    fake = tmp_path / "booking"
    (fake / "domain").mkdir(parents=True)
    (fake / "domain" / "leaky.py").write_text(
        "from booking.services import reservations\nfrom flask import request, current_app\n")
    found = list(crossings("domain", fake))
    assert "booking.domain.leaky imports booking.services" in found
    assert any("request" in line for line in found)
    assert any("current_app" in line for line in found)


def test_the_readme_layout_names_every_module():
    """README's layout picture (the same as STYLE.md's) stays the picture of the code."""
    readme = (PACKAGE.parent / "README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    layout = layout[:layout.index("\n## ", 3)]
    missing = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
               if "migrations" not in path.parts and path.name != "__init__.py"
               and path.name not in layout]
    assert missing == []
    for package in ("domain/", "services/", "queries/", "outbox/", "web/"):
        assert package in layout
