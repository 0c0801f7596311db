/* Child processes of workerd: the runtime CLIs, spawned with a complete, scrubbed environment,
 * in their own process group, optionally under bubblewrap.
 *
 * A `struct proc` owns the child's pipes. Its stdout is read as lines (NDJSON from every
 * runtime) by proc_read_lines, which also keeps the last PROC_STDERR_TAIL bytes of stderr for
 * error messages. proc_terminate may be called from any thread (cancel): SIGTERM to the group,
 * then SIGKILL after PROC_KILL_GRACE_MS. */
#ifndef SECOND_WORKERD_PROC_H
#define SECOND_WORKERD_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/err.h"

struct proc_spec {
	const char *const *argv; /* argv[0] is the binary's absolute path */
	const char *const *envp; /* the child's whole environment (see env.h) */
	const char *cwd;
	/* Non-NULL: run under bwrap (this path) with only the paths of `sandbox_rw` (a
	 * NULL-terminated list; files or directories) writable, the rest of the filesystem
	 * read-only, /tmp private. */
	const char *bwrap;
	const char *const *sandbox_rw;
	/* Paths bound read-only again over the private /tmp (e.g. a CLI installed under /tmp). */
	const char *const *sandbox_ro;
	bool pipe_stdin; /* false: stdin is /dev/null */
};

struct proc;

int proc_spawn(const struct proc_spec *s, struct proc **out, struct err *e)
	__attribute__((warn_unused_result));

/* Called per complete stdout line (without the newline, NUL-terminated; lines longer than
 * PROC_LINE_MAX are cut and flagged by `truncated`). Return nonzero to stop reading. */
typedef int (*proc_line_fn)(void *arg, char *line, size_t len, bool truncated);
/* Reads until stdout reaches EOF, the callback stops, or the process is terminated. Returns 0,
 * or -1 on a read error. Safe against a child that never closes stderr. */
int proc_read_lines(struct proc *p, proc_line_fn fn, void *arg);
/* Writes all of buf to the child's stdin; -1 when it is closed (EPIPE never kills workerd). */
int proc_write(struct proc *p, const char *buf, size_t len);
void proc_close_stdin(struct proc *p);
/* SIGTERM to the process group now, SIGKILL after PROC_KILL_GRACE_MS if still alive. Idempotent,
 * thread-safe, does not wait. */
void proc_terminate(struct proc *p);
/* Like proc_terminate but with SIGINT, which lets a CLI save its session before it exits
 * (SIGKILL still follows after the grace period). */
void proc_interrupt(struct proc *p);
/* Terminates the child (as proc_terminate) once `ms` from now have passed. */
void proc_set_timeout(struct proc *p, int ms);
/* Reaps the child (blocking); *status as waitpid's. Returns 0, or -1 if already reaped. */
int proc_wait(struct proc *p, int *status);
/* "exited with 3", "killed by SIGTERM": for error messages. */
void proc_describe_status(int status, char *buf, size_t bufsz);
/* The last bytes the child wrote to stderr (NUL-terminated, possibly ""). */
const char *proc_stderr_tail(struct proc *p);
pid_t proc_pid(const struct proc *p);
bool proc_terminated(const struct proc *p); /* proc_terminate was called */
/* Terminates if still running, reaps, closes pipes, frees. Accepts NULL. */
void proc_free(struct proc *p);

#endif
