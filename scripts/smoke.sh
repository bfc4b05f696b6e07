#!/usr/bin/env bash
# Submit a content task and a code task to a running service and print what came back.
# Usage: scripts/smoke.sh BASE_URL API_KEY        (e.g. after `make run`)
set -euo pipefail

base="${1:?usage: scripts/smoke.sh BASE_URL API_KEY}"
key="${2:?usage: scripts/smoke.sh BASE_URL API_KEY}"
py="${PYTHON:-python3}"

submit() {
  curl -sS -X POST "$base/v1/agent/execute" -H "X-API-Key: $key" \
    -H 'Content-Type: application/json' \
    -d "$("$py" -c 'import json,sys; print(json.dumps({"task": sys.argv[1]}))' "$1")"
}

wait_final() {
  local id="$1" body status
  for _ in $(seq 1 100); do
    body="$(curl -sS "$base/v1/tasks/$id" -H "X-API-Key: $key")"
    status="$("$py" -c 'import json,sys; print(json.load(sys.stdin)["status"])' <<<"$body")"
    case "$status" in completed|failed|cancelled) echo "$body"; return 0 ;; esac
    sleep 0.1
  done
  echo "task $id not finished after 10 s" >&2
  return 1
}

for task in "Write a blog post about renewable energy trends" \
            "Write a Python function that reverses a linked list"; do
  accepted="$(submit "$task")"
  echo "POST /v1/agent/execute -> $accepted"
  id="$("$py" -c 'import json,sys; print(json.load(sys.stdin)["task_id"])' <<<"$accepted")"
  wait_final "$id" | "$py" -c '
import json, sys
t = json.load(sys.stdin)
r = t.get("result") or {}
print(json.dumps({
    "status": t["status"],
    "selected_agent": t["selected_agent"],
    "routing.confidence": (t.get("routing") or {}).get("confidence"),
    "result.code_language": r.get("code_language"),
    "citations": [c["url"] for c in r.get("citations", [])],
    "raw_output_chars": len(r.get("raw_output", "")),
    "error": t.get("error"),
}, indent=2))'
done
