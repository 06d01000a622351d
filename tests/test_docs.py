"""Every command is documented: a help text with an ``Example:`` line, and a docs page
that names it."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main

from etl.cli import app

DOCS = Path(__file__).resolve().parent.parent / "docs"


def commands() -> list[tuple[str, object]]:
    root = typer.main.get_command(app)
    found: list[tuple[str, object]] = []

    def walk(prefix: str, group: object) -> None:
        for name, cmd in getattr(group, "commands", {}).items():
            if getattr(cmd, "commands", None):
                walk(f"{prefix} {name}", cmd)
            else:
                found.append((f"{prefix} {name}".strip(), cmd))

    walk("", root)
    return found


@pytest.mark.parametrize(("name", "command"), commands(), ids=[n for n, _ in commands()])
def test_every_command_has_an_example_in_its_help(name: str, command: object) -> None:
    assert "Example:" in (getattr(command, "help", None) or ""), f"lgetl {name}"


@pytest.mark.parametrize("name", [n for n, _ in commands() if n != "version"])
def test_every_command_is_named_in_the_docs(name: str) -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))
    assert f"lgetl {name}" in text, f"lgetl {name} is not in docs/"
