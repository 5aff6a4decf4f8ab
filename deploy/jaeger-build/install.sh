#!/usr/bin/env bash
# Builds the real Jaeger v2 binary used by the end-to-end tests, once, into a
# cache outside the repository. Prints the binary's path.
#   HTTPTRACE_CACHE  cache root (default ~/.cache/httptrace)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${HTTPTRACE_CACHE:-$HOME/.cache/httptrace}/jaeger"
bin="$cache/jaeger-v1.76.0"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "error: Go is needed to build Jaeger for the end-to-end tests." >&2
  echo "       Install Go 1.24+ (Debian: apt-get install golang-go; or https://go.dev/dl)," >&2
  echo "       or set HTTPTRACE_SKIP_E2E=1 to skip the end-to-end tests." >&2
  exit 1
fi
mkdir -p "$cache"
cd "$here"
echo "building Jaeger v2 (module v1.76.0) into $bin; the first build takes a few minutes" >&2
# go.sum pins every module by hash; the build needs no checksum-database lookup.
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$bin.tmp.$$" github.com/jaegertracing/jaeger/cmd/jaeger
mv "$bin.tmp.$$" "$bin"
echo "$bin"
