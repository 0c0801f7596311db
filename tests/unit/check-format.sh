#!/bin/sh
# Every C source follows .clang-format.
set -eu
: "${top_srcdir:?}"
if ! command -v clang-format >/dev/null 2>&1; then
	echo "SKIP: clang-format not found (install the Debian package clang-format)"
	exit 77
fi
cd "$top_srcdir"
files=$(find lib fcgi workerd tests contrib -name '*.[ch]' -not -path '*/node_modules/*' | sort)
clang-format --dry-run -Werror $files
echo "$(printf '%s\n' $files | wc -l) files formatted"
