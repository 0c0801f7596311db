#!/bin/sh
# Replays each parser's fixture corpus through its fuzz target: valid/ must be accepted,
# invalid/ rejected, and tests/fuzz/corpus/<target>/ (fuzzer finds) must not crash.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
for target in store-filter jsonx http-parse sse; do
	fix="$top_srcdir/tests/fixtures/$target"
	extra="$top_srcdir/tests/fuzz/corpus/$target"
	[ -d "$extra" ] || extra=
	"$top_builddir/tests/fuzz/replay-$target" --valid "$fix/valid" --invalid "$fix/invalid" \
		${extra:+--any "$extra"}
done
