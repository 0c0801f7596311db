/* The Codex adapter: one `codex app-server` per turn, spoken to over stdio JSON-RPC.
 *
 * Per turn the adapter writes a private CODEX_HOME (config.toml with the model, the sandbox,
 * the shell's environment policy and the three broker servers; auth.json when local auth is
 * seeded), starts the app-server there with an allow-listed environment, and hands every
 * stdout line to the protocol client of codex-map.c, which answers on stdin and emits the R-1
 * messages. The turn ends when the client is done (turn/completed), stops (approval), fails,
 * or the process goes away; the process is then ended, since a warm process is not kept. An
 * API key reaches Codex only through account/login/start, never the environment. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "workerd/env.h"
#include "workerd/proc.h"
#include "workerd/runtimes/codex-map.h"
#include "workerd/runtimes/runtime.h"
#include "workerd/turn.h"
#include "workerd/workerd.h"

extern char **environ;

static void set_default(json_t *params, const char *key, const char *def)
{
	const char *v = jsonx_str(params, key);
	if (!v || !*v)
		json_object_set_new(params, key, json_string(def));
}

static int normalize(char **model, json_t *params, struct err *e)
{
	(void)e;
	if (!*model || !**model) {
		free(*model);
		*model = strdup("gpt-5.5");
		if (!*model)
			abort();
	}
	set_default(params, "reasoningEffort", "high");
	const char *sb = jsonx_str(params, "sandbox");
	if (!sb || (strcmp(sb, "read-only") != 0 && strcmp(sb, "danger-full-access") != 0))
		json_object_set_new(params, "sandbox", json_string("workspace-write"));
	return 0;
}

/* and T-1: the sandbox Codex really gets. */
static const char *effective_sandbox(const struct turn_config *c, bool production)
{
	const char *sb = jsonx_str(c->params, "sandbox");
	if (c->mode && strcmp(c->mode, "workspace_agent") == 0)
		return "read-only";
	if (sb && (strcmp(sb, "read-only") == 0 || strcmp(sb, "danger-full-access") == 0))
		return sb;
	return production ? "danger-full-access" : "workspace-write";
}

struct toml {
	char buf[CODEX_CONFIG_MAX];
	size_t len;
	bool overflow;
};

static void toml_raw(struct toml *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void toml_raw(struct toml *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(t->buf) - t->len)
		t->overflow = true;
	else
		t->len += (size_t)n;
}

/* `key = "value"` with TOML's basic-string escapes. */
static void toml_str(struct toml *t, const char *key, const char *value)
{
	toml_raw(t, "%s = \"", key);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p == '"' || *p == '\\')
			toml_raw(t, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			toml_raw(t, "\\u%04x", *p);
		else
			toml_raw(t, "%c", *p);
	}
	toml_raw(t, "\"\n");
}

static bool web_allowed(const json_t *allowed)
{
	return !allowed || runtime_tool_allowed(allowed, "WebSearch") ||
	       runtime_tool_allowed(allowed, "WebFetch");
}

