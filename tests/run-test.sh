#!/bin/sh
# Runs one test program for `make check`. A sanitizer report anywhere in its output fails it:
# Criterion runs tests in worker processes and ignores their exit status, so a leak reported
# by LeakSanitizer as a worker exits would otherwise pass unseen.
out=$(mktemp "${TMPDIR:-/tmp}/second-test-out-XXXXXX")
"$@" > "$out" 2>&1
rc=$?
cat "$out"
if [ "$rc" -eq 0 ] && grep -q -E '^(SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer|==[0-9]+==ERROR: )|: runtime error: ' "$out"; then
	echo "FAIL: a sanitizer reported an error above"
	rc=1
fi
rm -f "$out"
exit "$rc"
