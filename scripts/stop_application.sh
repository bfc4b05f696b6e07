#!/usr/bin/env bash
# CodeDeploy ApplicationStop: drain the running release. Workers first: SIGTERM is Celery's warm
# shutdown (stop consuming, let the held tasks finish); docker kills a worker still busy after
# STOP_WORKER_SECONDS, and another worker reclaims its tasks after their lease. Then the API. Works from container labels only, so neither a first deployment
# (nothing runs) nor a previous failed one (no .env, half-started stack) stops it.
set -euo pipefail
# shellcheck source=scripts/deploy_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/deploy_common.sh"

# docker-compose.yml's stop_grace_period for the workers and the API.
STOP_WORKER_SECONDS="${STOP_WORKER_SECONDS:-45}"
STOP_API_SECONDS="${STOP_API_SECONDS:-25}"

drain() {
  local role="$1" seconds="$2" found ids
  # Not inside mapfile's process substitution, whose failure set -e would not see.
  found="$(containers "$role" running)"
  if [[ -z "$found" ]]; then
    log "no running $role container"
    return 0
  fi
  mapfile -t ids <<<"$found"
  log "stopping ${#ids[@]} $role container(s), up to ${seconds} s each to finish: ${ids[*]}"
  # -t: `--time` before Docker 28, `--timeout` since.
  docker stop -t "$seconds" "${ids[@]}" >/dev/null
}

drain worker "$STOP_WORKER_SECONDS"
drain api "$STOP_API_SECONDS"
log "stopped"
