"""Alert rules and the Grafana dashboard load, fire when they should and name only real metrics."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from app.observability import metrics

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy/prometheus/alerts.yml"
ALERTS_TEST = ROOT / "deploy/prometheus/alerts_test.yml"
DASHBOARD = ROOT / "deploy/grafana/agent-orchestrator-dashboard.json"
RUNBOOK = ROOT / "docs/operational-runbook.md"

# Sample names a collector exposes, by type.
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
}
PROMQL_WORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
GRID_COLUMNS = 24


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not installed: run `make tools` (Debian's prometheus package)")
    return subprocess.run(
        [binary, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def _exported_names() -> dict[str, str]:
    """Sample name -> metric family, for every collector in app.observability.metrics."""
    names = {}
    for collector in vars(metrics).values():
        if isinstance(collector, MetricWrapperBase):
            for family in collector.describe():
                names.update(
                    {family.name + suffix: family.name for suffix in SUFFIXES[family.type]}
                )
    return names


def _metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions or keywords."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\$\{?\w+\}?", "", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[A-Za-z_:][\w:]*", expr):
        is_call = expr[match.end() :].lstrip().startswith("(")
        if not is_call and match.group().lower() not in PROMQL_WORDS:
            names.add(match.group())
    return names


def _alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return dashboard


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    return [p for panel in panels for p in [panel, *_panels(panel.get("panels", []))]]


def _dashboard_exprs() -> list[str]:
    return [
        target["expr"]
        for panel in _panels(_dashboard()["panels"])
        for target in panel.get("targets", [])
    ]


def _runbook_anchors() -> set[str]:
    headings = re.findall(r"^#+ (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_promtool_accepts_every_alert_rule() -> None:
    result = _promtool("check", "rules", str(ALERTS.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(r"SUCCESS: (\d+) rules found", result.stdout)
    assert found, result.stdout
    alerts = [rule for rule in _alert_rules() if "alert" in rule]
    assert int(found.group(1)) == len(alerts) == len(_alert_rules())


def test_alerts_fire_when_unhealthy_and_stay_quiet_when_healthy() -> None:
    result = _promtool("test", "rules", str(ALERTS_TEST.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr
    tested = set(re.findall(r"alertname: (\w+)", ALERTS_TEST.read_text()))
    assert {"OrchestratorCircuitOpen", "OrchestratorNoWorkerOnline"} <= tested


def test_every_alert_says_how_bad_what_happened_and_where_the_runbook_is() -> None:
    anchors = _runbook_anchors()
    names = [rule["alert"] for rule in _alert_rules()]
    assert len(names) == len(set(names)), names
    for rule in _alert_rules():
        name, annotations = rule["alert"], rule["annotations"]
        assert "for" in rule, name
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert annotations["summary"], name
        assert "{{" in annotations["description"], f"{name}: description shows no value"
        path, _, anchor = annotations["runbook_url"].partition("#")
        assert path == str(RUNBOOK.relative_to(ROOT)), name
        assert anchor in anchors, f"{name}: no runbook section #{anchor}"


def test_alerts_and_dashboard_name_only_exported_metrics() -> None:
    exported = _exported_names()
    assert exported, "no collectors found in app.observability.metrics"
    exprs = [rule["expr"] for rule in _alert_rules()] + _dashboard_exprs()
    for expr in exprs:
        used = _metric_names(expr)
        assert used, f"no metric in {expr!r}"
        unknown = used - exported.keys()
        assert not unknown, f"unknown metrics {sorted(unknown)} in {expr!r}"


def test_dashboard_shows_every_exported_metric() -> None:
    exported = _exported_names()
    used = set().union(*(_metric_names(expr) for expr in _dashboard_exprs()))
    missing = set(exported.values()) - {exported[name] for name in used if name in exported}
    assert not missing, f"no dashboard panel for {sorted(missing)}"


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    # Grafana substitutes its interval variables; promtool parses the rest as recording rules.
    rules = [
        {"record": f"dashboard:query_{i}", "expr": re.sub(r"\$__\w+", "5m", expr)}
        for i, expr in enumerate(_dashboard_exprs())
    ]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = _promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_panels_have_unique_ids_and_do_not_overlap() -> None:
    dashboard = _dashboard()
    assert dashboard["schemaVersion"] >= 39
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    panels = _panels(dashboard["panels"])
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), ids
    for panel in panels:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
    boxes = [(panel["title"], panel["gridPos"]) for panel in dashboard["panels"]]
    for title, box in boxes:
        assert 0 <= box["x"] <= GRID_COLUMNS - box["w"], title
    for (a_title, a), (b_title, b) in itertools.combinations(boxes, 2):
        overlap = (
            a["x"] < b["x"] + b["w"]
            and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"]
            and b["y"] < a["y"] + a["h"]
        )
        assert not overlap, f"{a_title!r} overlaps {b_title!r}"
