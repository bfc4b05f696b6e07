"""Settings from SSM Parameter Store, against moto's server mode (a real HTTP server speaking
the SSM API): values arrive, decrypted and past the first page, below the environment; any
failure stops start-up with one line and exit status 2; no value reaches an output or a log."""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from pydantic import AliasChoices

from app.config import ConfigurationError, Settings, get_settings
from app.config.parameter_store import read_parameters

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
LOAD = "from app.config import load_settings_or_exit; load_settings_or_exit()"
# A start-up that succeeds prints a digest of what it read, never the values themselves.
DIGEST = (
    "import hashlib, json\n"
    "from app.config import load_settings_or_exit\n"
    "s = load_settings_or_exit()\n"
    "read = [s.mongo_uri, s.redis_url, s.llm.api_key.get_secret_value(),\n"
    "        s.search.api_key.get_secret_value(), s.security.api_keys.get_secret_value()]\n"
    "print(hashlib.sha256(json.dumps(read).encode()).hexdigest())\n"
)


def setting_names() -> list[str]:
    """Every variable a settings group reads."""
    names = []
    for group in Settings.model_fields.values():
        assert isinstance(group.annotation, type)
        for field in group.annotation.model_fields.values():
            assert isinstance(field.validation_alias, AliasChoices)
            names.append(str(field.validation_alias.choices[0]))
    return names


def production(token: str) -> dict[str, tuple[str, str]]:
    """A complete production configuration: name -> (parameter type, value)."""
    return {
        "ENVIRONMENT": ("String", "production"),
        "MONGO_URI": ("SecureString", f"mongodb://svc:pw-{token}@db.internal:27017"),
        "REDIS_URL": ("SecureString", f"rediss://:pw-{token}@cache.internal:6379/0"),
        "OPENAI_API_KEY": ("SecureString", f"sk-{token}"),
        "TAVILY_API_KEY": ("SecureString", f"tvly-{token}"),
        "API_KEYS": ("SecureString", f"svc:key-{token}"),
    }


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """moto's SSM (and IAM) on a free port of this host, for this module."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def client(service: str, endpoint: str, keys: dict[str, str]) -> Any:
    """A client of the test's own (to create users and parameters with)."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture
def ssm(endpoint: str) -> Any:
    return client("ssm", endpoint, FAKE_KEYS)


@pytest.fixture
def path() -> str:
    """A parameter path of this test's own."""
    return f"/agent-orchestrator-api/{uuid.uuid4().hex[:12]}/"


