/* The workerd test environment and client: see wd-client.h. */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lib/jsonx.h"
#include "tests/wd-client.h"

#define WD_TIMEOUT_S 180
#define WD_START_MS 15000

static const char *srcdir(void)
{
	const char *s = getenv("top_srcdir");
	return s && *s ? s : ".";
}

static const char *builddir(void)
{
	const char *s = getenv("top_builddir");
	return s && *s ? s : ".";
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static bool exists_exec(const char *p)
{
	return access(p, X_OK) == 0;
}

void wd_require_clis(void)
{
	static const char *const clis[] = {"claude", "codex", "opencode"};
	char p[HARNESS_PATH_MAX + 64];
	if (!exists_exec("/usr/bin/node") && system("command -v node >/dev/null 2>&1") != 0) {
		fprintf(stderr,
			"SKIP: node is not installed (contrib/second-dev setup installs it)\n");
		exit(77);
	}
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/tests/e2e/node_modules/.bin/%s", srcdir(), clis[i]);
		if (!exists_exec(p)) {
			fprintf(stderr,
				"SKIP: the agent CLIs are not installed: run npm ci --prefix "
				"tests/e2e (contrib/second-dev setup does)\n");
			exit(77);
		}
	}
}

static void subdir(char *out, size_t outsz, const char *dir, const char *name)
{
	snprintf(out, outsz, "%s/%s", dir, name);
	if (mkdir(out, 0700) != 0 && errno != EEXIST)
		abort();
}

/* Waits for a line containing `marker` in a file or pipe and copies the URL after it. */
static int read_url(int fd, const char *path, const char *marker, char *url, size_t urlsz)
{
	char buf[8192];
	size_t len = 0;
	for (int waited = 0; waited < WD_START_MS; waited += 50) {
		if (fd >= 0) {
			struct timeval tv = {0, 50000};
			fd_set set;
			FD_ZERO(&set);
			FD_SET(fd, &set);
			if (select(fd + 1, &set, NULL, NULL, &tv) > 0) {
				ssize_t k = read(fd, buf + len, sizeof(buf) - 1 - len);
				if (k <= 0)
					return -1;
				len += (size_t)k;
			}
		} else {
			FILE *f = fopen(path, "r");
			len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
			if (f)
				fclose(f);
			sleep_ms(50);
		}
		buf[len] = '\0';
		char *m = strstr(buf, marker);
		if (m) {
			char *u = strstr(m, "http://");
			if (u) {
				size_t n = strcspn(u, " ,\n\\");
				if (n < urlsz && u[n]) {
					memcpy(url, u, n);
					url[n] = '\0';
					return 0;
				}
			}
		}
	}
	return -1;
}

void wd_env_init(struct wd_env *env)
{
	memset(env, 0, sizeof(*env));
	snprintf(env->dir, sizeof(env->dir), "%s", harness_tmpdir());
	snprintf(env->sock, sizeof(env->sock), "%s/workerd.sock", env->dir);
	subdir(env->ws_dir, sizeof(env->ws_dir), env->dir, "workspaces");
	subdir(env->rt_dir, sizeof(env->rt_dir), env->dir, "runtime");
	/* Every workerd of the tests shares one npm cache, the one tests/integration/template.sh
	 * fills, so a workspace's install downloads next to nothing. */
	char cache[HARNESS_PATH_MAX + 64], link[HARNESS_PATH_MAX + 64];
	snprintf(cache, sizeof(cache), "%s/var", builddir());
	if (mkdir(cache, 0755) != 0 && errno != EEXIST)
		abort();
	snprintf(cache, sizeof(cache), "%s/var/npm-cache", builddir());
	if (mkdir(cache, 0755) != 0 && errno != EEXIST)
		abort();
	char real[PATH_MAX];
	if (!realpath(cache, real))
		abort();
	snprintf(link, sizeof(link), "%s/npm-cache", env->rt_dir);
	if (symlink(real, link) != 0)
		abort();
	subdir(env->home, sizeof(env->home), env->dir, "home");
	subdir(env->record, sizeof(env->record), env->dir, "model-requests");
	snprintf(env->log, sizeof(env->log), "%s/workerd.log", env->dir);
	snprintf(env->cli_bin, sizeof(env->cli_bin), "%s/tests/e2e/node_modules/.bin", srcdir());
	snprintf(env->token, sizeof(env->token), "test-internal-token-0123456789");
}

int wd_model_start(struct wd_env *env)
{
	char script[HARNESS_PATH_MAX], scen[HARNESS_PATH_MAX];
	snprintf(script, sizeof(script), "%s/tests/e2e/model-server.mjs", srcdir());
	if (env->scenarios[0])
		snprintf(scen, sizeof(scen), "%s", env->scenarios);
	else
		snprintf(scen, sizeof(scen), "%s/tests/e2e/scenarios", srcdir());
	char *argv[] = {"node",     script,      "--port", "0",  "--scenarios", scen,
			"--record", env->record, NULL,     NULL, NULL};
	if (env->default_scenario[0]) {
		argv[8] = "--default-scenario";
		argv[9] = env->default_scenario;
	}
	int out = -1;
	char log[HARNESS_PATH_MAX + 32];
	snprintf(log, sizeof(log), "%s/model-server.log", env->dir);
	env->model_pid = harness_spawn("/usr/bin/node", argv, NULL, log, &out);
	int rc = read_url(out, NULL, "listening", env->model_url, sizeof(env->model_url));
	close(out);
	return rc;
}

