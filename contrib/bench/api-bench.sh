#!/bin/sh
# api-bench: wrk through one lighttpd against second-api's authenticated app list (50 apps)
# and against fcgi-hello, a trivial FastCGI responder, in the same run; prints requests/s,
# p50 and p99 of both, their ratio, and second-api's peak RSS under the load. Then the same for
# a built app's preview document behind its token (GET /preview/.../~token/index.html, warm),
# and the time to first byte of both, one request at a time.
# usage: api-bench.sh SRCDIR BUILDDIR   (BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_THREADS)
set -eu
src=$1 build=$2
secs=${BENCH_SECONDS:-10} conns=${BENCH_CONNECTIONS:-50} wthreads=${BENCH_THREADS:-2}
lighttpd=${LIGHTTPD:-/usr/sbin/lighttpd}
redis=${REDIS_SERVER:-redis-server}
for tool in wrk curl sqlite3 "$lighttpd" "$redis"; do
	command -v "$tool" >/dev/null 2>&1 || { echo "api-bench: $tool not found"; exit 1; }
done
dir=$(mktemp -d "${TMPDIR:-/tmp}/second-api-bench-XXXXXX")
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	sleep 1
	for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
	echo 18080)
base="http://127.0.0.1:$port"
mkdir -p "$dir/run" "$dir/www"

"$redis" --port 0 --unixsocket "$dir/redis.sock" --save "" --appendonly no --daemonize no \
	--logfile "$dir/redis.log" &
pids="$pids $!"
env -i PATH="$PATH" SECOND_STORE_URI="sqlite:$dir/second.db" \
	SECOND_REDIS_URL="unix://$dir/redis.sock" SECOND_API_LISTEN="unix:$dir/api.sock" \
	SECOND_HTTP_PUBLIC_URL="$base" SECOND_LOG_LEVEL=warning SECOND_LOG_TARGET=stderr \
	"$build/second-api" 2>"$dir/api.log" &
api_pid=$!
pids="$pids $api_pid"
"$build/contrib/bench/fcgi-hello" "$dir/hello.sock" 8 &
pids="$pids $!"
cat > "$dir/bench.conf" <<CONF
include "$src/contrib/lighttpd/second.conf"
fastcgi.server += ( "/hello" => (( "socket" => "$dir/hello.sock", "check-local" => "disable" )) )
CONF
WEB_PORT=$port WEB_DOCROOT="$dir/www" WEB_RUN_DIR="$dir/run" WEB_API_SOCKET="$dir/api.sock" WEB_SSE_SOCKET="$dir/sse.sock" \
	"$lighttpd" -D -f "$dir/bench.conf" &
pids="$pids $!"

i=0
until curl -fsS "$base/api/health" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "api-bench: the stack did not come up"; cat "$dir/api.log"; exit 1; }
	sleep 0.1
done

# One signed-in owner, one workspace, 50 apps.
curl -fsS -c "$dir/jar" -H 'Content-Type: application/json' \
	-d '{"displayName":"Bench Owner","profileRole":"Engineer","email":"bench@example.com"}' \
	"$base/api/onboarding/identity" >/dev/null
cookie=$(awk '$6 == "second_session" { print $7 }' "$dir/jar")
ws=$(curl -fsS -b "$dir/jar" -H 'Content-Type: application/json' -d '{"name":"Bench"}' \
	"$base/api/workspaces" | sed -n 's/.*"id":"\([a-z0-9-]*\)".*/\1/p')
for n in $(seq 1 50); do
	curl -fsS -b "$dir/jar" -H 'Content-Type: application/json' \
		-d "{\"appName\":\"Bench app $n\"}" "$base/api/workspaces/$ws/apps" >/dev/null
done
count=$(curl -fsS -b "$dir/jar" "$base/api/workspaces/$ws/apps" | grep -o '"workspaceId"' | wc -l)
[ "$count" -eq 50 ] || { echo "api-bench: expected 50 apps, listed $count"; exit 1; }

# wrk prints latency percentiles as 1.23ms, 850.00us or 1.02s: convert to milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0;
		else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}
run_wrk() { # label url [header]
	out=$(wrk -t"$wthreads" -c"$conns" -d"${secs}s" --latency ${3:+-H "$3"} "$2")
	rps=$(printf '%s\n' "$out" | awk '/^Requests\/sec:/ { print $2 }')
	p50=$(to_ms "$(printf '%s\n' "$out" | awk '$1 == "50%" { print $2 }')")
	p99=$(to_ms "$(printf '%s\n' "$out" | awk '$1 == "99%" { print $2 }')")
	errs=$(printf '%s\n' "$out" | awk '/Non-2xx/ { print $5 }')
	printf '%-34s %10s %9s %9s %s\n' "$1" "$rps" "$p50" "$p99" "${errs:+non-2xx: $errs}"
	eval "${4}_rps=$rps ${4}_p50=$p50 ${4}_p99=$p99"
}

