#!/usr/bin/env bash
# Instructions per request of each pipeline variant, counted by callgrind:
# the figures to compare commits by on a machine whose wall-clock speed
# drifts (see BENCHMARKS.md). Needs valgrind (`apt-get install valgrind`).
#
#   crates/otel-bench/callgrind.sh [--cache] [CONCURRENCY] [REQUESTS] [VARIANT...]
#
# With --cache, callgrind also simulates the caches (32 KiB 8-way level-1
# instruction and data caches, as on this project's VM) and the request
# path's level-1 instruction and data misses per request are printed too:
# equal instruction counts can cost unequal time when one side's code
# does not fit the instruction cache (BENCHMARKS.md). About five times
# slower.
#
# Prints, per variant, the inclusive instructions per request of the
# request future (`BenchClient::get`: the request path, what plain reqwest
# also runs) and of the SDK's batch thread (`get_spans_and_export`:
# conversion, encoding and the HTTP export), and the request-path
# allocations the bench counted. One-time costs (client build, TLS set-up)
# fall outside both.
set -euo pipefail

cache=no
if [ "${1:-}" = --cache ]; then cache=yes; shift; fi
concurrency=${1:-64}
requests=${2:-5000}
shift $(( $# > 2 ? 2 : $# ))
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(plain traced httptrace-otel reqwest-tracing)

command -v valgrind >/dev/null || { echo "callgrind.sh: needs valgrind (apt-get install valgrind)" >&2; exit 2; }

cd "$(dirname "$0")/../.."
bench=$(cargo bench -p otel-bench --bench pipeline --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[ -x "$bench" ] || { echo "callgrind.sh: the bench did not build" >&2; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ $cache = yes ]; then
  printf '%-18s %5s %12s %12s %10s %12s %12s\n' variant conc request-path batch-thread allocs path-I1-miss path-D1-miss
else
  printf '%-18s %5s %12s %12s %10s\n' variant conc request-path batch-thread allocs
fi
for v in "${variants[@]}"; do
  line=$(valgrind --tool=callgrind --cache-sim=$cache --dump-instr=no --callgrind-out-file="$out/$v" \
    "$bench" --variant "$v" --concurrency "$concurrency" --rounds 1 --requests "$requests" 2>/dev/null \
    | grep '^| (' | head -1 || true)
  allocs=$(echo "$line" | awk -F'|' '{gsub(/ /, "", $8); split($8, a, "("); print a[1]}')
  per_request() { # PATTERN [EVENT]: the function's inclusive count, per request
    # From outside the checkout: inside it, callgrind_annotate relativises
    # some paths and splits a function's cost between the two spellings.
    (cd "$out" && callgrind_annotate --inclusive=yes --show="${2:-Ir}" "$v") 2>/dev/null | grep -E "$1" | head -1 \
      | awk -v n="$requests" -v k="${2:-Ir}" '{gsub(",", "", $1);
          if (k == "Ir") printf "%.1fk", $1 / n / 1000; else printf "%.0f", $1 / n}' || true
  }
  path=$(per_request 'BenchClient::get::\{\{closure\}\} \[')
  batch=$(per_request 'get_spans_and_export \[')
  if [ $cache = yes ]; then
    i1=$(per_request 'BenchClient::get::\{\{closure\}\} \[' I1mr)
    d1=$(per_request 'BenchClient::get::\{\{closure\}\} \[' D1mr)
    printf '%-18s %5s %12s %12s %10s %12s %12s\n' "$v" "$concurrency" "${path:--}" "${batch:--}" "${allocs:--}" "${i1:--}" "${d1:--}"
  else
    printf '%-18s %5s %12s %12s %10s\n' "$v" "$concurrency" "${path:--}" "${batch:--}" "${allocs:--}"
  fi
done