/* config.toml of the runtime dir. */
static int write_config(struct turn *t, const char *dir, const char *shell_home,
			const char *sandbox, bool with_key, struct err *e)
{
	const struct turn_config *c = turn_config(t);
	const char *base_url = config_str(turn_workerd(t)->cfg, "workerd.codex_base_url");
	static const char *const servers[] = {"second", "app_tools", "app_data", NULL};
	struct toml *tm = calloc(1, sizeof(*tm));
	char path[WORKSPACE_PATH_MAX], url[WORKSPACE_PATH_MAX];
	if (!tm)
		abort();
	toml_str(tm, "model", c->model);
	toml_str(tm, "model_reasoning_summary", "auto");
	toml_str(tm, "web_search", web_allowed(c->allowed_tools) ? "live" : "disabled");
	toml_str(tm, "approval_policy", "never");
	toml_str(tm, "sandbox_mode", sandbox);
	if (base_url && *base_url)
		toml_str(tm, "model_provider", "second");
	toml_raw(tm, "\n[shell_environment_policy]\n"
		     "inherit = \"core\"\n"
		     "ignore_default_excludes = false\n"
		     "experimental_use_profile = false\n"
		     "include_only = [\"PATH\", \"HOME\", \"USER\", \"LOGNAME\", \"SHELL\", "
		     "\"TMPDIR\", \"TMP\", \"TEMP\", \"LANG\", \"LC_*\", \"TERM\"]\n"
		     "exclude = [\"OPENAI_API_KEY\", \"CODEX_API_KEY\", \"CODEX_HOME\", "
		     "\"SECOND_MCP_TOKEN\", \"*TOKEN*\", \"*SECRET*\", \"*KEY*\", "
		     "\"AUTHORIZATION\", \"COOKIE\"]\n"
		     "\n[shell_environment_policy.set]\n");
	toml_str(tm, "HOME", shell_home);
	for (size_t i = 0; servers[i]; i++) {
		turn_mcp_url(t, servers[i], url, sizeof(url));
		toml_raw(tm, "\n[mcp_servers.%s]\n", servers[i]);
		toml_str(tm, "url", url);
		toml_str(tm, "bearer_token_env_var", "SECOND_MCP_TOKEN");
		toml_raw(tm, "startup_timeout_sec = 10\n");
		toml_raw(tm, "tool_timeout_sec = %d\n", RUNTIME_TOOL_TIMEOUT_S);
		/* With approval_policy "never", Codex 0.169 refuses an MCP call that needs an
		 * approval instead of asking (T-15 never gets a say); the broker enforces the
		 * allow-list on every call, so our own servers' tools are pre-approved. */
		toml_str(tm, "default_tools_approval_mode", "approve");
	}
	if (base_url && *base_url) {
		/* The login of stores the key in CODEX_HOME; requires_openai_auth makes this
		 * provider use it, so no key variable is ever needed. */
		toml_raw(tm, "\n[model_providers.second]\n");
		toml_str(tm, "name", "Second");
		toml_str(tm, "base_url", base_url);
		toml_str(tm, "wire_api", "responses");
		toml_raw(tm, "requires_openai_auth = %s\n", with_key ? "true" : "false");
	}
	int rc = -1;
	if (tm->overflow)
		err_set(e, ERR_TOO_LARGE, "Codex configuration too large");
	else if (snprintf(path, sizeof(path), "%s/config.toml", dir) >= (int)sizeof(path))
		err_set(e, ERR_TOO_LARGE, "runtime directory path too long");
	else
		rc = runtime_write_private(path, tm->buf, tm->len, e);
	free(tm);
	return rc;
}

/* a `codex login` of the service user, copied into the private home when no API key
 * is configured and local auth is allowed. Failures only mean Codex asks for a login. */
static void seed_local_auth(const struct workerd *w, const char *dir)
{
	const char *mode = config_str(w->cfg, "workerd.codex_local_auth");
	if (!mode || strcmp(mode, "off") == 0 || (strcmp(mode, "auto") == 0 && w->production))
		return;
	const char *home = getenv("CODEX_HOME"), *uhome = getenv("HOME");
	char src[WORKSPACE_PATH_MAX], dst[WORKSPACE_PATH_MAX];
	if (home && *home)
		snprintf(src, sizeof(src), "%s/auth.json", home);
	else if (uhome && *uhome)
		snprintf(src, sizeof(src), "%s/.codex/auth.json", uhome);
	else
		return;
	if (snprintf(dst, sizeof(dst), "%s/auth.json", dir) >= (int)sizeof(dst))
		return;
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char *buf = malloc(CODEX_CONFIG_MAX);
	if (!buf)
		abort();
	ssize_t n = read(fd, buf, CODEX_CONFIG_MAX);
	close(fd);
	struct err e = {0};
	if (n > 0 && n < CODEX_CONFIG_MAX && runtime_write_private(dst, buf, (size_t)n, &e) < 0)
		log_warning("cannot seed Codex auth: %s", e.msg);
	free(buf);
}

struct codex_run {
	struct turn *t;
	struct proc *p;
	struct codex_client *client;
};

static int on_emit(void *arg, json_t *msg)
{
	struct codex_run *r = arg;
	return turn_emit(r->t, msg);
}

static int on_send(void *arg, const char *line, size_t len)
{
	struct codex_run *r = arg;
	return proc_write(r->p, line, len);
}

static int on_line(void *arg, char *line, size_t len, bool truncated)
{
	struct codex_run *r = arg;
	if (truncated) {
		log_warning("codex app-server printed a line over %d bytes; dropped",
			    PROC_LINE_MAX);
		return 0;
	}
	if (turn_cancelled(r->t))
		return 1;
	return codex_client_feed(r->client, line, len) != CODEX_RUNNING;
}

static const char *api_key(void)
{
	const char *k = getenv("OPENAI_API_KEY");
	if (k && *k)
		return k;
	k = getenv("CODEX_API_KEY");
	return k && *k ? k : NULL;
}