peak_rss() { # sample second-api's RSS while wrk runs
	peak=0
	while kill -0 "$1" 2>/dev/null && [ -f "$dir/sampling" ]; do
		r=$(ps -o rss= -p "$api_pid" 2>/dev/null | tr -d ' ')
		[ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
		sleep 0.2
	done
	echo "$peak" > "$dir/rss"
}

echo "api-bench: wrk -t$wthreads -c$conns -d${secs}s through lighttpd on 127.0.0.1, same run"
printf '%-34s %10s %9s %9s\n' "target" "req/s" "p50 ms" "p99 ms"
run_wrk "fcgi-hello (baseline)" "$base/hello" "" base
touch "$dir/sampling"
peak_rss $$ &
sampler=$!
run_wrk "GET /api/workspaces/{ws}/apps (50)" "$base/api/workspaces/$ws/apps" \
	"Cookie: second_session=$cookie" api
rm -f "$dir/sampling"
wait "$sampler" 2>/dev/null || true
awk -v a="$api_rps" -v b="$base_rps" -v p="$api_p99" -v rss="$(cat "$dir/rss")" 'BEGIN {
	printf "ratio (apps list / baseline req/s): %.2f\n", a / b
	printf "second-api p99 at the load above: %.2f ms\n", p
	printf "second-api peak RSS under load: %.1f MiB\n", rss / 1024 }'

# The preview: one app gets a draft snapshot shaped like a Vite build (a 140 KiB bundle, a
# stylesheet, sources), written straight into the store as second-sse would after a build.
app=$(curl -fsS -b "$dir/jar" "$base/api/workspaces/$ws/apps" |
	sed -n 's/.*"id":"\([0-9a-f]\{24\}\)".*/\1/p' | head -n 1)
head -c 105000 /dev/urandom | base64 -w0 > "$dir/bundle.txt"
head -c 7500 /dev/urandom | base64 -w0 > "$dir/style.txt"
head -c 15000 /dev/urandom | base64 -w0 > "$dir/source.txt"
sqlite3 "$dir/second.db" <<SQL
.timeout 5000
INSERT INTO app_source_snapshots (id, data) VALUES ('0123456789abcdef01234567', json_object(
  '_id', '0123456789abcdef01234567', 'workspaceId', '$ws', 'appId', '$app', 'kind', 'draft',
  'hash', 'bench', 'files', json_array(
    json_object('path', 'dist/index.html', 'content', '<!doctype html><html lang="en"><head>' ||
      '<meta charset="UTF-8"><title>Bench</title><script type="module" crossorigin ' ||
      'src="./assets/index-Bx1.js"></script><link rel="stylesheet" crossorigin ' ||
      'href="./assets/index-Cs2.css"></head><body><div id="root"></div></body></html>'),
    json_object('path', 'dist/assets/index-Bx1.js',
      'content', CAST(readfile('$dir/bundle.txt') AS TEXT)),
    json_object('path', 'dist/assets/index-Cs2.css',
      'content', CAST(readfile('$dir/style.txt') AS TEXT)),
    json_object('path', 'src/App.tsx', 'content', CAST(readfile('$dir/source.txt') AS TEXT)))));
UPDATE apps SET data = json_set(data, '\$.draftSnapshotId', '0123456789abcdef01234567',
  '\$.draftSourceHash', 'bench') WHERE id = '$app';
SQL
loc=$(curl -sS -o /dev/null -D - -b "$dir/jar" "$base/preview/$ws/$app/draft/" |
	tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
case $loc in
/preview/*/~*/) ;;
*) echo "api-bench: no preview token redirect (got '$loc')"; exit 1 ;;
esac
curl -fsS -o /dev/null "$base${loc}index.html" ||
	{ echo "api-bench: the preview is not served"; exit 1; }
run_wrk "GET /preview/.../~token/index.html" "$base${loc}index.html" "" prev
ttfb() { # p50 of time to first byte in ms over 200 sequential warm requests
	for i in $(seq 1 200); do curl -sS -o /dev/null -w '%{time_starttransfer}\n' "$1"; done |
		sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", v[int(NR / 2)] * 1000 }'
}
awk -v a="$prev_rps" -v b="$base_rps" -v t="$(ttfb "$base${loc}index.html")" \
	-v h="$(ttfb "$base/hello")" 'BEGIN {
	printf "ratio (preview / baseline req/s): %.2f\n", a / b
	printf "time to first byte, sequential p50: preview %.2f ms, baseline %.2f ms\n", t, h }'
