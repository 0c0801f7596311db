#!/bin/sh
# Runs the store benchmark in a temp dir that is removed afterwards.
# usage: run-store-bench.sh PATH/TO/store-bench [OPS_PER_THREAD]
set -eu
bench=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/second-bench-XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$bench" "$dir" "${2:-${SECOND_BENCH_OPS:-5000}}"
