#!/usr/bin/env bash
# CodeDeploy ApplicationStart: start the installed revision with its images (by digest, pulled
# in BeforeInstall; MongoDB's and Redis' are pulled here when missing) and wait until every
# container reports healthy. `up` on a stack that already
# runs this release changes nothing, so the hook can run twice.
set -euo pipefail
# shellcheck source=scripts/deploy_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/deploy_common.sh"

[[ -f "$APP_DIR/.env" ]] || fail "$APP_DIR/.env is missing: copy the repository's .env.example there and fill it"
read_release "$APP_DIR/deploy/release.env"

if ! compose up --detach --wait --wait-timeout "${START_WAIT_SECONDS:-240}" \
  --no-build --pull missing --remove-orphans; then
  compose ps --all >&2 || true
  fail "the stack did not become healthy within ${START_WAIT_SECONDS:-240} s (docker compose ps above)"
fi
log "release ${RELEASE:-unnamed} started"
