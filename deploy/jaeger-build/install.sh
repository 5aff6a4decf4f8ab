#!/usr/bin/env bash
# Builds the real Jaeger v2 binary used by the end-to-end tests, once, into a
# cache outside the repository. Prints the binary's path.
#   HTTPTRACE_CACHE  cache root (default ~/.cache/httptrace)
#
# Jaeger v2.12.0 is the Go module tag v1.75.0 (the approved release; go.mod
# pins it). The binary is stamped with Jaeger's own version variables, as its
# Makefile does (scripts/makefiles/BuildInfo.mk), so `jaeger version`, the
# --version flag and the UI's About menu show v2.12.0.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
module_version="v1.75.0"
jaeger_version="v2.12.0"
cache="${HTTPTRACE_CACHE:-$HOME/.cache/httptrace}/jaeger"
bin="$cache/jaeger-$module_version"
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
pinned="$(go list -m -f '{{.Version}}' github.com/jaegertracing/jaeger)"
if [ "$pinned" != "$module_version" ]; then
  echo "error: go.mod pins github.com/jaegertracing/jaeger $pinned, this script builds $module_version" >&2
  exit 1
fi
# Build date: the release commit's time, as the module proxy reports it (the
# Makefile stamps the commit date too). The commit hash is not known to the
# module proxy, so commitSHA stays empty.
date="$(go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' github.com/jaegertracing/jaeger)"
pkg="github.com/jaegertracing/jaeger/internal/version"
ldflags="-s -w -X $pkg.latestVersion=$jaeger_version -X $pkg.date=$date"
echo "building Jaeger $jaeger_version (module $module_version) into $bin; the first build takes a few minutes" >&2
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# go.sum pins every module by hash; the build needs no checksum-database lookup.
CGO_ENABLED=0 go build -trimpath -ldflags="$ldflags" -o "$tmp" github.com/jaegertracing/jaeger/cmd/jaeger
# `jaeger version` prints the stamped build info as JSON.
reported="$("$tmp" version 2>/dev/null)"
case "$reported" in
  *"\"gitVersion\":\"$jaeger_version\""*) ;;
  *)
    echo "error: the built binary reports $reported, not $jaeger_version" >&2
    exit 1
    ;;
esac
mv "$tmp" "$bin"
echo "$bin"
