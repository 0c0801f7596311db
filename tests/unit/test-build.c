/* Unit tests of workerd/build.c: the dependency warm-up (P-4) and done_building waiting for it
 * (P-5 step 3), with the real npm.
 *
 * Each test scaffolds a temp dir (from workerd/template, or a small project of local `file:`
 * packages that installs offline), starts a warm-up with no sandbox, and looks at what it
 * left. npm's cache is $top_builddir/var/npm-cache, the one tests/integration/template.sh
 * fills, so the template installs without the network once that test has run. Settled
 * entries are aged with a fake clock. The program is skipped (77) when npm is missing. */
#include <config.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/timeutil.h"
#include "workerd/build.h"
#include "workerd/env.h"
#include "workerd/files.h"
#include "workerd/workerd.h"

static struct workerd w;
static char var_dir[1024], dir[1024];
static int64_t fake_now = 1000000;

static int64_t fake_clock(void)
{
	return fake_now;
}

/* Runs in the runner process only. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	char npm[1024];
	(void)set;
	if (env_find_binary(NULL, "npm", getenv("PATH"), npm, sizeof(npm)) < 0) {
		fprintf(stderr, "SKIP: npm is not installed (install Node.js 20 with npm)\n");
		exit(77);
	}
}

static void setup(void)
{
	const char *b = getenv("top_builddir");
	char cache[1100];
	struct err e = {0};
	snprintf(var_dir, sizeof(var_dir), "%s/var", b ? b : ".");
	snprintf(cache, sizeof(cache), "%s/npm-cache", var_dir);
	cr_assert_eq(files_mkdirs(cache, &e), 0, "%s", e.msg);
	w.runtime_dir = var_dir;
	w.runtime_path = getenv("PATH");
	w.bwrap_path = NULL;
	snprintf(dir, sizeof(dir), "%s/second-build-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(dir));
	build_warmup_set_clock(fake_clock);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void teardown(void)
{
	build_warmup_shutdown();
	if (!getenv("SECOND_TEST_KEEP"))
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(build, .init = setup, .fini = teardown, .timeout = 240);

static bool has(const char *rel)
{
	char path[1200];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return lstat(path, &st) == 0;
}

static void put(const char *rel, const char *text)
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	struct err e = {0};
	cr_assert_eq(files_mkdirs(path, &e), 0, "%s", e.msg);
	*slash = '/';
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void scaffold_template(void)
{
	char src[1100];
	const char *s = getenv("top_srcdir");
	struct err e = {0};
	snprintf(src, sizeof(src), "%s/workerd/template", s ? s : "..");
	cr_assert_eq(files_copy_tree(src, dir, &e), 0, "%s", e.msg);
}

/* A project that installs offline from a local package, then runs its own postinstall. */
static void scaffold_local(const char *postinstall)
{
	char pkg[512];
	put("local-a/package.json", "{\"name\":\"local-a\",\"version\":\"1.0.0\"}\n");
	snprintf(pkg, sizeof(pkg),
		 "{\"name\":\"app\",\"version\":\"1.0.0\",\"private\":true,"
		 "\"dependencies\":{\"local-a\":\"file:./local-a\"},"
		 "\"scripts\":{\"postinstall\":\"%s\"}}\n",
		 postinstall);
	put("package.json", pkg);
	put(".npmrc", "offline=true\n");
}

static struct timespec mtime(const char *rel)
{
	char path[1200];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	return st.st_mtim;
}

/* done_building's result text for the app in dir (malloc'd). */
static char *done_building(void)
{
	json_t *context = json_pack("{s:s}", "cwd", dir);
	json_t *args = json_pack("{s:s}", "summary", "The starter app");
	struct tool_ctx ctx = {.context = context, .w = &w, .server = "second"};
	struct tool_result out;
	build_done_building(&ctx, args, &out);
	char *text = out.text;
	out.text = NULL;
	tool_result_clear(&out);
	json_decref(args);
	json_decref(context);
	cr_assert_not_null(text);
	return text;
}

static const char *start_name(enum build_warmup_start r)
{
	static const char *const names[] = {"started", "running", "recent", "not needed",
					    "refused"};
	return names[r];
}

Test(build, warm_up_installs_the_template_once)
{
	scaffold_template();
	enum build_warmup_start r = build_warmup_start(&w, dir);
	cr_assert_eq(r, BUILD_WARMUP_STARTED, "%s", start_name(r));
	r = build_warmup_start(&w, dir);
	cr_expect_eq(r, BUILD_WARMUP_RUNNING, "a second start while it runs: %s", start_name(r));
	cr_assert_eq(build_warmup_wait(dir), BUILD_WARMUP_SUCCEEDED);
	cr_expect(has("node_modules/vite/package.json"));
	cr_expect(has("node_modules/typescript/package.json"));
	/* What it installed is what done_building wants: it builds without installing again. */
	struct timespec before = mtime("node_modules/.package-lock.json");
	char *text = done_building();
	cr_expect(strstr(text, "\"status\":\"complete\"") != NULL, "%s", text);
	free(text);
	struct timespec after = mtime("node_modules/.package-lock.json");
	cr_expect(before.tv_sec == after.tv_sec && before.tv_nsec == after.tv_nsec,
		  "done_building installed again after the warm-up");
	r = build_warmup_start(&w, dir);
	cr_expect_eq(r, BUILD_WARMUP_RECENT, "%s", start_name(r));
	/* Forgotten five minutes after it settled; node_modules now makes it unneeded. */
	fake_now += BUILD_WARMUP_KEEP_MS;
	cr_expect_eq(build_warmup_wait(dir), BUILD_WARMUP_NONE);
	r = build_warmup_start(&w, dir);
	cr_expect_eq(r, BUILD_WARMUP_NOT_NEEDED, "%s", start_name(r));
}