static int run(struct turn *t, struct err *e)
{
	const struct turn_config *c = turn_config(t);
	const struct workerd *w = turn_workerd(t);
	char bin[WORKSPACE_PATH_MAX], dir[WORKSPACE_PATH_MAX], shell_home[WORKSPACE_PATH_MAX];
	if (env_find_binary(w->codex_path, "codex", w->runtime_path, bin, sizeof(bin)) < 0)
		return err_set(e, ERR_UNAVAILABLE,
			       "Codex CLI was not found. Install Codex (npm install -g "
			       "@openai/codex), or set workerd.codex_path.");
	/* The resolved path, so the sandbox binds the package where it really is. */
	char real[PATH_MAX];
	if (realpath(bin, real) && strlen(real) < sizeof(bin))
		memcpy(bin, real, strlen(real) + 1);
	if (runtime_private_dir(t, "codex-cli", dir, sizeof(dir), e) < 0 ||
	    runtime_private_dir(t, "codex-cli-shell", shell_home, sizeof(shell_home), e) < 0)
		return -1;
	char tmp[WORKSPACE_PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s/tmp", dir) >= (int)sizeof(tmp))
		return err_set(e, ERR_TOO_LARGE, "runtime directory path too long");
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return err_set(e, ERR_IO, "cannot create the Codex temp dir: %s", strerror(errno));
	const char *key = api_key();
	const char *sandbox = effective_sandbox(c, w->production);
	if (write_config(t, dir, shell_home, sandbox, key != NULL, e) < 0)
		return -1;
	if (!key)
		seed_local_auth(w, dir);

	struct env_list env = {0};
	env_from_allowlist(&env, environ);
	env_set(&env, "PATH", w->runtime_path);
	env_set(&env, "HOME", dir);
	env_set(&env, "CODEX_HOME", dir);
	/* Codex refuses to install its helper binaries (apply_patch, its sandbox launcher) when
	 * CODEX_HOME lies under the temp dir, and every file edit then fails: a private temp dir
	 * inside the runtime dir keeps CODEX_HOME outside it wherever runtime_dir lives. */
	env_set(&env, "TMPDIR", tmp);
	env_set(&env, "SECOND_MCP_TOKEN", turn_broker_token(t));
	const char *argv[] = {bin, "app-server", "--listen", "stdio://", NULL};
	const char *rw[] = {dir, shell_home, NULL};
	struct codex_run r = {.t = t};
	int rc = runtime_spawn(t, argv, env_finish(&env), rw, true, &r.p, e);
	env_free(&env);
	if (rc < 0)
		return -1;

	const char *sid = jsonx_str(c->session_state, "sessionId");
	const char *srt = jsonx_str(c->session_state, "runtimeId");
	const char *effort = jsonx_str(c->params, "reasoningEffort");
	struct codex_turn ct = {
		.model = c->model,
		.cwd = c->cwd,
		.sandbox = sandbox,
		.effort = effort && *effort ? effort : "high",
		.system_prompt = c->system_prompt,
		.prompt = c->prompt,
		.api_key = key,
		.resume_thread = sid && *sid && srt && strcmp(srt, "codex-cli") == 0 ? sid : NULL,
		.allowed_tools = c->allowed_tools,
	};
	struct codex_io io = {.emit = on_emit, .send = on_send, .arg = &r};
	r.client = codex_client_new(&ct, &io);
	if (codex_client_start(r.client) == CODEX_RUNNING)
		proc_read_lines(r.p, on_line, &r);
	enum codex_state st = codex_client_state(r.client);
	bool ended = st != CODEX_RUNNING;
	char tail[PROC_STDERR_TAIL];
	snprintf(tail, sizeof(tail), "%s", proc_stderr_tail(r.p));
	rc = runtime_finish(t, r.p, ended, "codex app-server", "stderr", e);
	if (rc == 0 && !turn_cancelled(t)) {
		if (st == CODEX_FAILED) {
			err_set(e, ERR_IO, "%s", codex_client_error(r.client));
			rc = -1;
		} else if (st == CODEX_RUNNING) {
			err_set(e, ERR_IO, "codex app-server exited before the turn completed");
			turn_fail(
				t,
				"codex app-server exited before the turn completed\n\nstderr:\n%s",
				tail);
			rc = -1;
		}
	}
	codex_client_free(r.client);
	return rc;
}

const struct runtime runtime_codex = {
	.id = "codex-cli",
	.binary = "codex",
	.normalize = normalize,
	.run = run,
};
