"""docs/configuration.md lists every setting of app/config/ with its real default."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from app.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def documented() -> dict[str, str]:
    """Variable -> its default cell, from the one table of the page."""
    rows: dict[str, str] = {}
    for line in DOC.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and (name := re.fullmatch(r"`([A-Z0-9_]+)`", cells[1])):
            rows[name.group(1)] = cells[2]
    return rows


def settings_and_defaults() -> dict[str, Any]:
    """Variable -> default, for every field of every settings group."""
    found: dict[str, Any] = {}
    for group in Settings.model_fields.values():
        model = group.annotation
        assert isinstance(model, type)
        assert issubclass(model, BaseSettings)
        for field in model.model_fields.values():
            alias = field.validation_alias
            assert isinstance(alias, AliasChoices), field
            name = str(alias.choices[0])
            found[name] = field.get_default(call_default_factory=True)
    return found


def rendered(value: Any) -> str | None:
    """How the table shows a scalar default (None: the table describes it in words)."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def test_every_setting_is_documented_with_its_default() -> None:
    rows = documented()
    for name, default in settings_and_defaults().items():
        assert name in rows, f"{name} is missing from docs/configuration.md"
        if (shown := rendered(default)) is not None:
            assert rows[name] == shown, f"{name}: documented {rows[name]}, default {shown}"


def test_the_table_is_one_table() -> None:
    lines = DOC.read_text().splitlines()
    table = [n for n, line in enumerate(lines) if line.startswith("|")]
    assert table == list(range(table[0], table[-1] + 1)), "a blank line splits the table"
