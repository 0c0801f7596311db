/* What the three runtime adapters share: the registry, canonical tool names, the
 * approval-stop rule (T-13) and the allow-list check. */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "workerd/files.h"
#include "workerd/proc.h"
#include "workerd/runtimes/runtime.h"
#include "workerd/turn.h"
#include "workerd/workerd.h"

const struct runtime *runtime_find(const char *id)
{
	const struct runtime *all[] = {&runtime_claude, &runtime_codex, &runtime_opencode};
	for (size_t i = 0; id && i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->id, id) == 0)
			return all[i];
	return NULL;
}

static const char *const second_tools[] = {
	"present_plan",
	"present_suggestions",
	"present_agents",
	"present_integration_setup",
	"list_app_integration_keys",
	"done_building",
	"set_app_metadata",
	"set_onboarding_context",
	NULL,
};

void runtime_canonical_tool(const char *name, char *buf, size_t bufsz)
{
	static const struct {
		const char *from, *to;
	} builtins[] = {
		{"bash", "Bash"},
		{"shell", "Bash"},
		{"command", "Bash"},
		{"edit", "Edit"},
		{"apply_patch", "Edit"},
		{"write", "Write"},
		{"read", "Read"},
		{"grep", "Grep"},
		{"glob", "Glob"},
		{"webfetch", "WebFetch"},
		{"web_fetch", "WebFetch"},
		{"websearch", "WebSearch"},
		{"web_search", "WebSearch"},
	};
	static const struct {
		const char *prefix, *ns;
	} prefixes[] = {
		{"second.", "second"}, {"app_tools.", "app_tools"}, {"app_data.", "app_data"},
		{"second_", "second"}, {"app_tools_", "app_tools"}, {"app_data_", "app_data"},
	};
	if (strstr(name, "__")) {
		snprintf(buf, bufsz, "%s", name);
		return;
	}
	for (size_t i = 0; second_tools[i]; i++)
		if (strcmp(name, second_tools[i]) == 0) {
			snprintf(buf, bufsz, "mcp__second__%s", name);
			return;
		}
	if (strcmp(name, "update_app_data") == 0 || strcmp(name, "read_app_data") == 0) {
		snprintf(buf, bufsz, "mcp__app_data__%s", name);
		return;
	}
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i].prefix);
		if (strncmp(name, prefixes[i].prefix, n) == 0 && name[n]) {
			snprintf(buf, bufsz, "mcp__%s__%s", prefixes[i].ns, name + n);
			return;
		}
	}
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcasecmp(name, builtins[i].from) == 0) {
			snprintf(buf, bufsz, "%s", builtins[i].to);
			return;
		}
	snprintf(buf, bufsz, "%s", name);
}

bool runtime_tool_allowed(const json_t *allowed, const char *tool)
{
	if (!allowed)
		return true;
	size_t i;
	json_t *v;
	json_array_foreach ((json_t *)allowed, i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), tool) == 0)
			return true;
	}
	return false;
}

/* The text of a tool result as a runtime reports it: a string, a list of text parts, or an
 * object with `content` (or `text`). Written into buf; "" when there is none. */
static void result_text(const json_t *out, char *buf, size_t bufsz, int depth)
{
	buf[0] = '\0';
	if (!out || depth > 4)
		return;
	if (json_is_string(out)) {
		snprintf(buf, bufsz, "%s", json_string_value(out));
	} else if (json_is_array(out)) {
		size_t used = 0, i;
		json_t *part;
		json_array_foreach ((json_t *)out, i, part) {
			const char *t = jsonx_str(part, "text");
			if (t && used < bufsz)
				used += (size_t)snprintf(buf + used, bufsz - used, "%s", t);
		}
	} else if (json_is_object(out)) {
		if (json_object_get(out, "content"))
			result_text(json_object_get(out, "content"), buf, bufsz, depth + 1);
		else if (jsonx_str(out, "text"))
			snprintf(buf, bufsz, "%s", jsonx_str(out, "text"));
	}
}

