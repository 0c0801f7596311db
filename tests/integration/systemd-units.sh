#!/bin/sh
# The shipped systemd units parse and verify (systemd-analyze verify), with ExecStart pointed
# at the workerd just built. Skips when systemd-analyze is not installed.
set -eu
command -v systemd-analyze >/dev/null 2>&1 || { echo "SKIP: systemd-analyze is not installed"; exit 77; }
src=${top_srcdir:-.} build=${top_builddir:-.}
dir=$(mktemp -d "${TMPDIR:-/tmp}/second-units-XXXXXX")
trap 'rm -rf "$dir"' EXIT
bin=$(cd "$build" && pwd)/workerd/workerd
for u in workerd.socket workerd.service; do
	sed "s#/usr/local/bin/workerd#$bin#g" "$src/contrib/systemd/$u" > "$dir/$u"
done
out=$(cd "$dir" && systemd-analyze verify --man=no ./workerd.socket ./workerd.service 2>&1) || {
	echo "$out"; exit 1; }
# Verify reports problems on stderr without failing for some of them.
if [ -n "$out" ]; then echo "$out"; exit 1; fi
# The hardening the service promises.
for key in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes User=second \
	"SystemCallFilter=@system-service"; do
	grep -q "^$key" "$dir/workerd.service" || { echo "workerd.service lacks $key"; exit 1; }
done
echo "units verified"
