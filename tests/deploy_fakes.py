"""A recording `docker` and `aws` for the CodeDeploy hooks' tests (no Docker engine here).

`python tests/deploy_fakes.py docker ARGS...` answers the subcommands the hooks use, as the
Docker CLI does (same options, output shapes and exit codes), over a host kept in a JSON state
file (FAKE_HOST_STATE): images present, containers with their labels and images. Every call is
appended to FAKE_HOST_LOG as one JSON line. A call it does not know fails loudly (exit 2), so a
hook cannot pass by using something the fake only pretends to do. `docker exec` runs the command
for real on this host, with the container's environment (a worker's WORKER_HEARTBEAT_FILE).
`aws ecr get-login-password` prints a password the test can look for in every output.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ECR_PASSWORD = "fake-ecr-password-4f9c1d"
_VARIABLE = re.compile(r"\$\{(\w+)(?::?[-?]([^}]*))?\}")


def _state_path() -> Path:
    return Path(os.environ["FAKE_HOST_STATE"])


def load_state() -> dict[str, Any]:
    return json.loads(_state_path().read_text())


def save_state(state: dict[str, Any]) -> None:
    _state_path().write_text(json.dumps(state, indent=1))


def _record(tool: str, args: list[str]) -> None:
    with Path(os.environ["FAKE_HOST_LOG"]).open("a") as log:
        log.write(json.dumps({"tool": tool, "args": args}) + "\n")


def _unsupported(args: list[str]) -> int:
    print(f"fake docker: unsupported call: docker {' '.join(args)}", file=sys.stderr)
    return 2


def _matches(container: dict[str, Any], filters: list[str], everything: bool) -> bool:
    if not everything and not container["running"]:
        return False
    for item in filters:
        kind, _, value = item.partition("=")
        if kind == "label":
            key, _, wanted = value.partition("=")
            if container["labels"].get(key) != wanted:
                return False
        elif kind == "status":
            if ("running" if container["running"] else "exited") != value:
                return False
        else:
            raise ValueError(f"fake docker: unsupported filter {item}")
    return True


def _ps(state: dict[str, Any], args: list[str]) -> int:
    filters: list[str] = []
    everything = quiet = False
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--filter":
            filters.append(rest.pop(0))
        elif arg in ("--all", "-a"):
            everything = True
        elif arg in ("--quiet", "-q"):
            quiet = True
        else:
            return _unsupported(["ps", *args])
    if not quiet:
        return _unsupported(["ps", *args])
    for container in state["containers"]:
        if _matches(container, filters, everything):
            print(container["id"])
    return 0


def _stop(state: dict[str, Any], args: list[str]) -> int:
    if len(args) < 3 or args[0] not in ("-t", "--timeout") or not args[1].isdigit():
        return _unsupported(["stop", *args])
    by_id = {c["id"]: c for c in state["containers"]}
    code = 0
    for ref in args[2:]:
        if ref not in by_id:
            print(f"Error response from daemon: No such container: {ref}", file=sys.stderr)
            code = 1
            continue
        by_id[ref]["running"] = False
        print(ref)
    save_state(state)
    return code


def _image(state: dict[str, Any], args: list[str]) -> int:
    if len(args) != 2 or args[0] != "inspect":
        return _unsupported(["image", *args])
    if args[1] in state["images"]:
        print(json.dumps([{"RepoDigests": [args[1]]}]))
        return 0
    print("[]")
    print(f"Error response from daemon: No such image: {args[1]}", file=sys.stderr)
    return 1


def _pull(state: dict[str, Any], args: list[str]) -> int:
    if len(args) != 2 or args[0] != "--quiet":
        return _unsupported(["pull", *args])
    image = args[1]
    registry = image.split("/", 1)[0]
    if registry.endswith(".amazonaws.com") and registry not in state["logins"]:
        print(f"Error response from daemon: pull access denied for {image}", file=sys.stderr)
        return 1
    if image in state.get("missing_images", []):
        print(f"Error response from daemon: manifest for {image} not found", file=sys.stderr)
        return 1
    state["images"].append(image)
    save_state(state)
    print(image)
    return 0


def _login(state: dict[str, Any], args: list[str]) -> int:
    if args[:3] != ["--username", "AWS", "--password-stdin"] or len(args) != 4:
        return _unsupported(["login", *args])
    if sys.stdin.read().strip() != ECR_PASSWORD:
        print("Error response from daemon: login attempt failed", file=sys.stderr)
        return 1
    state["logins"].append(args[3])
    save_state(state)
    print("Login Succeeded")
    return 0


def _exec(state: dict[str, Any], args: list[str]) -> int:
    by_id = {c["id"]: c for c in state["containers"]}
    container = by_id.get(args[0]) if args else None
    if container is None or not container["running"]:
        print(f"Error response from daemon: container {args[:1]} is not running", file=sys.stderr)
        return 1
    command = args[1:]
    if command[:1] == ["python"]:
        command[0] = sys.executable
    env = {**os.environ, **container["environment"]}
    root = Path(__file__).resolve().parents[1]
    return subprocess.run(command, env=env, cwd=root, check=False).returncode


def _env_files(paths: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for path in paths:
        for line in Path(path).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                name, _, value = line.partition("=")
                values[name.strip()] = value.strip()
    return values


def _interpolate(text: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value:
            return value
        if match.group(0).startswith("${" + match.group(1) + ":?"):
            raise ValueError(f"required variable {match.group(1)} is missing a value")
        return match.group(2) or ""

    return _VARIABLE.sub(one, text)


def _compose(state: dict[str, Any], args: list[str]) -> int:
    options: dict[str, list[str]] = {"--file": [], "--env-file": []}
    rest = list(args)
    while rest and rest[0].startswith("--"):
        name = rest.pop(0)
        if name not in ("--project-name", "--project-directory", "--file", "--env-file"):
            return _unsupported(["compose", *args])
        options.setdefault(name, []).append(rest.pop(0))
    for path in options["--file"] + options["--env-file"]:
        if not Path(path).is_file():
            print(f"open {path}: no such file or directory", file=sys.stderr)
            return 1
    try:
        values = _env_files(options["--env-file"])
        files = [
            yaml.safe_load(_interpolate(Path(f).read_text(), values)) for f in options["--file"]
        ]
    except ValueError as exc:
        print(f"error while interpolating: {exc}", file=sys.stderr)
        return 1
    services = files[0]["services"]
    for override in files[1:]:
        for name, spec in (override.get("services") or {}).items():
            services.setdefault(name, {}).update(spec)
    command, flags = rest[0] if rest else "", rest[1:]
    if command == "ps" and flags == ["--all"]:
        for container in state["containers"]:
            status = "Up (healthy)" if container["running"] else "Exited (0)"
            print(f"{container['name']}  {container['image']}  {status}")
        return 0
    up = ["--detach", "--wait", "--wait-timeout", "N", "--no-build", "--pull", "missing"]
    shape = ["N" if flag.isdigit() else flag for flag in flags]
    if command != "up" or shape != [*up, "--remove-orphans"]:
        return _unsupported(["compose", *args])
    return _up(state, options["--project-name"][0], services)


def _up(state: dict[str, Any], project: str, services: dict[str, Any]) -> int:
    active = [n for n, s in services.items() if not s.get("profiles")]
    for name in active:
        # --pull missing: what the host lacks is pulled, from Docker Hub or a registry logged in.
        image = services[name]["image"]
        if image not in state["images"] and _pull(state, ["--quiet", image]) != 0:
            return 1
    kept = [c for c in state["containers"] if c["service"] in active]
    state["containers"] = kept
    for name in active:
        spec = services[name]
        current = next((c for c in kept if c["service"] == name), None)
        if current is not None and current["image"] == spec["image"]:
            current["running"] = True
            continue
        if current is not None:
            kept.remove(current)
        state["next_id"] += 1
        labels = {"com.docker.compose.project": project, "com.docker.compose.service": name}
        labels.update(spec.get("labels") or {})
        environment = {
            k: str(v)
            for k, v in (spec.get("environment") or {}).items()
            if k == "WORKER_HEARTBEAT_FILE"
        }
        if "WORKER_HEARTBEAT_FILE" in environment:
            environment["WORKER_HEARTBEAT_FILE"] = str(Path(state["heartbeat_dir"]) / name)
        kept.append(
            {
                "id": f"c{state['next_id']:04d}",
                "name": f"{project}-{name}-1",
                "service": name,
                "image": spec["image"],
                "labels": labels,
                "logging": spec.get("logging"),
                "environment": environment,
                "running": True,
            }
        )
    state["containers"] = kept
    save_state(state)
    return 0


def docker(args: list[str]) -> int:
    _record("docker", args)
    state = load_state()
    handlers = {
        "ps": _ps,
        "stop": _stop,
        "image": _image,
        "pull": _pull,
        "login": _login,
        "exec": _exec,
        "compose": _compose,
    }
    handler = handlers.get(args[0]) if args else None
    return handler(state, args[1:]) if handler else _unsupported(args)


def aws(args: list[str]) -> int:
    _record("aws", args)
    if args[:2] != ["ecr", "get-login-password"] or args[2:3] != ["--region"]:
        print(f"fake aws: unsupported call: aws {' '.join(args)}", file=sys.stderr)
        return 2
    print(ECR_PASSWORD)
    return 0


if __name__ == "__main__":
    tool, arguments = sys.argv[1], sys.argv[2:]
    raise SystemExit(docker(arguments) if tool == "docker" else aws(arguments))