bool runtime_is_approval_stop(const char *tool, const json_t *output)
{
	if (strcmp(tool, "mcp__second__present_plan") == 0 ||
	    strcmp(tool, "mcp__second__present_suggestions") == 0 ||
	    strcmp(tool, "mcp__second__set_onboarding_context") == 0)
		return true;
	if (strcmp(tool, "mcp__second__present_agents") != 0)
		return false;
	static __thread char tbuf[64 * 1024];
	result_text(output, tbuf, sizeof(tbuf), 0);
	json_error_t je;
	json_t *v = json_loads(tbuf, 0, &je);
	bool stop = v && json_is_true(json_object_get(v, "ok")) && jsonx_str(v, "status") &&
		    strcmp(jsonx_str(v, "status"), "presented") == 0;
	json_decref(v);
	return stop;
}

int runtime_private_dir(const struct turn *t, const char *runtime, char *buf, size_t bufsz,
			struct err *e)
{
	const struct turn_config *c = turn_config(t);
	char key[WORKERD_APP_ID_MAX + 1];
	snprintf(key, sizeof(key), "%s", c->app_id);
	for (char *p = key; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			*p = '-';
	if (snprintf(buf, bufsz, "%s/%s/%s", turn_workerd(t)->runtime_dir, runtime, key) >=
	    (int)bufsz)
		return err_set(e, ERR_TOO_LARGE, "runtime directory path too long");
	if (files_mkdirs(buf, e) < 0)
		return -1;
	chmod(buf, 0700);
	return 0;
}

int runtime_write_private(const char *path, const char *text, size_t len, struct err *e)
{
	char tmp[WORKSPACE_PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_set(e, ERR_IO, "cannot write runtime configuration: %s",
			       strerror(errno));
	size_t off = 0;
	while (off < len) {
		ssize_t k = write(fd, text + off, len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		off += (size_t)k;
	}
	if (close(fd) < 0 || off != len || rename(tmp, path) < 0) {
		unlink(tmp);
		return err_set(e, ERR_IO, "cannot write runtime configuration");
	}
	return 0;
}

int runtime_spawn(struct turn *t, const char *const *argv, char *const *envp,
		  const char *const *extra_rw, bool pipe_stdin, struct proc **out, struct err *e)
{
	const struct workerd *w = turn_workerd(t);
	const struct turn_config *c = turn_config(t);
	const char *rw[16];
	size_t n = 0;
	rw[n++] = c->cwd;
	for (size_t i = 0; extra_rw && extra_rw[i] && n < 15; i++)
		rw[n++] = extra_rw[i];
	rw[n] = NULL;
	/* The CLI's own files, seen through /tmp too: the top node_modules directory of the
	 * binary as named and as resolved (or their directories). */
	char real[PATH_MAX], named[PATH_MAX];
	const char *ro[3] = {NULL, NULL, NULL};
	size_t nro = 0;
	snprintf(named, sizeof(named), "%s", argv[0]);
	if (!realpath(argv[0], real))
		real[0] = '\0';
	char *both[] = {named, real};
	for (size_t i = 0; i < 2; i++) {
		char *p = both[i], *nm = strstr(p, "/node_modules/"), *slash = strrchr(p, '/');
		/* Only /tmp is hidden (a private tmpfs); the rest of the tree is bound as is. */
		if (strncmp(p, "/tmp/", 5) != 0)
			continue;
		if (nm)
			nm[13] = '\0';
		else if (slash && slash != p)
			*slash = '\0';
		if (nro == 0 || strcmp(ro[0], p) != 0)
			ro[nro++] = p;
	}
	struct proc_spec spec = {
		.sandbox_ro = ro,
		.argv = argv,
		.envp = (const char *const *)envp,
		.cwd = c->cwd,
		.bwrap = w->bwrap_path,
		.sandbox_rw = rw,
		.pipe_stdin = pipe_stdin,
	};
	if (proc_spawn(&spec, out, e) < 0)
		return -1;
	turn_set_proc(t, *out);
	return 0;
}

int runtime_finish(struct turn *t, struct proc *p, bool stopped, const char *what,
		   const char *stderr_label, struct err *e)
{
	int status = 0;
	proc_close_stdin(p);
	if (stopped)
		proc_interrupt(p);
	proc_wait(p, &status);
	turn_set_proc(t, NULL);
	int rc = 0;
	if (!stopped && !turn_cancelled(t) && status != 0) {
		char how[64];
		proc_describe_status(status, how, sizeof(how));
		err_set(e, ERR_IO, "%s %s", what, how);
		turn_fail(t, "%s %s\n\n%s:\n%s", what, how, stderr_label, proc_stderr_tail(p));
		rc = -1;
	}
	proc_free(p);
	return rc;
}
