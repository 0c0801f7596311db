/* One builder turn: the request that started it, the runtime process it runs, and the queue of
 * normalized messages on their way to the SSE reply.
 *
 * The runtime adapter runs in the turn's own thread and produces messages with turn_emit; the
 * SSE writer consumes them with turn_next. The queue is bounded (TURN_QUEUE_MAX bytes): a slow
 * reader makes the producer wait, never grows memory without limit. turn_cancel may come from
 * any thread (client gone, DELETE, /cancel, shutdown); the adapter sees it through
 * turn_cancelled and its process is terminated. A turn holds references to its session and the
 * broker session it opened; both are released by turn_release. */
#ifndef SECOND_WORKERD_TURN_H
#define SECOND_WORKERD_TURN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/err.h"

struct workerd;
struct session;
struct proc;

/* What a turn runs, from the /messages request (W-4), normalized. Owned by the turn. */
struct turn_config {
	char *app_id;     /* the URL's :appId (the session key) */
	char *runtime_id; /* "claude-code" | "codex-cli" | "opencode" */
	char *model;      /* normalized */
	json_t *params;   /* normalized runtimeParams (object of strings) */
	char *mode;       /* "builder" | "workspace_agent" */
	char *prompt;
	char *system_prompt;   /* may be "" */
	char *cwd;             /* absolute, inside workerd.workspaces_dir unless given */
	json_t *allowed_tools; /* array of canonical names, or NULL: every tool */
	int max_turns;
	json_t *session_state; /* ProviderSessionState the turn resumes, or NULL */
	json_t *context;       /* workspaceId, runId, appName, requestedBy*, agentConfig */
};

struct turn;

/* The sessions module's side: a new turn (one reference) that takes ownership of cfg, and its
 * start: a thread opens the broker session, runs the adapter, queues the final frame, calls
 * `ended` (from the turn's thread) and drops its reference. */
struct turn *turn_new(struct workerd *w, struct turn_config *cfg);
typedef void (*turn_ended_fn)(void *arg, struct turn *t);
int turn_start(struct turn *t, turn_ended_fn ended, void *arg, struct err *e)
	__attribute__((warn_unused_result));
bool turn_running(const struct turn *t);
void turn_config_free(struct turn_config *cfg); /* the members, not cfg itself */

/* What set_app_metadata captured during the turn (kept when its broker session closes):
 * {name, description}, new ref, or NULL. Valid once the stream has ended. */
json_t *turn_captured(struct turn *t);

/* Reference counting: the HTTP reply and the turn thread each hold one. */
void turn_retain(struct turn *t);
void turn_release(struct turn *t); /* accepts NULL */

const struct turn_config *turn_config(const struct turn *t);
struct workerd *turn_workerd(const struct turn *t);
/* The broker session of this turn: its id, bearer token, and the MCP URL of one server
 * ("second", "app_tools", "app_data") written into buf. */
const char *turn_broker_id(const struct turn *t);
const char *turn_broker_token(const struct turn *t);
void turn_mcp_url(const struct turn *t, const char *server, char *buf, size_t bufsz);

/* Adapter side. Steals msg. Captures session state as S-6 says, then queues the message;
 * blocks while the queue is full (returns -1 at once once the turn is cancelled). */
int turn_emit(struct turn *t, json_t *msg);
bool turn_cancelled(const struct turn *t);
/* A failure message longer than struct err holds (a CLI's stderr tail, up to TURN_ERROR_MAX
 * bytes); when set, it is the turn's error event instead of run()'s e->msg. */
void turn_fail(struct turn *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The process the adapter runs now, so turn_cancel can terminate it; NULL when it ends. */
void turn_set_proc(struct turn *t, struct proc *p);

/* Any thread. Records the first reason ("cancelled", "stream_closed", "session_destroyed",
 * "shutdown") and terminates the running process. Returns true if the turn was still
 * running. */
bool turn_cancel(struct turn *t, const char *reason);
const char *turn_cancel_reason(const struct turn *t); /* NULL while not cancelled */

/* Consumer side: the next SSE frame to send, as bytes, written into *out (malloc'd, caller
 * frees). Waits up to timeout_ms; returns 1 with a frame, 0 on timeout (send a keep-alive),
 * -1 when the stream has ended and everything was consumed. The frames are
 * "data: <json>\n\n" per message, then "data: [DONE]\n\n" on a normal end, or one
 * "data: {\"type\":\"error\",\"error\":...}\n\n" on failure. */
int turn_next(struct turn *t, int timeout_ms, char **out, size_t *outlen);

#endif
