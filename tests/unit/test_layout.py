"""The product's modules stay small enough to read in one sitting."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 300


def test_no_product_module_is_over_300_lines() -> None:
    modules = [*ROOT.joinpath("app").rglob("*.py"), *ROOT.joinpath("worker").rglob("*.py")]
    assert modules
    long = {
        str(path.relative_to(ROOT)): lines
        for path in modules
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_architecture_documents_steps_point_at_real_functions() -> None:
    """Each `file: function` of "A task's life, file by file" names a def in that file."""
    doc = (ROOT / "docs/architecture-overview.md").read_text()
    table = doc.split("## A task's life, file by file", 1)[1].split("\n## ", 1)[0]
    references = re.findall(r"`((?:app|worker)/[\w/]+\.py): ([\w.]+)`( / `?[\w.]+`?)*", table)
    assert len(references) >= 15, references
    missing = []
    for path, name, *_ in references:
        source = (ROOT / path).read_text()
        if not re.search(rf"^\s*(async def|def|class) {name.split('.')[-1]}\b", source, re.M):
            missing.append(f"{path}: {name}")
    # The alternatives after " / " name functions of the same file.
    for path, rest in re.findall(r"`((?:app|worker)/[\w/]+\.py): [\w.]+`((?: / `[\w.]+`)+)", table):
        source = (ROOT / path).read_text()
        for name in re.findall(r"`([\w.]+)`", rest):
            if not re.search(rf"^\s*(async def|def|class) {name.split('.')[-1]}\b", source, re.M):
                missing.append(f"{path}: {name}")
    assert missing == []
