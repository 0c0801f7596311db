/* build-bench: done_building's wall time on the app template, cold and warm, against Vite.
 *
 * The tool is called the way a runtime calls it, as an MCP tools/call with a broker session's
 * bearer token (broker_handle in memory, without the HTTP hop), so the whole of P-5 runs:
 * checks, install decision, npm under workerd's sandbox (bwrap when it works here, as
 * workerd.sandbox=auto does), typecheck and build at once, the snapshot walk. On a copy of
 * workerd/template it times, N runs each, in one run:
 *   cold      no node_modules: install + typecheck + build;
 *   warm      node_modules in place and one source line changed: typecheck + build;
 *   vite      the baseline, `npx vite build` alone in the warm copy, no sandbox;
 *   warm-up   the P-4 install alone (build_warmup_start, then wait), which a new workspace
 *             runs while the agent writes code.
 * npm runs offline (a project .npmrc) on $top_builddir/var/npm-cache, the cache
 * tests/integration/template.sh fills; an untimed first build fills whatever it lacks.
 * Prints the p50 of each and its ratio to the baseline. usage: build-bench [N] */
#include <config.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "workerd/broker.h"
#include "workerd/build.h"
#include "workerd/env.h"
#include "workerd/files.h"
#include "workerd/workerd.h"

#define BENCH_PATH_MAX 1024

static struct workerd w;
static struct broker *b;
static char id[BROKER_ID_LEN + 1], auth[BROKER_TOKEN_LEN + 16];
static char dir[BENCH_PATH_MAX];

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *c)
{
	double x = *(const double *)a, y = *(const double *)c;
	return x < y ? -1 : x > y;
}

static double p50(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[n / 2];
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void rm_rel(const char *rel)
{
	char path[BENCH_PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *rel, const char *text, const char *mode)
{
	char path[BENCH_PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	FILE *f = fopen(path, mode);
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "build-bench: cannot write %s\n", path);
		exit(1);
	}
}

/* One done_building over the broker; exits unless it reports status complete. */
static double done_building(void)
{
	static const char body[] =
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
		"{\"name\":\"done_building\",\"arguments\":{\"summary\":\"bench\"}}}";
	char *reply = NULL;
	double t0 = now_ms();
	int status = broker_handle(b, id, "second", auth, body, strlen(body), &reply);
	double took = now_ms() - t0;
	json_t *r = reply ? json_loads(reply, 0, NULL) : NULL;
	const char *text = jsonx_str(json_array_get(jsonx_path_get(r, "result.content"), 0),
				     "text");
	json_t *res = text ? json_loads(text, 0, NULL) : NULL;
	const char *st = jsonx_str(res, "status");
	if (status != 200 || !st || strcmp(st, "complete") != 0) {
		fprintf(stderr, "build-bench: done_building did not complete (HTTP %d):\n%s\n",
			status,
			text    ? text
			: reply ? reply
				: "(no reply)");
		exit(1);
	}
	json_decref(res);
	json_decref(r);
	free(reply);
	return took;
}

static double vite_build(void)
{
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		if (chdir(dir) != 0 || !freopen("vite.log", "w", stdout) || dup2(1, 2) < 0)
			_exit(126);
		execlp("npx", "npx", "--no-install", "vite", "build", (char *)NULL);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "build-bench: npx vite build failed, see %s/vite.log\n", dir);
		exit(1);
	}
	return now_ms() - t0;
}

static int64_t skew;

static int64_t skewed_clock(void)
{
	return time_mono_ms() + skew;
}

static double warm_up(void)
{
	double t0 = now_ms();
	if (build_warmup_start(&w, dir) != BUILD_WARMUP_STARTED ||
	    build_warmup_wait(dir) != BUILD_WARMUP_SUCCEEDED) {
		fprintf(stderr, "build-bench: the warm-up did not install\n");
		exit(1);
	}
	return now_ms() - t0;
}

