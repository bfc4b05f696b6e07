#!/usr/bin/env bash
# Refreshes the dashboard's vendored libraries (app/web/static/vendor) from npm's registry.
# Only a maintainer upgrading them runs this (it needs npm); `make run` and the images serve the
# files as committed, so the dashboard needs no network and no Node.js at run time.
set -euo pipefail

dest="$(cd "$(dirname "$0")/.." && pwd)/app/web/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# package@version  file-in-package  name-in-vendor
while read -r package file name; do
  tarball="$work/$(cd "$work" && npm pack --silent "$package")"
  mkdir -p "$work/x"
  tar -xzf "$tarball" -C "$work/x"
  cp "$work/x/package/$file" "$dest/$name"
  for license in "$work"/x/package/LICENSE "$work"/x/package/LICENSE.*; do
    if [ -f "$license" ]; then cp "$license" "$dest/LICENSE.${name%%.*}"; break; fi
  done
  rm -rf "$work/x" "$tarball"
done <<'LIST'
marked@18.2.1 lib/marked.esm.js marked.esm.js
dompurify@3.5.0 dist/purify.es.mjs purify.es.js
@highlightjs/cdn-assets@11.12.0 es/highlight.min.js highlight.min.js
@highlightjs/cdn-assets@11.12.0 styles/github.min.css highlight.github.min.css
uplot@1.6.32 dist/uPlot.esm.js uPlot.esm.js
uplot@1.6.32 dist/uPlot.min.css uPlot.min.css
eventsource-client@1.2.0 dist/default.esm.js eventsource-client.esm.js
eventsource-parser@3.1.1 dist/index.js eventsource-parser.js
LIST
echo "vendored into $dest"
