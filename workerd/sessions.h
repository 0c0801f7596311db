/* Builder sessions (S-1..S-8): in memory, keyed by the URL's app id, one turn at a time each.
 *
 * A session keeps the provider session state (the runtime's own session or thread id) between
 * turns, so the next turn resumes. Idle sessions expire after workerd.session_ttl_s; a busy one
 * never does. All functions are thread-safe. */
#ifndef SECOND_WORKERD_SESSIONS_H
#define SECOND_WORKERD_SESSIONS_H

#include <stdbool.h>

#include <jansson.h>

#include "lib/err.h"

struct workerd;
struct turn;
struct turn_config;

struct sessions *sessions_new(struct workerd *w);
/* Cancels every running turn (reason "shutdown") and frees. Accepts NULL. */
void sessions_free(struct sessions *s);

/* W-4: get-or-create the session (S-5 state rules with `cfg->session_state`), then start a turn
 * on it in a new thread. Takes ownership of cfg. On success *out is the running turn (one
 * reference for the caller). Returns -1 with e->code "busy" when a turn is running (the
 * caller streams the busy error), or another code on failure. */
int sessions_start_turn(struct sessions *s, struct turn_config *cfg, struct turn **out,
			struct err *e);
/* W-5 body without the workspace fields: {"exists":false} or the session's status. New ref. */
json_t *sessions_status(struct sessions *s, const char *app_id);
/* W-6. Returns true if a session existed. */
bool sessions_destroy(struct sessions *s, const char *app_id);
/* W-7: {"ok":true,"cancelled":bool,"status":...}. New ref. */
json_t *sessions_cancel(struct sessions *s, const char *app_id, const char *reason);
/* The stored provider state (new ref, or NULL) and the session's working directory. */
json_t *sessions_state(struct sessions *s, const char *app_id, char **cwd_out);
/* W-18: [{"appId","status","sessionState"}]. New ref. */
json_t *sessions_list(struct sessions *s);
/* Drops idle sessions past their TTL; called by a timer. */
void sessions_expire(struct sessions *s);

/* Called by the turn: S-6 capture, and the end of a turn (busy -> idle). */
void sessions_capture_state(struct sessions *s, const char *app_id, json_t *state);
void sessions_turn_ended(struct sessions *s, const char *app_id, struct turn *t);

#endif
