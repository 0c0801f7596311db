/* done_building (P-5) and the dependency warm-up (P-4): npm in an app's workspace.
 *
 * Every npm command runs the same way (npm_spawn): in the same sandbox as the runtime
 * (bubblewrap when workerd has it: the workspace and the shared npm cache
 * <runtime_dir>/npm-cache writable, nothing else), with the allow-listed environment, so the
 * project's own scripts get no more than the agent that wrote them. Output given back to the
 * agent is bounded (BUILD_OUTPUT_MAX per command) and keeps the end, where errors are.
 *
 * Warm-ups are one table of entries keyed by directory, under one mutex; a condition variable
 * wakes whoever waits for one to settle (done_building, shutdown). Each warm-up is a detached
 * thread that spawns npm itself (bwrap's --die-with-parent follows the thread that forked it,
 * so not the short-lived request thread), reaps it, removes node_modules if it failed, and
 * marks its entry settled. A settled entry is forgotten BUILD_WARMUP_KEEP_MS later, when the
 * table is next touched; until then the directory is not warmed again. The entry owns copies
 * of everything it uses, so a session deleted meanwhile changes nothing for it. */
#include <config.h>

#include "workerd/build.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
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
#include "workerd/env.h"
#include "workerd/files.h"
#include "workerd/proc.h"
#include "workerd/workerd.h"

extern char **environ;

/* P-4 and P-5 step 4 install alike; the lock file and the shared cache make it quick. */
static const char *const npm_install[] = {"install",   "--include=dev",    "--no-audit",
					  "--no-fund", "--prefer-offline", NULL};

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
	struct proc *p;
	struct output out;
	int timeout_ms;
	int status;
	bool ran;
};

/* Starts `npm args...` in cwd; j->out is allocated whatever happens (job_free releases it). */
static int npm_spawn(struct workerd *w, const char *cwd, const char *const *args, struct job *j,
		     struct err *e)
{
	char npm[WORKSPACE_PATH_MAX], cache[WORKSPACE_PATH_MAX];
	const char *argv[16];
	size_t n = 0;
	j->out.p = calloc(1, BUILD_OUTPUT_MAX + 2);
	if (!j->out.p)
		abort();
	if (env_find_binary(NULL, "npm", w ? w->runtime_path : getenv("PATH"), npm, sizeof(npm)) <
	    0)
		return err_set(e, ERR_UNAVAILABLE, "npm was not found");
	snprintf(cache, sizeof(cache), "%s/npm-cache", w ? w->runtime_dir : "/tmp");
	if (files_mkdirs(cache, e) < 0)
		return -1;
	/* The cache may be a link to one shared further; the sandbox binds the real directory. */
	char real[PATH_MAX];
	if (realpath(cache, real) && strlen(real) < sizeof(cache))
		memcpy(cache, real, strlen(real) + 1);
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
	return rc;
}

