#!/bin/sh
# second-admin against a real redis-server and a SQLite store in a temp dir: configuration
# errors, store init, health up, health down when Redis stops.
set -eu
: "${top_builddir:?}"
redis=${REDIS_SERVER:-$(command -v redis-server || true)}
if [ -z "$redis" ]; then
	echo "SKIP: redis-server not found (install the Debian package redis-server)"
	exit 77
fi
admin="$top_builddir/second-admin"
dir=$(mktemp -d "${TMPDIR:-/tmp}/second-admin-XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$redis" --port 0 --unixsocket "$dir/redis.sock" --save "" --appendonly no \
	--daemonize no --logfile "$dir/redis.log" &
pid=$!
i=0
until [ -S "$dir/redis.sock" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "redis-server did not start"; sleep 0.05
done
export SECOND_STORE_URI="sqlite:$dir/second.db" SECOND_REDIS_URL="unix://$dir/redis.sock"

# Unknown keys, in the environment and in a file, are errors naming the key.
out=$(SECOND_NO_SUCH_KEY=1 "$admin" check-config 2>&1) && fail "unknown env var accepted"
echo "$out" | grep -q SECOND_NO_SUCH_KEY || fail "unknown env var not named: $out"
printf 'store.nope = 1\n' > "$dir/bad.conf"
out=$("$admin" --config "$dir/bad.conf" check-config 2>&1) && fail "unknown file key accepted"
echo "$out" | grep -q "store.nope" || fail "unknown file key not named: $out"
printf 'redis.command_timeout_ms = soon\n' > "$dir/bad.conf"
"$admin" --config "$dir/bad.conf" check-config >/dev/null 2>&1 && fail "bad int accepted"

# A password in the Redis URL is never printed.
out=$(SECOND_REDIS_URL="redis://:hunter2secret@127.0.0.1:1" "$admin" check-config 2>&1)
echo "$out" | grep -q hunter2secret && fail "password printed by check-config"
out=$(SECOND_REDIS_URL="redis://:hunter2secret@127.0.0.1:1" "$admin" health 2>&1) &&
	fail "health ok with an unreachable redis"
echo "$out" | grep -q hunter2secret && fail "password printed by health"

"$admin" init | grep -q "store ready: sqlite" || fail "init"
"$admin" init >/dev/null || fail "init is not idempotent"
out=$("$admin" health) || fail "health down while both are up: $out"
echo "$out" | grep -q '"status":"ok"' || fail "health: $out"

kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
out=$("$admin" health) && fail "health ok with redis stopped: $out"
echo "$out" | grep -q '"redis":{"status":"down"' || fail "redis not reported down: $out"
echo "$out" | grep -q '"store":{"status":"ok"' || fail "store not reported up: $out"
echo "admin: ok"