/* As workerd.sandbox=auto: bwrap when it is installed and runs here. */
static const char *probe_bwrap(void)
{
	static char bin[BENCH_PATH_MAX];
	char cmd[BENCH_PATH_MAX + 96];
	if (env_find_binary(NULL, "bwrap", getenv("PATH"), bin, sizeof(bin)) < 0)
		return NULL;
	snprintf(cmd, sizeof(cmd), "'%s' --ro-bind / / --dev /dev --proc /proc true 2>/dev/null",
		 bin);
	return system(cmd) == 0 ? bin : NULL;
}

int main(int argc, char **argv)
{
	const char *src = getenv("top_srcdir"), *bld = getenv("top_builddir");
	int n = argc > 1 ? atoi(argv[1]) : 3;
	char tpl[BENCH_PATH_MAX], var[BENCH_PATH_MAX], token[BROKER_TOKEN_LEN + 1];
	struct err e = {0};
	if (!src || !bld || n < 1 || n > 50)
		return fprintf(stderr, "usage: top_srcdir=... top_builddir=... build-bench [N "
				       "1..50]\n"),
		       2;
	log_init("build-bench", LOG_LEVEL_WARNING, LOG_TARGET_STDERR);
	snprintf(tpl, sizeof(tpl), "%s/workerd/template", src);
	snprintf(var, sizeof(var), "%s/var", bld);
	snprintf(dir, sizeof(dir), "%s/second-build-bench-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir) || files_copy_tree(tpl, dir, &e) < 0)
		return fprintf(stderr, "build-bench: cannot copy the template: %s\n", e.msg), 1;
	w.runtime_dir = var;
	w.runtime_path = getenv("PATH");
	w.bwrap_path = probe_bwrap();
	b = broker_new(&w);
	json_t *ctx = json_pack("{s:s}", "cwd", dir);
	if (broker_open(b, "claude-code", NULL, ctx, id, token, &e) < 0)
		return fprintf(stderr, "build-bench: broker: %s\n", e.msg), 1;
	json_decref(ctx);
	snprintf(auth, sizeof(auth), "Bearer %s", token);

	done_building(); /* fills the cache if it must, and the page cache */
	put(".npmrc", "offline=true\n", "w");
	double *cold = calloc((size_t)n, sizeof(double)), *warm = calloc((size_t)n, sizeof(double));
	double *vite = calloc((size_t)n, sizeof(double)), *wu = calloc((size_t)n, sizeof(double));
	if (!cold || !warm || !vite || !wu)
		abort();
	for (int i = 0; i < n; i++) {
		rm_rel("node_modules");
		rm_rel("dist");
		cold[i] = done_building();
	}
	for (int i = 0; i < n; i++) {
		char line[64];
		snprintf(line, sizeof(line), "// build-bench edit %d\n", i);
		put("src/App.tsx", line, "a");
		warm[i] = done_building();
	}
	for (int i = 0; i < n; i++)
		vite[i] = vite_build();
	build_warmup_set_clock(skewed_clock);
	for (int i = 0; i < n; i++) {
		rm_rel("node_modules");
		wu[i] = warm_up();
		skew += BUILD_WARMUP_KEEP_MS; /* the settled entry is forgotten: the next starts */
	}
	double c = p50(cold, n), wm = p50(warm, n), v = p50(vite, n), u = p50(wu, n);
	printf("build-bench: done_building on the template, p50 of %d runs (sandbox %s, npm "
	       "offline on %s/npm-cache)\n",
	       n, w.bwrap_path ? "bwrap" : "off", var);
	printf("  cold (install + typecheck + build)  %8.0f ms  %5.2fx vite\n", c, c / v);
	printf("  warm (typecheck + build)            %8.0f ms  %5.2fx vite\n", wm, wm / v);
	printf("  vite build alone (baseline)         %8.0f ms  %5.2fx vite\n", v, 1.0);
	printf("  warm-up install alone (P-4)         %8.0f ms  %5.2fx vite\n", u, u / v);
	broker_free(b);
	free(cold), free(warm), free(vite), free(wu);
	if (!getenv("SECOND_TEST_KEEP"))
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
