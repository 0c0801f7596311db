#!/bin/sh
# README's configuration table must be exactly what the key table generates.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
expected=$("$top_builddir/second-admin" config-keys)
actual=$(sed -n '/<!-- config-keys:begin -->/,/<!-- config-keys:end -->/p' "$top_srcdir/README.md" |
	sed '1d;$d')
if [ "$expected" != "$actual" ]; then
	echo "README.md's configuration table is out of date; regenerate it with:"
	echo "  second-admin config-keys"
	printf '%s\n' "$expected" > "${TMPDIR:-/tmp}/config-keys.$$"
	printf '%s\n' "$actual" | diff -u - "${TMPDIR:-/tmp}/config-keys.$$" || true
	rm -f "${TMPDIR:-/tmp}/config-keys.$$"
	exit 1
fi
echo "README lists all $(printf '%s\n' "$expected" | grep -c '^| `') configuration keys"