@pytest.fixture
def aws_env(endpoint: str, tmp_path: Path) -> dict[str, str]:
    """What a process on an instance would have: a region, credentials, SSM's endpoint."""
    return {
        **FAKE_KEYS,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL_SSM": endpoint,
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.fixture
def in_process(
    monkeypatch: pytest.MonkeyPatch, aws_env: dict[str, str], path: str, tmp_path: Path
) -> Iterator[None]:
    """This process's environment holds only the AWS variables and SSM_PARAMETER_PATH."""
    for name in [*setting_names(), "AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in {**aws_env, "SSM_PARAMETER_PATH": path}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no .env file in reach
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def put(ssm: Any, path: str, parameters: dict[str, tuple[str, str]]) -> None:
    for name, (kind, value) in parameters.items():
        ssm.put_parameter(Name=f"{path}{name}", Type=kind, Value=value)


def start_up(
    env: dict[str, str], cwd: Path, script: str = LOAD
) -> subprocess.CompletedProcess[str]:
    """A process reading its settings at start-up, in a clean environment: `env` only."""
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-c", script],
        env=clean,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_no_value_in(output: str, values: list[str]) -> None:
    leaked = [value for value in values if value in output]
    assert leaked == [], "a parameter's value reached the output"


@pytest.mark.usefixtures("in_process")
def test_string_and_secure_string_parameters_become_settings(
    ssm: Any, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    token = uuid.uuid4().hex
    parameters = {
        **production(token),
        "LLM_PEER_MODEL": ("String", f"router-{token}"),
    }
    put(ssm, path, parameters)
    caplog.set_level(logging.DEBUG)

    settings = get_settings()

    assert settings.app.environment.value == "production"
    assert settings.mongo_uri == f"mongodb://svc:pw-{token}@db.internal:27017"
    assert settings.redis_url == f"rediss://:pw-{token}@cache.internal:6379/0"
    assert settings.llm.api_key is not None
    assert settings.llm.api_key.get_secret_value() == f"sk-{token}"
    assert [key.key_id for key in settings.security.keys_by_secret().values()] == ["svc"]
    assert settings.llm.peer_model == f"router-{token}"
    # botocore logged the exchange at DEBUG, but not the answer's body.
    assert any(record.name.startswith("botocore") for record in caplog.records)
    assert_no_value_in(caplog.text, [value for _, value in parameters.values()])


@pytest.mark.usefixtures("in_process")
def test_parameters_past_the_first_page_are_read(ssm: Any, path: str) -> None:
    parameters = {
        "LLM_PEER_MODEL": "router-ssm",
        "LLM_CONTENT_MODEL": "content-ssm",
        "LLM_CODE_MODEL": "code-ssm",
        "WORKER_QUEUE": "queue-ssm",
        "WORKER_CONCURRENCY": "7",
        "TASK_LEASE_SECONDS": "45",
        "TASK_TIMEOUT_SECONDS": "300",
        "TASK_MAX_ATTEMPTS": "4",
        "DISPATCH_STALE_SECONDS": "90",
        "RECONCILE_INTERVAL_SECONDS": "5",
        "SEARCH_MAX_RESULTS": "7",
        "SEARCH_TIMEOUT_SECONDS": "11",
        "MONGO_DB_NAME": "orchestrator_ssm",
        "LOG_LEVEL": "WARNING",
    }
    put(ssm, path, {name: ("String", value) for name, value in parameters.items()})
    first_page = ssm.get_parameters_by_path(Path=path, Recursive=True)
    assert len(first_page["Parameters"]) < len(parameters)  # moto pages by 10, as AWS does
    assert "NextToken" in first_page

    settings = get_settings()

    assert read_parameters(path) == parameters
    assert (settings.llm.peer_model, settings.llm.content_model) == ("router-ssm", "content-ssm")
    assert (settings.worker.queue, settings.worker.concurrency) == ("queue-ssm", 7)
    assert (settings.worker.lease_seconds, settings.worker.max_attempts) == (45, 4)
    assert (settings.search.max_results, settings.search.timeout_seconds) == (7, 11)
    assert (settings.mongo.db_name, settings.app.log_level) == ("orchestrator_ssm", "WARNING")


@pytest.mark.usefixtures("in_process")
def test_a_nested_name_is_its_path_below_the_prefix_with_underscores(ssm: Any, path: str) -> None:
    put(
        ssm,
        path,
        {
            "mongo/uri": ("String", "mongodb://db.nested:27017"),
            "worker/concurrency": ("String", "5"),
            "search/max/results": ("String", "3"),
            "tavily/api_key": ("SecureString", "tvly-nested-secret"),
        },
    )

    settings = get_settings()

    assert set(read_parameters(path)) == {
        "MONGO_URI",
        "WORKER_CONCURRENCY",
        "SEARCH_MAX_RESULTS",
        "TAVILY_API_KEY",
    }
    assert settings.mongo_uri == "mongodb://db.nested:27017"
    assert (settings.worker.concurrency, settings.search.max_results) == (5, 3)
    assert settings.search.api_key is not None
    assert settings.search.api_key.get_secret_value() == "tvly-nested-secret"


@pytest.mark.usefixtures("in_process")
def test_two_parameters_for_one_variable_are_refused_by_name(ssm: Any, path: str) -> None:
    put(
        ssm,
        path,
        {
            "MONGO_URI": ("SecureString", "mongodb://one-secret-host:27017"),
            "mongo/uri": ("SecureString", "mongodb://other-secret-host:27017"),
        },
    )

    with pytest.raises(ConfigurationError) as caught:
        get_settings()

    assert str(caught.value) == (
        f"configuration error: SSM_PARAMETER_PATH={path}: "
        f"{path}MONGO_URI and {path}mongo/uri both set MONGO_URI"
    )


@pytest.mark.usefixtures("in_process")
def test_an_environment_variable_wins_over_its_parameter(
    ssm: Any, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(
        ssm,
        path,
        {
            "WORKER_CONCURRENCY": ("String", "8"),
            "LLM_PEER_MODEL": ("String", "router-ssm"),
            "LLM_CODE_MODEL": ("String", "code-ssm"),
        },
    )
    monkeypatch.setenv("WORKER_CONCURRENCY", "4")
    monkeypatch.setenv("LLM_CODE_MODEL", "")  # empty counts as unset, as everywhere

    settings = get_settings()

    assert settings.worker.concurrency == 4
    assert (settings.llm.peer_model, settings.llm.code_model) == ("router-ssm", "code-ssm")


def test_a_production_start_up_reads_everything_and_prints_no_value(
    ssm: Any, path: str, aws_env: dict[str, str], tmp_path: Path
) -> None:
    parameters = production(uuid.uuid4().hex)
    put(ssm, path, parameters)

    started = start_up({**aws_env, "SSM_PARAMETER_PATH": path}, tmp_path, DIGEST)

    values = [value for _, value in parameters.values()]
    read = [value for name, (_, value) in parameters.items() if name != "ENVIRONMENT"]
    digest = hashlib.sha256(json.dumps(read).encode()).hexdigest()
    assert (started.returncode, started.stdout.strip(), started.stderr) == (0, digest, "")
    assert_no_value_in(started.stdout + started.stderr, values)


def test_a_missing_required_parameter_stops_start_up_naming_it(
    ssm: Any, path: str, aws_env: dict[str, str], tmp_path: Path
) -> None:
    parameters = production(uuid.uuid4().hex)
    del parameters["ENVIRONMENT"], parameters["TAVILY_API_KEY"]
    put(ssm, path, parameters)

    env = {**aws_env, "SSM_PARAMETER_PATH": path, "ENVIRONMENT": "production"}
    started = start_up(env, tmp_path)

    assert started.returncode == 2
    assert started.stderr.splitlines() == [
        "configuration error: TAVILY_API_KEY is required when ENVIRONMENT=production"
    ]
    assert started.stdout == ""
    assert_no_value_in(started.stderr, [value for _, value in parameters.values()])


@pytest.fixture
def denied(endpoint: str) -> Iterator[dict[str, str]]:
    """Keys of a user whose policy denies ssm:GetParametersByPath, with moto checking IAM."""
    iam = client("iam", endpoint, FAKE_KEYS)
    user = f"reader-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    statements = [
        {"Effect": "Allow", "Action": "ssm:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "ssm:GetParametersByPath", "Resource": "*"},
    ]
    policy = json.dumps({"Version": "2012-10-17", "Statement": statements})
    iam.put_user_policy(UserName=user, PolicyName="no-parameters", PolicyDocument=policy)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"0").raise_for_status()
    try:
        yield {
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        }
    finally:
        httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"inf").raise_for_status()


def test_access_denied_stops_start_up_with_one_line(
    endpoint: str, denied: dict[str, str], path: str, aws_env: dict[str, str], tmp_path: Path
) -> None:
    parameters = production(uuid.uuid4().hex)
    put(client("ssm", endpoint, denied), path, parameters)  # the user may write, not read

    started = start_up({**aws_env, **denied, "SSM_PARAMETER_PATH": path}, tmp_path)

    assert started.returncode == 2
    [line] = started.stderr.splitlines()
    # AWS answers SSM's JSON protocol with {"__type": "AccessDeniedException", ...}; moto renders
    # its IAM denials in the Query protocol's XML for every service, which botocore cannot parse
    # as SSM's: the code is then the HTTP status, and moto's own code is in the message.
    assert line.startswith(
        f"configuration error: SSM_PARAMETER_PATH={path}: cannot read Parameter Store: HTTP 403: "
    )
    assert "<Code>AccessDenied</Code>" in line
    assert "is not authorized to perform: ssm:GetParametersByPath" in line
    assert started.stdout == ""
    assert_no_value_in(started.stderr, [value for _, value in parameters.values()])


def test_a_path_without_parameters_stops_start_up_naming_path_and_region(
    path: str, aws_env: dict[str, str], tmp_path: Path
) -> None:
    started = start_up({**aws_env, "SSM_PARAMETER_PATH": path}, tmp_path)

    assert (started.returncode, started.stdout) == (2, "")
    assert started.stderr.splitlines() == [
        f"configuration error: SSM_PARAMETER_PATH={path}: no parameters there in region {REGION}"
    ]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            {"AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:{port}", "AWS_MAX_ATTEMPTS": "1"},
            "EndpointConnectionError",
        ),
        ({"AWS_REGION": None}, "NoRegionError"),
    ],
    ids=["endpoint-unreachable", "no-region"],
)
def test_an_unreachable_parameter_store_stops_start_up_with_one_line(
    path: str, aws_env: dict[str, str], tmp_path: Path, change: dict[str, str | None], code: str
) -> None:
    env = {**aws_env, "SSM_PARAMETER_PATH": path}
    for name, value in change.items():
        if value is None:
            env.pop(name)
        else:
            env[name] = value.format(port=closed_port())

    started = start_up(env, tmp_path)

    assert (started.returncode, started.stdout) == (2, "")
    [line] = started.stderr.splitlines()
    assert line.startswith(
        f"configuration error: SSM_PARAMETER_PATH={path}: cannot read Parameter Store: {code}: "
    )
