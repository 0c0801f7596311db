/* done_building (P-5): the app in the turn's workspace is installed when needed, type-checked
 * and built (both at once), and its files are collected as a snapshot would be.
 *
 * npm runs in the same sandbox as the runtime (bubblewrap when workerd has it: the workspace
 * and the shared npm cache writable, nothing else), with the allow-listed environment, so the
 * project's own scripts get no more than the agent that wrote them. Output given back to the
 * agent is bounded (BUILD_OUTPUT_MAX per command) and keeps the end, where errors are. */
#include <config.h>

#include "workerd/build.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "workerd/env.h"
#include "workerd/files.h"
#include "workerd/proc.h"
#include "workerd/workerd.h"

extern char **environ;

struct output {
	char *p;
	size_t len;
};

static int keep_line(void *arg, char *line, size_t len, bool truncated)
{
	(void)truncated;
	struct output *o = arg;
	if (len > BUILD_OUTPUT_MAX)
		len = BUILD_OUTPUT_MAX;
	if (o->len + len + 1 > BUILD_OUTPUT_MAX) {
		/* Keep the end: drop from the front. */
		size_t drop = o->len + len + 1 - BUILD_OUTPUT_MAX;
		if (drop > o->len)
			drop = o->len;
		memmove(o->p, o->p + drop, o->len - drop);
		o->len -= drop;
	}
	memcpy(o->p + o->len, line, len);
	o->len += len;
	o->p[o->len++] = '\n';
	o->p[o->len] = '\0';
	return 0;
}

struct job {
	const char *name;
	struct proc *p;
	struct output out;
	int status;
	bool ran;
};

static int start(struct workerd *w, const char *cwd, const char *cache, const char *const *args,
		 struct job *j, struct err *e)
{
	char npm[WORKSPACE_PATH_MAX];
	const char *argv[16];
	size_t n = 0;
	if (env_find_binary(NULL, "npm", w ? w->runtime_path : getenv("PATH"), npm, sizeof(npm)) <
	    0)
		return err_set(e, ERR_UNAVAILABLE, "npm was not found");
	argv[n++] = npm;
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct env_list env = {0};
	env_from_allowlist(&env, environ);
	if (w)
		env_set(&env, "PATH", w->runtime_path);
	env_set(&env, "npm_config_cache", cache);
	env_set(&env, "npm_config_update_notifier", "false");
	env_set(&env, "CI", "1");
	const char *rw[] = {cwd, cache, NULL};
	struct proc_spec spec = {.argv = argv,
				 .envp = (const char *const *)env_finish(&env),
				 .cwd = cwd,
				 .bwrap = w ? w->bwrap_path : NULL,
				 .sandbox_rw = rw};
	int rc = proc_spawn(&spec, &j->p, e);
	env_free(&env);
	j->out.p = calloc(1, BUILD_OUTPUT_MAX + 2);
	if (!j->out.p)
		abort();
	return rc;
}

static void *collect(void *arg)
{
	struct job *j = arg;
	proc_set_timeout(j->p, BUILD_TIMEOUT_MS);
	proc_read_lines(j->p, keep_line, &j->out);
	proc_wait(j->p, &j->status);
	const char *tail = proc_stderr_tail(j->p);
	if (*tail)
		keep_line(&j->out, (char *)tail, strlen(tail), false);
	j->ran = true;
	return NULL;
}

static bool ok(const struct job *j)
{
	return j->ran && WIFEXITED(j->status) && WEXITSTATUS(j->status) == 0;
}

static void job_free(struct job *j)
{
	proc_free(j->p);
	free(j->out.p);
}

static bool exists(const char *dir, const char *rel)
{
	char path[WORKSPACE_PATH_MAX];
	struct stat st;
	return snprintf(path, sizeof(path), "%s/%s", dir, rel) < (int)sizeof(path) &&
	       stat(path, &st) == 0;
}

static bool newer(const char *dir, const char *a, const char *b)
{
	char pa[WORKSPACE_PATH_MAX], pb[WORKSPACE_PATH_MAX];
	struct stat sa, sb;
	snprintf(pa, sizeof(pa), "%s/%s", dir, a);
	snprintf(pb, sizeof(pb), "%s/%s", dir, b);
	return stat(pa, &sa) == 0 && stat(pb, &sb) == 0 && sa.st_mtime > sb.st_mtime;
}

/* P-5 step 4: whether some declared dependency is not installed. */
static bool deps_missing(const char *cwd)
{
	char path[WORKSPACE_PATH_MAX];
	struct err e = {0};
	snprintf(path, sizeof(path), "%s/package.json", cwd);
	FILE *f = fopen(path, "re");
	if (!f)
		return true;
	char *buf = malloc(BUILD_PACKAGE_JSON_MAX + 1);
	if (!buf)
		abort();
	size_t n = fread(buf, 1, BUILD_PACKAGE_JSON_MAX, f);
	fclose(f);
	json_t *pkg = jsonx_loadb(buf, n, BUILD_PACKAGE_JSON_MAX, JSON_MAX_DEPTH, &e);
	free(buf);
	bool missing = pkg == NULL;
	static const char *const groups[] = {"dependencies", "devDependencies"};
	for (size_t g = 0; g < 2 && !missing; g++) {
		const char *name;
		json_t *v;
		json_object_foreach (json_object_get(pkg, groups[g]), name, v) {
			char rel[WORKSPACE_PATH_MAX];
			snprintf(rel, sizeof(rel), "node_modules/%s/package.json", name);
			if (!exists(cwd, rel)) {
				missing = true;
				break;
			}
		}
	}
	json_decref(pkg);
	return missing;
}