/* Reads the job's output to the end and reaps it; runs in any thread. */
static void *collect(void *arg)
{
	struct job *j = arg;
	proc_set_timeout(j->p, j->timeout_ms);
	/* A read error leaves less output; proc_wait below still reaps and reports. */
	(void)proc_read_lines(j->p, keep_line, &j->out);
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

/* The app's package.json parsed (new ref), or NULL with e set. Not followed when it is a
 * symlink: the agent owns the workspace, not what lies outside it. */
static json_t *package_json(const char *cwd, struct err *e)
{
	char path[WORKSPACE_PATH_MAX];
	snprintf(path, sizeof(path), "%s/package.json", cwd);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err_set(e, ERR_IO, "package.json cannot be read: %s", strerror(errno));
		return NULL;
	}
	char *buf = malloc(BUILD_PACKAGE_JSON_MAX + 1);
	if (!buf)
		abort();
	size_t n = 0;
	ssize_t k;
	while (n <= BUILD_PACKAGE_JSON_MAX &&
	       (k = read(fd, buf + n, BUILD_PACKAGE_JSON_MAX + 1 - n)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	json_t *pkg = jsonx_loadb(buf, n, BUILD_PACKAGE_JSON_MAX, JSON_MAX_DEPTH, e);
	free(buf);
	if (pkg && !json_is_object(pkg)) {
		json_decref(pkg);
		err_set(e, ERR_INVALID, "package.json is not a JSON object");
		return NULL;
	}
	return pkg;
}

/* P-5 step 2: the template's type-checking needs @types/node; an app that dropped it gets it
 * back. The file is replaced (written aside, then renamed), never written through a link. */
static int ensure_types_node(const char *cwd, struct err *e)
{
	json_t *pkg = package_json(cwd, e);
	if (!pkg)
		return -1;
	json_t *dev = json_object_get(pkg, "devDependencies");
	if (json_is_object(dev) && json_object_get(dev, "@types/node")) {
		json_decref(pkg);
		return 0;
	}
	if (dev && !json_is_object(dev)) {
		json_decref(pkg);
		return err_set(e, ERR_INVALID, "package.json: devDependencies is not an object");
	}
	if (!dev) {
		dev = json_object();
		json_object_set_new(pkg, "devDependencies", dev);
	}
	json_object_set_new(dev, "@types/node", json_string("^20.19.0"));
	char *text = json_dumps(pkg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(pkg);
	if (!text)
		abort();
	char path[WORKSPACE_PATH_MAX], tmp[WORKSPACE_PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/package.json", cwd);
	snprintf(tmp, sizeof(tmp), "%s.second-tmp", path);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	size_t len = strlen(text);
	bool written = fd >= 0 && write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
	free(text);
	if (fd >= 0 && close(fd) < 0)
		written = false;
	if (!written || rename(tmp, path) < 0) {
		err_set(e, ERR_IO, "package.json cannot be written: %s", strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* P-5 step 4: whether some declared dependency is not installed. */
static bool deps_missing(const char *cwd)
{
	struct err e = {0};
	json_t *pkg = package_json(cwd, &e);
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

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	/* One entry that will not go does not stop the others; the caller checks the root. */
	(void)remove(path);
	return 0;
}

/* Removes <dir>/node_modules; a link there is removed, never followed. */
static void remove_node_modules(const char *dir)
{
	char path[WORKSPACE_PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/node_modules", dir);
	if (lstat(path, &st) < 0)
		return;
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 || lstat(path, &st) == 0)
		log_warning("warm-up of %s: node_modules could not be removed", dir);
}

/* --- P-4: the warm-up table --- */

struct warmup {
	struct warmup *next;
	char *dir;
	struct workerd *w;
	struct proc *p; /* while npm runs; the thread clears it before freeing */
	bool running, ok;
	int64_t settled_ms; /* on the table's clock */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t settled; /* CLOCK_MONOTONIC */
	struct warmup *head;
	size_t n, running;
	bool stopping;
	int64_t (*now)(void);
} warm = {.mu = PTHREAD_MUTEX_INITIALIZER, .now = time_mono_ms};

static pthread_once_t warm_once = PTHREAD_ONCE_INIT;

static void warm_init(void)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&warm.settled, &a);
	pthread_condattr_destroy(&a);
	/* Without it a running npm would outlive workerd and keep writing to the workspace. */
	if (atexit(build_warmup_shutdown) != 0)
		log_warning("warm-ups will not be stopped at exit");
}

static void warmup_free(struct warmup *x)
{
	free(x->dir);
	free(x);
}

/* Drops settled entries older than BUILD_WARMUP_KEEP_MS. Called with the lock held. */
static void prune(void)
{
	int64_t now = warm.now();
	for (struct warmup **pp = &warm.head; *pp;) {
		struct warmup *x = *pp;
		if (!x->running && now - x->settled_ms >= BUILD_WARMUP_KEEP_MS) {
			*pp = x->next;
			warm.n--;
			warmup_free(x);
		} else {
			pp = &x->next;
		}
	}
}

static struct warmup *find(const char *dir)
{
	for (struct warmup *x = warm.head; x; x = x->next)
		if (strcmp(x->dir, dir) == 0)
			return x;
	return NULL;
}

static void *warmup_run(void *arg)
{
	struct warmup *x = arg;
	struct job j = {.timeout_ms = BUILD_WARMUP_TIMEOUT_MS};
	struct err e = {0};
	int64_t t0 = time_mono_ms();
	char why[ERR_MSG_MAX] = "";
	if (npm_spawn(x->w, x->dir, npm_install, &j, &e) == 0) {
		pthread_mutex_lock(&warm.mu);
		x->p = j.p;
		if (warm.stopping)
			proc_terminate(j.p);
		pthread_mutex_unlock(&warm.mu);
		collect(&j);
		pthread_mutex_lock(&warm.mu);
		x->p = NULL;
		pthread_mutex_unlock(&warm.mu);
		proc_describe_status(j.status, why, sizeof(why));
	} else {
		snprintf(why, sizeof(why), "%s", e.msg);
	}
	bool good = ok(&j);
	job_free(&j);
	if (good) {
		log_info("warm-up of %s installed in %lld ms", x->dir,
			 (long long)(time_mono_ms() - t0));
	} else {
		remove_node_modules(x->dir);
		log_notice("warm-up of %s failed (%s); done_building will install", x->dir, why);
	}
	pthread_mutex_lock(&warm.mu);
	x->running = false;
	x->ok = good;
	x->settled_ms = warm.now();
	warm.running--;
	pthread_cond_broadcast(&warm.settled);
	pthread_mutex_unlock(&warm.mu);
	return NULL;
}

enum build_warmup_start build_warmup_start(struct workerd *w, const char *dir)
{
	pthread_once(&warm_once, warm_init);
	pthread_mutex_lock(&warm.mu);
	prune();
	struct warmup *x = find(dir);
	enum build_warmup_start rc = BUILD_WARMUP_STARTED;
	if (x)
		rc = x->running ? BUILD_WARMUP_RUNNING : BUILD_WARMUP_RECENT;
	else if (exists(dir, "node_modules") || !exists(dir, "package.json"))
		rc = BUILD_WARMUP_NOT_NEEDED;
	else if (warm.stopping || warm.running >= BUILD_WARMUP_MAX_RUNNING ||
		 warm.n >= BUILD_WARMUP_MAX_ENTRIES)
		rc = BUILD_WARMUP_REFUSED;
	if (rc != BUILD_WARMUP_STARTED) {
		bool stopping = warm.stopping;
		size_t running = warm.running, n = warm.n;
		pthread_mutex_unlock(&warm.mu);
		if (rc == BUILD_WARMUP_REFUSED && !stopping)
			log_notice("warm-up of %s not started: %zu running, %zu remembered", dir,
				   running, n);
		return rc;
	}
	x = calloc(1, sizeof(*x));
	if (!x || !(x->dir = strdup(dir)))
		abort();
	x->w = w;
	x->running = true;
	pthread_attr_t attr;
	pthread_t t;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int err = pthread_create(&t, &attr, warmup_run, x);
	pthread_attr_destroy(&attr);
	if (err != 0) {
		pthread_mutex_unlock(&warm.mu);
		log_warning("warm-up of %s not started: %s", dir, strerror(err));
		warmup_free(x);
		return BUILD_WARMUP_REFUSED;
	}
	x->next = warm.head;
	warm.head = x;
	warm.n++;
	warm.running++;
	pthread_mutex_unlock(&warm.mu);
	log_info("warm-up of %s started", dir);
	return BUILD_WARMUP_STARTED;
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

enum build_warmup_state build_warmup_wait(const char *dir)
{
	pthread_once(&warm_once, warm_init);
	struct timespec until;
	/* npm is killed at its timeout; the margin covers the grace period and the cleanup. */
	deadline_in(&until, BUILD_WARMUP_TIMEOUT_MS + BUILD_WARMUP_STOP_WAIT_MS);
	pthread_mutex_lock(&warm.mu);
	prune();
	struct warmup *x = find(dir);
	while (x && x->running &&
	       pthread_cond_timedwait(&warm.settled, &warm.mu, &until) != ETIMEDOUT)
		x = find(dir); /* shutdown frees settled entries: look it up after every wake */
	enum build_warmup_state st = !x           ? BUILD_WARMUP_NONE
				     : x->running ? BUILD_WARMUP_PENDING
				     : x->ok      ? BUILD_WARMUP_SUCCEEDED
						  : BUILD_WARMUP_FAILED;
	pthread_mutex_unlock(&warm.mu);
	return st;
}

void build_warmup_shutdown(void)
{
	pthread_once(&warm_once, warm_init);
	struct timespec until;
	deadline_in(&until, BUILD_WARMUP_STOP_WAIT_MS);
	pthread_mutex_lock(&warm.mu);
	warm.stopping = true;
	if (warm.running > 0)
		log_notice("stopping %zu dependency warm-up(s)", warm.running);
	for (struct warmup *x = warm.head; x; x = x->next)
		if (x->p)
			proc_terminate(x->p);
	while (warm.running > 0 &&
	       pthread_cond_timedwait(&warm.settled, &warm.mu, &until) != ETIMEDOUT)
		;
	if (warm.running > 0)
		log_warning("%zu warm-up(s) still stopping at exit", warm.running);
	/* What settled is freed; a thread still running keeps its entry. */
	for (struct warmup **pp = &warm.head; *pp;) {
		struct warmup *x = *pp;
		if (!x->running) {
			*pp = x->next;
			warm.n--;
			warmup_free(x);
		} else {
			pp = &x->next;
		}
	}
	pthread_mutex_unlock(&warm.mu);
}

static bool warm_stopping(void)
{
	pthread_mutex_lock(&warm.mu);
	bool stopping = warm.stopping;
	pthread_mutex_unlock(&warm.mu);
	return stopping;
}

void build_warmup_set_clock(int64_t (*now_ms)(void))
{
	pthread_mutex_lock(&warm.mu);
	warm.now = now_ms ? now_ms : time_mono_ms;
	pthread_mutex_unlock(&warm.mu);
}

/* --- P-5: done_building --- */

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

static bool install_needed(const char *cwd)
{
	return !exists(cwd, "node_modules") || !exists(cwd, "package-lock.json") ||
	       newer(cwd, "package.json", "package-lock.json") || deps_missing(cwd);
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
	if (ensure_types_node(cwd, &e) < 0) {
		fail(out, "Build failed before install/build: %s", e.msg);
		return;
	}
	/* Step 3: what a warm-up still installing leaves decides step 4. */
	if (build_warmup_wait(cwd) == BUILD_WARMUP_PENDING)
		log_warning("done_building: the warm-up of %s has not settled; installing", cwd);
	if (warm_stopping()) {
		fail(out, "Build failed: the worker is stopping. Call done_building again.");
		return;
	}
	if (install_needed(cwd)) {
		struct job j = {.timeout_ms = BUILD_TIMEOUT_MS};
		log_info("done_building: installing the dependencies of %s", cwd);
		if (npm_spawn(w, cwd, npm_install, &j, &e) < 0) {
			fail(out, "Build failed before install/build: %s", e.msg);
			job_free(&j);
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
	struct job jb = {.timeout_ms = BUILD_TIMEOUT_MS}, jt = {.timeout_ms = BUILD_TIMEOUT_MS};
	pthread_t tb, tt;
	if (npm_spawn(w, cwd, build, &jb, &e) < 0 || npm_spawn(w, cwd, typecheck, &jt, &e) < 0) {
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
