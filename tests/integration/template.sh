#!/bin/sh
# The workspace template installs from its lock file, type-checks and builds: npm ci, npm run
# typecheck, npm run build, then dist/index.html must reference a built script.
# The npm cache lives in $top_builddir/var/npm-cache so later runs need little or no network.
set -eu
: "${top_srcdir:?}"
: "${top_builddir:?}"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "SKIP: node and npm are required (install Node.js 20 with npm)"
	exit 77
fi
src="$top_srcdir/workerd/template"
[ -f "$src/package.json" ] || { echo "FAIL: $src/package.json missing"; exit 1; }
cache="$top_builddir/var/npm-cache"
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/second-template-XXXXXX")
cleanup() { rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

app="$dir/app"
cp -R "$src" "$app"
cd "$app"
rm -rf node_modules dist
[ -f package-lock.json ] || fail "package-lock.json missing from the template"

step() {
	name=$1; shift
	if ! "$@" >"$dir/$name.log" 2>&1; then
		echo "--- $name output ---"
		tail -n 60 "$dir/$name.log"
		fail "$name: '$*' failed"
	fi
	echo "ok: $name"
}
step install npm ci --no-audit --no-fund --prefer-offline --cache "$cache"
step typecheck npm run typecheck
step build npm run build

[ -f dist/index.html ] || fail "dist/index.html was not produced"
js=$(sed -n 's/.*<script[^>]*src="\([^"]*\.js\)".*/\1/p' dist/index.html | head -n 1)
[ -n "$js" ] || fail "dist/index.html references no built script"
case "$js" in
	./assets/*) ;;
	*) fail "script '$js' is not relative to the page (vite base must be \"./\")" ;;
esac
[ -f "dist/${js#./}" ] || fail "dist/index.html references $js, which was not built"
echo "ok: dist/index.html loads $js"
