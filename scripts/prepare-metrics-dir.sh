#!/usr/bin/env bash
# Empty PROMETHEUS_MULTIPROC_DIR before the API and the workers of this host start.
# prometheus-client's multiprocess mode keeps one file per process there; files of processes
# from an earlier run would be counted again, so wipe the directory at start (ExecStartPre,
# a compose init container, or the entrypoint), never while the processes run.
set -euo pipefail

dir="${PROMETHEUS_MULTIPROC_DIR:?set PROMETHEUS_MULTIPROC_DIR to the directory the processes share}"
mkdir -p "$dir"
find "$dir" -mindepth 1 -maxdepth 1 -name '*.db' -delete
echo "prepared $dir"
