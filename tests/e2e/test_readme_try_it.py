"""The README's Try-it block, copied as it is, against a running service."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.support import Service

ROOT = Path(__file__).resolve().parents[2]


def try_it_block() -> str:
    """The bash block of the README's "Try it" section (the one that captures TASK_ID)."""
    section = ROOT.joinpath("README.md").read_text().split("## Try it", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)
    [block] = [b for b in blocks if "TASK_ID=" in b]
    return block


def test_the_readme_try_it_block_runs_as_written(service: Service) -> None:
    env = {**os.environ, "API": service.topology.api_url, "KEY": service.api_key}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", try_it_block()],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^accepted [0-9a-f-]{36}$", done.stdout, re.MULTILINE), done.stdout
    assert '"status":"completed"' in done.stdout