static char kv[16][HARNESS_PATH_MAX * 2];

static void build_env(struct wd_env *env, const char *const *extra_env, char **envp)
{
	size_t n = 0;
	snprintf(kv[0], sizeof(kv[0]), "PATH=/usr/local/bin:/usr/bin:/bin");
	snprintf(kv[1], sizeof(kv[1]), "HOME=%s", env->home);
	snprintf(kv[2], sizeof(kv[2]), "SECOND_WORKERD_WORKSPACES_DIR=%s", env->ws_dir);
	snprintf(kv[3], sizeof(kv[3]), "SECOND_WORKERD_RUNTIME_DIR=%s", env->rt_dir);
	snprintf(kv[4], sizeof(kv[4]),
		 "SECOND_WORKERD_RUNTIME_PATH=%s:/usr/local/bin:/usr/bin:/bin", env->cli_bin);
	snprintf(kv[5], sizeof(kv[5]), "SECOND_API_INTERNAL_TOKEN=%s", env->token);
	snprintf(kv[6], sizeof(kv[6]), "SECOND_LOG_TARGET=stderr");
	snprintf(kv[7], sizeof(kv[7]), "SECOND_LOG_LEVEL=debug");
	snprintf(kv[8], sizeof(kv[8]), "SECOND_WORKERD_HEARTBEAT_S=2");
	snprintf(kv[9], sizeof(kv[9]), "TMPDIR=%s", env->dir);
	for (; n < 10; n++)
		envp[n] = kv[n];
	for (size_t i = 0; extra_env && extra_env[i] && n < 62; i++)
		envp[n++] = (char *)extra_env[i];
	envp[n] = NULL;
}

static int wait_started(struct wd_env *env)
{
	if (read_url(-1, env->log, "serving:", env->mcp_url, sizeof(env->mcp_url)) < 0)
		return -1;
	struct tc_resp r = {0};
	int rc = wd_call(env, "GET", "/health", NULL, NULL, &r);
	rc = rc == 0 && r.status == 200 ? 0 : -1;
	tc_resp_free(&r);
	return rc;
}

int wd_start(struct wd_env *env, const char *const *extra_env)
{
	char bin[HARNESS_PATH_MAX], listen[HARNESS_PATH_MAX + 32];
	char *envp[64];
	snprintf(bin, sizeof(bin), "%s/workerd/workerd", builddir());
	snprintf(listen, sizeof(listen), "unix:%s", env->sock);
	build_env(env, extra_env, envp);
	char *argv[] = {"workerd", "--listen", listen, "--mcp-listen", "127.0.0.1:0", NULL};
	unlink(env->log);
	env->pid = harness_spawn(bin, argv, envp, env->log, NULL);
	return wait_started(env);
}

int wd_start_activated(struct wd_env *env, int port, const char *const *extra_env)
{
	static const char *const where[] = {"/usr/bin/systemd-socket-activate",
					    "/bin/systemd-socket-activate",
					    "/usr/lib/systemd/systemd-socket-activate", NULL};
	const char *sa = NULL;
	for (size_t i = 0; where[i] && !sa; i++)
		if (exists_exec(where[i]))
			sa = where[i];
	if (!sa) {
		fprintf(stderr, "SKIP: systemd-socket-activate is not installed (Debian package "
				"systemd)\n");
		exit(77);
	}
	char bin[HARNESS_PATH_MAX], tcp[64], *envp[64], *argv[80];
	static char envargs[64][HARNESS_PATH_MAX * 2 + 8];
	size_t n = 0, k = 0;
	snprintf(bin, sizeof(bin), "%s/workerd/workerd", builddir());
	snprintf(tcp, sizeof(tcp), "127.0.0.1:%d", port);
	build_env(env, extra_env, envp);
	argv[n++] = "systemd-socket-activate";
	argv[n++] = "-l";
	argv[n++] = env->sock;
	argv[n++] = "-l";
	argv[n++] = tcp;
	/* systemd-socket-activate passes only the variables named with -E. */
	for (size_t i = 0; envp[i] && k < 64 && n < 78; i++) {
		snprintf(envargs[k], sizeof(envargs[k]), "-E%s", envp[i]);
		argv[n++] = envargs[k++];
	}
	argv[n++] = bin;
	argv[n] = NULL;
	unlink(env->log);
	env->pid = harness_spawn(sa, argv, envp, env->log, NULL);
	snprintf(env->mcp_url, sizeof(env->mcp_url), "http://127.0.0.1:%d", port);
	/* workerd is started by the first connection. */
	for (int waited = 0; waited < WD_START_MS; waited += 100) {
		struct tc_resp r = {0};
		int rc = wd_call(env, "GET", "/health", NULL, NULL, &r);
		long st = r.status;
		tc_resp_free(&r);
		if (rc == 0 && st == 200)
			return 0;
		sleep_ms(100);
	}
	return -1;
}

