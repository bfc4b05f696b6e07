"""docker-compose.yml and what it mounts, checked without a Docker engine (none here).

The file validates against the Compose Specification's JSON schema (vendored in tests/schemas,
source and commit named in its README); every service has a healthcheck; the API and the
workers wait for healthy MongoDB and Redis; no secret has a literal value; Prometheus' config
(promtool) scrapes the API and every worker on the port compose gives them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "schemas" / "compose-spec.json"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|_AUTH$|_DSN$")
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[-?+][^}]*)?\}")
APP_SERVICES = ("api", "worker-1", "worker-2")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {name: str(value) for name, value in env.items()}


def test_compose_file_validates_against_the_compose_specification(
    compose: dict[str, Any],
) -> None:
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))
    errors = [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []
    # The schema itself catches what it should: an unknown key in a service.
    broken = {"services": {"api": {"image": "x", "helthcheck": {}}}}
    assert not validator.is_valid(broken)


def test_every_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        check = service.get("healthcheck", {})
        assert not check.get("disable", False), name
        assert check.get("test", ["NONE"])[0] in {"CMD", "CMD-SHELL"}, name


def test_the_api_and_workers_wait_for_healthy_stores(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"mongo", "redis", *APP_SERVICES} <= services.keys()
    assert services["mongo"]["image"].startswith("mongo:7")
    assert services["redis"]["image"].startswith("redis:7")
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        for store in ("mongo", "redis"):
            assert depends[store]["condition"] == "service_healthy", (name, store)
        # SIGTERM's warm shutdown lets held tasks finish for this long before docker kills.
        grace = int(services[name]["stop_grace_period"].removesuffix("s"))
        assert grace > (30 if name.startswith("worker") else 20), name
    assert services["mongo"]["volumes"]
    assert services["redis"]["volumes"]


def test_no_secret_has_a_literal_value(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for var, value in environment(service).items():
            if var.endswith("__FILE"):
                # A file the service reads its secret from: one of compose's secrets, given it.
                secret = value.removeprefix("/run/secrets/")
                assert secret in compose["secrets"], f"{name}.{var}: {value} is no secret"
                assert secret in service.get("secrets", []), f"{name} is not given {secret}"
            elif SECRET_NAME.search(var):
                assert INTERPOLATION.fullmatch(value), f"{name}.{var} has a literal value"
            for userinfo in re.findall(r"://([^@/]*)@", value):
                password = userinfo.partition(":")[2]
                assert INTERPOLATION.fullmatch(password), f"{name}.{var}: literal password"
    # The interpolated variables are the ones .env.example lists, with no value filled in.
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(INTERPOLATION.findall(text))
    listed = dict(
        line.lstrip("# ").split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if re.match(r"#? ?[A-Z_]+=", line)
    )
    assert used <= listed.keys(), used - listed.keys()
    # Compose's secrets come from variables .env.example lists too, never from a literal.
    for secret in compose["secrets"].values():
        assert set(secret) == {"environment"}, secret
        assert secret["environment"] in listed, secret
    for var, value in listed.items():
        if SECRET_NAME.search(var):
            assert value == "", f".env.example fills {var}"


def test_prometheus_scrapes_the_api_and_every_worker(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    config_path = ROOT / "deploy" / "prometheus" / "prometheus.yml"
    config = yaml.safe_load(config_path.read_text())
    targets = {
        job["job_name"]: [t for group in job["static_configs"] for t in group["targets"]]
        for job in config["scrape_configs"]
    }
    assert targets["agent-orchestrator-api"] == ["api:8000"]
    workers = [n for n in compose["services"] if n.startswith("worker")]
    ports = [environment(compose["services"][n])["WORKER_METRICS_PORT"] for n in workers]
    assert targets["agent-orchestrator-worker"] == [
        f"{n}:{p}" for n, p in zip(workers, ports, strict=True)
    ]
    assert config["rule_files"] == ["alerts.yml"]
    prometheus = compose["services"]["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    assert compose["services"]["grafana"]["profiles"] == ["monitoring"]
    mounts = {
        v.split(":")[0] for v in prometheus["volumes"] + compose["services"]["grafana"]["volumes"]
    }
    for mount in mounts:
        if mount.startswith("./"):
            assert (ROOT / mount).exists(), mount
    # promtool checks the config and its rules (the bearer token file is the compose secret).
    token = tmp_path / "metrics_token"
    token.write_text("token\n")
    config["scrape_configs"][0]["authorization"]["credentials_file"] = str(token)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    shutil.copy(ROOT / "deploy" / "prometheus" / "alerts.yml", tmp_path / "alerts.yml")
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: run `make tools`"
    checked = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 1 rule files found" in checked.stdout + checked.stderr


def test_on_ec2_each_service_logs_its_json_lines_to_its_cloudwatch_group(
    compose: dict[str, Any],
) -> None:
    override = yaml.safe_load(
        (ROOT / "deploy/cloudwatch/docker-compose.cloudwatch.yml").read_bytes()
    )
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))
    assert [e.message for e in validator.iter_errors(override)] == []
    groups = {}
    for name in APP_SERVICES:
        logging = override["services"][name]["logging"]
        assert logging["driver"] == "awslogs", name
        options = logging["options"]
        # Never blocking the service on CloudWatch; the region comes from the release.
        assert options["mode"] == "non-blocking"
        assert options["awslogs-region"].startswith("${AWS_REGION:?")
        groups[name] = options["awslogs-group"]
    assert groups == {
        "api": "/agent-orchestrator/api",
        "worker-1": "/agent-orchestrator/worker",
        "worker-2": "/agent-orchestrator/worker",
    }
    # The override only adds logging to services the stack has.
    assert set(override["services"]) <= set(compose["services"])


def test_the_cloudwatch_agent_config_validates_against_the_agents_schema() -> None:
    schema = json.loads((ROOT / "tests/schemas/amazon-cloudwatch-agent.json").read_text())
    validator = jsonschema_rs.validator_for(schema)
    config = json.loads((ROOT / "deploy/cloudwatch/amazon-cloudwatch-agent.json").read_text())
    assert [e.message for e in validator.iter_errors(config)] == []
    collected = config["logs"]["logs_collected"]["files"]["collect_list"]
    assert {entry["log_group_name"] for entry in collected} == {"/agent-orchestrator/deploy"}
    # The schema catches what it should: a collect_list entry without its file.
    broken = {"logs": {"logs_collected": {"files": {"collect_list": [{"log_group_name": "x"}]}}}}
    assert not validator.is_valid(broken)
