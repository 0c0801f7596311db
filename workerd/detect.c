/* W-16 detect-provider: for each runtime, whether its CLI is installed and usable here.
 *
 * Versions come from `<cli> --version` with a 3 s timeout, run with the same scrubbed
 * environment a turn gets. Authentication is reported as booleans only: whether a provider key
 * is configured in workerd's environment and whether the CLI's own login is likely present. */
#include <config.h>

#include "workerd/detect.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/limits.h"
#include "lib/timeutil.h"
#include "workerd/env.h"
#include "workerd/proc.h"
#include "workerd/runtimes/runtime.h"
#include "workerd/workerd.h"

extern char **environ;

struct collect {
	char *buf;
	size_t len, cap;
};

static int collect_line(void *arg, char *line, size_t len, bool truncated)
{
	(void)truncated;
	struct collect *c = arg;
	if (c->len + len + 2 < c->cap) {
		memcpy(c->buf + c->len, line, len);
		c->len += len;
		c->buf[c->len++] = '\n';
		c->buf[c->len] = '\0';
	}
	return 0;
}

int detect_run(const struct workerd *w, const char *const *argv, int timeout_ms, char *buf,
	       size_t bufsz)
{
	struct env_list env = {0};
	env_from_allowlist(&env, environ);
	env_set(&env, "PATH", w->runtime_path);
	struct proc_spec spec = {
		.argv = argv, .envp = (const char *const *)env_finish(&env), .cwd = "/"};
	struct proc *p = NULL;
	struct err e = {0};
	buf[0] = '\0';
	if (proc_spawn(&spec, &p, &e) < 0) {
		env_free(&env);
		return -1;
	}
	struct collect c = {buf, 0, bufsz};
	int64_t deadline = time_mono_ms() + timeout_ms;
	proc_set_timeout(p, timeout_ms);
	proc_read_lines(p, collect_line, &c);
	int status = 0;
	proc_wait(p, &status);
	bool late = time_mono_ms() > deadline + PROC_KILL_GRACE_MS;
	const char *tail = proc_stderr_tail(p);
	if (c.len + strlen(tail) + 1 < c.cap) {
		memcpy(c.buf + c.len, tail, strlen(tail) + 1);
		c.len += strlen(tail);
	}
	proc_free(p);
	env_free(&env);
	return late ? -1 : status;
}

static void version_line(const char *out, char *ver, size_t versz)
{
	size_t n = strcspn(out, "\n");
	if (n >= versz)
		n = versz - 1;
	memcpy(ver, out, n);
	ver[n] = '\0';
}

static bool env_has(const char *key)
{
	const char *v = getenv(key);
	return v && *v;
}

static json_t *probe(const struct workerd *w, const struct runtime *rt, const char *explicit_path,
		     const char *const *keys, const char *auth_file)
{
	char bin[WORKSPACE_PATH_MAX], out[4096], ver[128];
	json_t *r = json_object();
	bool key = false;
	for (size_t i = 0; keys[i]; i++)
		key = key || env_has(keys[i]);
	struct stat st;
	json_t *auth = json_pack("{s:b, s:b}", "envKeyConfigured", key, "cliLikelyConfigured",
				 auth_file && stat(auth_file, &st) == 0);
	json_object_set_new(r, "auth", auth);
	if (env_find_binary(explicit_path, rt->binary, w->runtime_path, bin, sizeof(bin)) < 0) {
		json_object_set_new(r, "available", json_false());
		json_object_set_new(r, "error", json_sprintf("%s CLI was not found", rt->binary));
		return r;
	}
	const char *argv[] = {bin, "--version", NULL};
	int st_code = detect_run(w, argv, 3000, out, sizeof(out));
	if (st_code != 0) {
		json_object_set_new(r, "available", json_false());
		json_object_set_new(r, "error",
				    json_sprintf("%s --version did not succeed", rt->binary));
		return r;
	}
	version_line(out, ver, sizeof(ver));
	json_object_set_new(r, "available", json_true());
	json_object_set_new(r, "version", json_string(ver));
	return r;
}

json_t *detect_providers(const struct workerd *w)
{
	static const char *const claude_keys[] = {"ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN",
						  "CLAUDE_CODE_USE_BEDROCK", NULL};
	static const char *const codex_keys[] = {"OPENAI_API_KEY", "CODEX_API_KEY", NULL};
	static const char *const opencode_keys[] = {"OPENAI_API_KEY", "ANTHROPIC_API_KEY",
						    "GOOGLE_API_KEY", "GEMINI_API_KEY", NULL};
	char claude_auth[WORKSPACE_PATH_MAX], codex_auth[WORKSPACE_PATH_MAX],
		oc_auth[WORKSPACE_PATH_MAX];
	const char *home = getenv("HOME") ? getenv("HOME") : "/nonexistent";
	snprintf(claude_auth, sizeof(claude_auth), "%s/.claude/.credentials.json", home);
	snprintf(codex_auth, sizeof(codex_auth), "%s/.codex/auth.json", home);
	snprintf(oc_auth, sizeof(oc_auth), "%s/.local/share/opencode/auth.json", home);
	json_t *claude = probe(w, &runtime_claude, w->claude_path, claude_keys, claude_auth);
	json_t *codex = probe(w, &runtime_codex, w->codex_path, codex_keys, codex_auth);
	json_t *oc = probe(w, &runtime_opencode, w->opencode_path, opencode_keys, oc_auth);
	json_t *r = json_pack("{s:{s:O, s:O, s:O}}", "runtimes", "claude-code", claude, "codex-cli",
			      codex, "opencode", oc);
	/* The legacy fields of W-16. */
	json_object_set_new(r, "claudeCli", claude);
	json_object_set_new(r, "codexCli", codex);
	json_object_set_new(r, "opencodeCli", oc);
	json_object_set_new(
		r, "apiKeyConfigured",
		json_boolean(env_has("ANTHROPIC_API_KEY") || env_has("OPENAI_API_KEY")));
	return r;
}