int wd_stop(struct wd_env *env)
{
	int st = harness_stop(env->pid);
	env->pid = 0;
	return st;
}

void wd_env_stop(struct wd_env *env)
{
	if (env->pid > 0)
		wd_stop(env);
	if (env->model_pid > 0)
		harness_stop(env->model_pid);
	env->model_pid = 0;
}

struct buf {
	char *p;
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	size_t k = size * n;
	b->p = realloc(b->p, b->len + k + 1);
	if (!b->p)
		abort();
	memcpy(b->p + b->len, ptr, k);
	b->len += k;
	b->p[b->len] = '\0';
	return k;
}

static int request(struct wd_env *env, const char *method, const char *path, const char *body,
		   const char *token, struct buf *out, long *status)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[HARNESS_PATH_MAX], auth[256];
	if (!c)
		return -1;
	snprintf(url, sizeof(url), "http://workerd%s", path);
	if (!token)
		token = env->token;
	if (*token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, env->sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)WD_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (!out->p) {
		out->p = calloc(1, 1);
		if (!out->p)
			abort();
	}
	return rc == CURLE_OK ? 0 : -1;
}

int wd_call(struct wd_env *env, const char *method, const char *path, const char *json_body,
	    const char *token, struct tc_resp *out)
{
	struct buf b = {0};
	memset(out, 0, sizeof(*out));
	int rc = request(env, method, path, json_body, token, &b, &out->status);
	out->body = b.p;
	out->len = b.len;
	json_error_t je;
	out->json = json_loadb(b.p, b.len, 0, &je);
	return rc;
}

int wd_turn(struct wd_env *env, const char *app_id, const char *json_body, struct wd_stream *out)
{
	char path[512];
	struct buf b = {0};
	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/sessions/%s/messages", app_id);
	int rc = request(env, "POST", path, json_body, NULL, &b, &out->status);
	out->raw = b.p;
	out->events = json_array();
	for (char *p = b.p; p && *p;) {
		char *end = strstr(p, "\n\n");
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (strncmp(p, "data: ", 6) == 0) {
			if (n == 12 && strncmp(p + 6, "[DONE]", 6) == 0) {
				out->done = true;
			} else {
				json_error_t je;
				json_t *v = json_loadb(p + 6, n - 6, 0, &je);
				if (v)
					json_array_append_new(out->events, v);
				const char *t = jsonx_str(v, "type");
				if (t && strcmp(t, "error") == 0)
					out->error = jsonx_str(v, "error");
			}
		} else if (strncmp(p, ": keep-alive", 12) == 0) {
			out->keepalives++;
		}
		p = end ? end + 2 : p + n;
	}
	return rc;
}

void wd_stream_free(struct wd_stream *s)
{
	json_decref(s->events);
	free(s->raw);
	memset(s, 0, sizeof(*s));
}

char *wd_stream_text(const struct wd_stream *s)
{
	size_t cap = 64, len = 0, i;
	char *out = calloc(1, cap);
	json_t *ev;
	if (!out)
		abort();
	json_array_foreach (s->events, i, ev) {
		json_t *d = json_object_get(json_object_get(ev, "event"), "delta");
		const char *t = jsonx_str(d, "text");
		const char *dt = jsonx_str(d, "type");
		if (!t || !dt || strcmp(dt, "text_delta") != 0)
			continue;
		size_t n = strlen(t);
		while (len + n + 1 > cap)
			cap *= 2;
		out = realloc(out, cap);
		if (!out)
			abort();
		memcpy(out + len, t, n + 1);
		len += n;
	}
	return out;
}

int wd_stream_count(const struct wd_stream *s, const char *type, const char *subtype)
{
	int n = 0;
	size_t i;
	json_t *ev;
	json_array_foreach (s->events, i, ev) {
		const char *t = jsonx_str(ev, "type"), *st = jsonx_str(ev, "subtype");
		if (t && strcmp(t, type) == 0 && (!subtype || (st && strcmp(st, subtype) == 0)))
			n++;
	}
	return n;
}

char *wd_turn_body(const char *scenario, const char *runtime, const char *model, const char *extra)
{
	char prompt[256];
	snprintf(prompt, sizeof(prompt), "[scenario:%s] Please go ahead.", scenario);
	json_t *b = json_pack("{s:s, s:s, s:s, s:{}, s:s}", "prompt", prompt, "runtimeId", runtime,
			      "runtimeModel", model, "runtimeParams", "systemPrompt",
			      "You build internal apps for the team.");
	if (extra) {
		json_error_t je;
		json_t *x = json_loads(extra, 0, &je);
		if (!x) {
			fprintf(stderr, "wd_turn_body: bad extra JSON: %s\n", je.text);
			abort();
		}
		json_object_update(b, x);
		json_decref(x);
	}
	char *text = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return text;
}