static void fail(struct tool_result *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(struct tool_result *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&out->text, fmt, ap) < 0)
		abort();
	va_end(ap);
	out->is_error = false; /* the agent reads the text and fixes the build */
}

void build_done_building(const struct tool_ctx *ctx, const json_t *args, struct tool_result *out)
{
	const char *cwd = jsonx_str(ctx->context, "cwd");
	const char *summary = jsonx_str(args, "summary");
	struct workerd *w = ctx->w;
	struct err e = {0};
	memset(out, 0, sizeof(*out));
	if (!cwd) {
		fail(out, "Build failed: no app workspace is attached to this session.");
		return;
	}
	static const char *const required[] = {"package.json", "index.html", "src/main.tsx", NULL};
	char missing[512] = "";
	for (size_t i = 0; required[i]; i++)
		if (!exists(cwd, required[i]))
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
				 "\n- %s", required[i]);
	if (*missing) {
		fail(out,
		     "Build failed — required project files are missing:%s\n\nRestore the Vite "
		     "project structure and call done_building again.",
		     missing);
		return;
	}
	char cache[WORKSPACE_PATH_MAX];
	snprintf(cache, sizeof(cache), "%s/npm-cache", w ? w->runtime_dir : "/tmp");
	if (files_mkdirs(cache, &e) < 0) {
		fail(out, "Build failed before install/build: %s", e.msg);
		return;
	}
	if (!exists(cwd, "node_modules") || !exists(cwd, "package-lock.json") ||
	    newer(cwd, "package.json", "package-lock.json") || deps_missing(cwd)) {
		static const char *const install[] = {"install",   "--include=dev",    "--no-audit",
						      "--no-fund", "--prefer-offline", NULL};
		struct job j = {.name = "install"};
		if (start(w, cwd, cache, install, &j, &e) < 0) {
			fail(out, "Build failed before install/build: %s", e.msg);
			free(j.out.p);
			return;
		}
		collect(&j);
		if (!ok(&j)) {
			fail(out,
			     "Build failed while installing dependencies. Fix the issue below, "
			     "then "
			     "call done_building again:\n\n%s",
			     j.out.p);
			job_free(&j);
			return;
		}
		job_free(&j);
	}
	static const char *const build[] = {"run", "build", NULL};
	static const char *const typecheck[] = {"run", "typecheck", NULL};
	struct job jb = {.name = "build"}, jt = {.name = "typecheck"};
	pthread_t tb, tt;
	if (start(w, cwd, cache, build, &jb, &e) < 0 ||
	    start(w, cwd, cache, typecheck, &jt, &e) < 0) {
		fail(out, "Build failed before install/build: %s", e.msg);
		job_free(&jb);
		job_free(&jt);
		return;
	}
	pthread_create(&tb, NULL, collect, &jb);
	pthread_create(&tt, NULL, collect, &jt);
	pthread_join(tb, NULL);
	pthread_join(tt, NULL);
	if (!ok(&jb) || !ok(&jt)) {
		fail(out,
		     "Build failed — fix these errors then call done_building again:\n\nTypeScript "
		     "errors:\n%s\n\nBuild errors:\n%s",
		     ok(&jt) ? "(none)" : jt.out.p, ok(&jb) ? "(none)" : jb.out.p);
		job_free(&jb);
		job_free(&jt);
		return;
	}
	job_free(&jb);
	job_free(&jt);
	if (!exists(cwd, "dist/index.html")) {
		fail(out, "Build failed — dist/index.html was not produced. Check the Vite "
			  "configuration and index.html, then call done_building again.");
		return;
	}
	json_t *files = NULL;
	if (files_collect(cwd, &files, &e) < 0) {
		fail(out,
		     "Build finished but snapshot persistence failed:\n\n%s\n\nReduce snapshot "
		     "size "
		     "and call done_building again.",
		     e.msg);
		return;
	}
	size_t total = 0;
	const char *k;
	json_t *v;
	json_object_foreach (files, k, v)
		total += json_string_length(v);
	json_t *res = json_pack("{s:s, s:s, s:I, s:I, s:n}", "status", "complete", "summary",
				summary ? summary : "", "fileCount",
				(json_int_t)json_object_size(files), "totalBytes",
				(json_int_t)total, "warning");
	json_decref(files);
	out->text = jsonx_dumps_compact(res, NULL);
	json_decref(res);
	log_info("done_building: %s built", cwd);
}
