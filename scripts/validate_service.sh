#!/usr/bin/env bash
# CodeDeploy ValidateService: the API answers /ready with 200 and at least one worker's own
# heartbeat is fresh (`python -m worker.healthcheck` in its container: no broadcast, no API key).
# Retries VALIDATE_ATTEMPTS times VALIDATE_DELAY_SECONDS apart, then fails the deployment with
# one line saying which check failed and why.
set -euo pipefail
# shellcheck source=scripts/deploy_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/deploy_common.sh"

# The port compose publishes the API on: API_PORT in the operator's .env (8000 without it).
api_port="$(sed -n 's/^API_PORT=//p' "$APP_DIR/.env" 2>/dev/null | tail -n 1)"
READY_URL="${READY_URL:-http://127.0.0.1:${api_port:-8000}/ready}"
ATTEMPTS="${VALIDATE_ATTEMPTS:-30}"
DELAY="${VALIDATE_DELAY_SECONDS:-2}"

api_problem=""
worker_problem=""

check_api() {
  local body error code
  body="$(mktemp)"
  error="$(mktemp)"
  code="$(curl --silent --show-error --max-time 5 --output "$body" --write-out '%{http_code}' \
    "$READY_URL" 2>"$error")" || true
  if [[ "$code" == 200 ]]; then
    api_problem=""
  elif [[ "$code" == 000 || -z "$code" ]]; then
    api_problem="$READY_URL did not answer: $(tr -d '\n' <"$error")"
  else
    api_problem="$READY_URL answered $code: $(head -c 300 "$body" | tr -d '\n')"
  fi
  rm -f "$body" "$error"
}

check_workers() {
  local found ids id answer reasons=""
  found="$(containers worker running)"
  if [[ -z "$found" ]]; then
    worker_problem="no worker container is running"
    return
  fi
  mapfile -t ids <<<"$found"
  for id in "${ids[@]}"; do
    if answer="$(timeout 10 docker exec "$id" python -m worker.healthcheck 2>&1)"; then
      worker_problem=""
      return
    fi
    reasons+="${reasons:+, }$id: ${answer//$'\n'/ }"
  done
  worker_problem="no worker heartbeat is fresh ($reasons)"
}

for ((attempt = 1; attempt <= ATTEMPTS; attempt++)); do
  check_api
  check_workers
  if [[ -z "$api_problem" && -z "$worker_problem" ]]; then
    log "ok: /ready 200 and a fresh worker heartbeat (attempt $attempt of $ATTEMPTS)"
    exit 0
  fi
  if ((attempt < ATTEMPTS)); then
    sleep "$DELAY"
  fi
done
fail "after $ATTEMPTS attempts ${DELAY} s apart: ${api_problem:-/ready ok}; ${worker_problem:-workers ok}"
