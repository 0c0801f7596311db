/* The runtime adapters: one per agent CLI, each turning the CLI's own output into the
 * normalized messages of R-1.
 *
 * An adapter's run() executes one whole turn in the calling thread (the turn's thread): it
 * writes the CLI's private config, builds the scrubbed environment (env.h), spawns the CLI
 * (proc.h), registers the process with turn_set_proc, reads and normalizes every line, emits
 * with turn_emit, and stops early on an approval stop (T-13) or turn_cancelled(). It returns 0
 * on a normal end (including an approval stop and a cancel), or -1 with a message for the
 * client (stderr tail included, never a secret). */
#ifndef SECOND_WORKERD_RUNTIME_H
#define SECOND_WORKERD_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/err.h"

struct turn;

struct runtime {
	const char *id;     /* "claude-code" */
	const char *binary; /* "claude": searched for on the runtime PATH */
	/* fills defaults into *model (replacing it, malloc'd) and params (an object of
	 * strings, modified in place). -1 with e set: invalid_runtime_settings. */
	int (*normalize)(char **model, json_t *params, struct err *e);
	int (*run)(struct turn *t, struct err *e);
};

extern const struct runtime runtime_claude;
extern const struct runtime runtime_codex;
extern const struct runtime runtime_opencode;

/* NULL for an unknown id. */
const struct runtime *runtime_find(const char *id);

/* canonical tool name of whatever a CLI reports, written into buf. */
void runtime_canonical_tool(const char *name, char *buf, size_t bufsz);
/* T-13: whether a tool result of `tool` (canonical name) stops the turn. `output` is the
 * result as the CLI reported it (string, text-part array or {content:[...]}), may be NULL. */
bool runtime_is_approval_stop(const char *tool, const json_t *output);
/* Whether `tool` (canonical) is allowed by the turn's list (NULL list: everything). */
bool runtime_tool_allowed(const json_t *allowed_tools, const char *tool);

/* Where Claude keeps the JSONL of session `sid` run in `cwd` (S-7): its directory and path.
 * -1 for an unusable session id. */
int claude_session_file(const char *cwd, const char *sid, char *dir, size_t dirsz, char *path,
			size_t pathsz);

/* Shared adapter plumbing. */
struct proc;
/* <workerd.runtime_dir>/<runtime>/<key with [^A-Za-z0-9_.-] replaced by '-'>, created 0700. */
int runtime_private_dir(const struct turn *t, const char *runtime, char *buf, size_t bufsz,
			struct err *e);
/* Writes a private file (0600, replaced atomically). */
int runtime_write_private(const char *path, const char *text, size_t len, struct err *e);
/* Spawns the CLI for the turn: under bwrap when workerd's sandbox is on (the turn's cwd and
 * the NULL-terminated `extra_rw` writable), registered with turn_set_proc. */
int runtime_spawn(struct turn *t, const char *const *argv, char *const *envp,
		  const char *const *extra_rw, bool pipe_stdin, struct proc **out, struct err *e);
/* Ends the process after the turn: closes stdin, reaps it, unregisters it. On a non-zero exit
 * that was not asked for (no cancel, no approval stop), fills e with "<what> <status>" and the
 * stderr tail and returns -1. */
int runtime_finish(struct turn *t, struct proc *p, bool stopped, const char *what,
		   const char *stderr_label, struct err *e);

#endif
