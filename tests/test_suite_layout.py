"""The suite's own layout: tests mirror the packages, and no test module leans on another."""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
#: Where test modules live: one folder per package of booking/, end-to-end tests, and the top
#: level for what concerns the whole app (settings, CLI, migrations, the import contract).
FOLDERS = {"domain", "services", "web", "e2e", "."}


def modules_of_tests() -> list[Path]:
    return sorted(TESTS.rglob("test_*.py"))


def imported_modules(path: Path) -> set[str]:
    """Top-level names of the modules a file imports, wherever in the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_no_test_module_imports_conftest_or_another_test_module():
    leaning = {
        str(path.relative_to(TESTS)): sorted(name for name in imported_modules(path)
                                            if name == "conftest" or name.startswith("test_"))
        for path in [*modules_of_tests(), TESTS / "support.py", TESTS / "conftest.py"]
    }
    assert {path: names for path, names in leaning.items() if names} == {}


def test_test_modules_sit_in_the_folder_of_what_they_test():
    folders = {str(path.parent.relative_to(TESTS)) for path in modules_of_tests()}
    assert folders <= FOLDERS, folders - FOLDERS
    assert list(TESTS.rglob("conftest.py")) == [TESTS / "conftest.py"]