Test(build, warm_up_is_not_needed_without_package_json_or_with_node_modules)
{
	cr_expect_eq(build_warmup_start(&w, dir), BUILD_WARMUP_NOT_NEEDED);
	put("package.json", "{\"name\":\"app\"}\n");
	put("node_modules/.keep", "");
	cr_expect_eq(build_warmup_start(&w, dir), BUILD_WARMUP_NOT_NEEDED);
	cr_expect_eq(build_warmup_wait(dir), BUILD_WARMUP_NONE);
}

Test(build, failed_warm_up_removes_node_modules)
{
	static const char *const packages[] = {
		/* npm installs, then the project's own script fails */
		NULL,
		/* offline, a package that is not in the cache fails before anything is written */
		"{\"name\":\"app\",\"version\":\"1.0.0\",\"dependencies\":"
		"{\"second-no-such-package-4f1c\":\"1.0.0\"}}\n",
	};
	for (size_t i = 0; i < sizeof(packages) / sizeof(packages[0]); i++) {
		if (packages[i]) {
			put("package.json", packages[i]);
			put(".npmrc", "offline=true\n");
		} else {
			scaffold_local("exit 3");
		}
		cr_assert_eq(build_warmup_start(&w, dir), BUILD_WARMUP_STARTED, "case %zu", i);
		cr_assert_eq(build_warmup_wait(dir), BUILD_WARMUP_FAILED, "case %zu", i);
		cr_expect(!has("node_modules"), "case %zu left node_modules", i);
		/* Remembered until five minutes after it settled, then started again. */
		cr_expect_eq(build_warmup_start(&w, dir), BUILD_WARMUP_RECENT, "case %zu", i);
		fake_now += BUILD_WARMUP_KEEP_MS;
		cr_expect_eq(build_warmup_start(&w, dir), BUILD_WARMUP_STARTED, "case %zu", i);
		cr_expect_eq(build_warmup_wait(dir), BUILD_WARMUP_FAILED, "case %zu", i);
		fake_now += BUILD_WARMUP_KEEP_MS;
	}
}

Test(build, shutdown_stops_a_running_warm_up)
{
	scaffold_local("sleep 600");
	cr_assert_eq(build_warmup_start(&w, dir), BUILD_WARMUP_STARTED);
	/* The postinstall runs once node_modules is in place. */
	for (int i = 0; i < 600 && !has("node_modules/local-a"); i++)
		usleep(50000);
	cr_assert(has("node_modules/local-a"), "npm did not install the local package");
	usleep(300000);
	int64_t t0 = time_mono_ms();
	build_warmup_shutdown();
	int64_t took = time_mono_ms() - t0;
	cr_expect_lt(took, BUILD_WARMUP_STOP_WAIT_MS, "shutdown took %lld ms", (long long)took);
	cr_expect_eq(build_warmup_wait(dir), BUILD_WARMUP_NONE, "settled entries are freed");
	cr_expect(!has("node_modules"), "the killed install left node_modules");
	cr_expect_eq(build_warmup_start(&w, dir), BUILD_WARMUP_REFUSED);
	/* Nor does done_building start npm any more. */
	put("index.html", "<!doctype html>\n");
	put("src/main.tsx", "export {};\n");
	char *text = done_building();
	cr_expect_str_eq(text, "Build failed: the worker is stopping. Call done_building again.");
	free(text);
}

Test(build, done_building_waits_for_the_warm_up)
{
	scaffold_template();
	cr_assert_eq(build_warmup_start(&w, dir), BUILD_WARMUP_STARTED);
	char *text = done_building();
	cr_expect_eq(build_warmup_wait(dir), BUILD_WARMUP_SUCCEEDED);
	json_t *res = json_loads(text, 0, NULL);
	cr_assert_not_null(res, "not JSON: %s", text);
	cr_expect_str_eq(jsonx_str(res, "status"), "complete", "%s", text);
	cr_expect(has("dist/index.html"));
	json_decref(res);
	free(text);
}

Test(build, done_building_puts_back_types_node)
{
	scaffold_local("exit 0");
	put("package.json", "{\n  \"name\": \"app\",\n  \"devDependencies\": "
			    "{\"local-a\": \"file:./local-a\"}\n}\n");
	put("index.html", "<!doctype html>\n");
	put("src/main.tsx", "export {};\n");
	free(done_building()); /* fails later on: the project has no build script */
	char path[1200];
	snprintf(path, sizeof(path), "%s/package.json", dir);
	json_t *pkg = json_load_file(path, 0, NULL);
	cr_assert_not_null(pkg);
	cr_expect_str_eq(jsonx_str(json_object_get(pkg, "devDependencies"), "@types/node"),
			 "^20.19.0");
	cr_expect_str_eq(jsonx_str(json_object_get(pkg, "devDependencies"), "local-a"),
			 "file:./local-a");
	json_decref(pkg);
	/* Not valid JSON: the build stops before npm with the parser's message. */
	put("package.json", "{\"name\":");
	char *text = done_building();
	cr_expect(strstr(text, "Build failed before install/build: ") == text, "%s", text);
	free(text);
}
