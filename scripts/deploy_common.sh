#!/usr/bin/env bash
# What the CodeDeploy hooks (appspec.yml) share; sourced, not run. CodeDeploy runs each hook from
# the revision's archive (ApplicationStop: the previous revision's), so paths come from here.

# Where appspec.yml's `files` install the revision; the operator's .env lives there too.
APP_DIR="${APP_DIR:-/opt/agent-orchestrator}"
# The compose project (docker-compose.yml's `name`): its containers carry this label.
PROJECT="agent-orchestrator"
HOOK="$(basename "$0" .sh)"

log() {
  echo "$HOOK: $*"
}

fail() {
  echo "$HOOK: FAILED: $*" >&2
  exit 1
}

# The project's containers with role ROLE (api or worker, docker-compose.yml's labels); with
# `running`, only the running ones.
containers() {
  local role="$1" state="${2:-}"
  local filters=(--filter "label=com.docker.compose.project=$PROJECT"
    --filter "label=org.agent-orchestrator.role=$role")
  if [[ "$state" == running ]]; then
    filters+=(--filter status=running)
  else
    filters+=(--all)
  fi
  docker ps --quiet "${filters[@]}"
}

# The revision's images by digest and its release name, as deploy.yml wrote them.
read_release() {
  local file="$1"
  [[ -f "$file" ]] || fail "$file is missing: the revision names its images there (deploy.yml)"
  # shellcheck source=/dev/null
  source "$file"
  local name
  for name in API_IMAGE WORKER_IMAGE; do
    [[ -n "${!name:-}" ]] || fail "$file does not set $name"
    [[ "${!name}" == *@sha256:* ]] || fail "$name is not pinned by digest: ${!name}"
  done
}

# docker compose on the installed revision, with the release's images and CloudWatch logging.
compose() {
  docker compose --project-name "$PROJECT" --project-directory "$APP_DIR" \
    --file "$APP_DIR/docker-compose.yml" \
    --file "$APP_DIR/deploy/cloudwatch/docker-compose.cloudwatch.yml" \
    --env-file "$APP_DIR/.env" --env-file "$APP_DIR/deploy/release.env" "$@"
}
