/* The Codex app-server client as a pure state machine: JSON-RPC lines in, requests and
 * normalized messages out.
 *
 * A codex_client holds one turn's conversation with `codex app-server`: the
 * startup requests, the thread and turn requests, the answers to the server's own requests,
 * and the mapping of notifications to R-1 messages. It never touches a process: every line
 * Codex prints goes to codex_client_feed, every line to write back goes out through the `send`
 * callback, every message through `emit`. The adapter (codex.c) wires those to the process and
 * the turn; the unit test wires them to fixture files. */
#ifndef SECOND_WORKERD_CODEX_MAP_H
#define SECOND_WORKERD_CODEX_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum codex_state {
	CODEX_RUNNING,
	CODEX_DONE,    /* turn/completed: the result was emitted */
	CODEX_STOPPED, /* an approval stop (T-13): end the process, no result */
	CODEX_FAILED,  /* codex_client_error() says why */
};

/* What one turn asks for. Borrowed: the strings must outlive the client. */
struct codex_turn {
	const char *model, *cwd, *sandbox, *effort;
	const char *system_prompt, *prompt;
	const char *api_key;         /* non-NULL: account/login/start {type:"apiKey"} first */
	const char *resume_thread;   /* non-NULL: thread/resume this thread id */
	const json_t *allowed_tools; /* canonical names, or NULL: every tool (T-15) */
};

struct codex_io {
	/* Steals msg. Returns -1 when the turn cannot take more (cancelled): the client fails. */
	int (*emit)(void *arg, json_t *msg);
	/* One line for Codex's stdin, newline included. Returns -1 when stdin is closed. */
	int (*send)(void *arg, const char *line, size_t len);
	void *arg;
};

struct codex_client;

/* A new client (owned by the caller, free with codex_client_free). Nothing is sent yet. */
struct codex_client *codex_client_new(const struct codex_turn *turn, const struct codex_io *io);
void codex_client_free(struct codex_client *c); /* accepts NULL */
/* Sends initialize. */
enum codex_state codex_client_start(struct codex_client *c);
/* One stdout line of Codex (without the newline). Unparseable lines are ignored. */
enum codex_state codex_client_feed(struct codex_client *c, const char *line, size_t len);
enum codex_state codex_client_state(const struct codex_client *c);
/* Why the client failed ("" otherwise). */
const char *codex_client_error(const struct codex_client *c);

/* U-3: USD for a turn's tokens on `model`; 0 for a model without a price. */
double codex_cost_usd(const char *model, long long input, long long cached, long long output);
/* T-15: the reply to an mcpServer/elicitation/request (new reference). `pending` maps a server
 * name to the tool of its MCP call in progress (may be NULL). */
json_t *codex_elicitation_reply(const json_t *params, const json_t *pending,
				const json_t *allowed_tools);
/* whether a thread/resume error means the thread no longer exists. */
bool codex_is_missing_thread(const char *message);

#endif
