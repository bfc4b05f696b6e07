#!/usr/bin/env bash
# CodeDeploy BeforeInstall: pull the revision's two images by digest (deploy/release.env, written
# by .github/workflows/deploy.yml), logging in to their ECR registry first. An image already here
# is not pulled again, so running it twice costs nothing.
set -euo pipefail
# shellcheck source=scripts/deploy_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/deploy_common.sh"

read_release "$(dirname "${BASH_SOURCE[0]}")/../deploy/release.env"

logged_in=""
for image in "$API_IMAGE" "$WORKER_IMAGE"; do
  if docker image inspect "$image" >/dev/null 2>&1; then
    log "present: $image"
    continue
  fi
  registry="${image%%/*}"
  if [[ "$registry" == *.dkr.ecr.*.amazonaws.com && "$logged_in" != *" $registry"* ]]; then
    region="${registry#*.dkr.ecr.}"
    region="${region%%.amazonaws.com}"
    aws ecr get-login-password --region "$region" \
      | docker login --username AWS --password-stdin "$registry" >/dev/null
    logged_in+=" $registry"
    log "logged in to $registry"
  fi
  pulled=""
  for attempt in 1 2 3; do
    if docker pull --quiet "$image" >/dev/null; then
      pulled=yes
      break
    fi
    log "pull attempt $attempt of 3 failed: $image"
    if ((attempt < 3)); then
      sleep "$attempt"
    fi
  done
  [[ -n "$pulled" ]] || fail "could not pull $image"
  log "pulled: $image"
done
log "release ${RELEASE:-unnamed}: images ready"
