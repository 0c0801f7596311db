/* The responders' client of workerd's internal API: HTTP over its unix socket (libcurl), the
 * INTERNAL bearer token on every call, JSON calls and streamed turns.
 *
 * A turn's reply is read with the SSE reader as it arrives; each data payload (one normalized
 * runtime message, or "[DONE]") goes to the caller's callback in order. Error messages are the
 * ones B-7 names, so they can be shown to users as they are. */
#ifndef SECOND_WORKERC_H
#define SECOND_WORKERC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/err.h"

struct wkc {
	const char *socket; /* workerd.listen without "unix:" */
	const char *token;  /* api.internal_token; "" sends none */
	int connect_timeout_ms;
	int call_timeout_ms; /* JSON calls; turns have no overall timeout */
};

/* One JSON call. *status gets the HTTP status and *reply the parsed body (new ref, or NULL
 * when it was not JSON). -1 with "Could not connect to the agent worker." when it is down. */
int wkc_call(const struct wkc *w, const char *method, const char *path, const json_t *body,
	     long *status, json_t **reply, struct err *e) __attribute__((warn_unused_result));

/* Return nonzero to stop reading (the connection is closed, which cancels the turn). */
typedef int (*wkc_data_fn)(void *arg, const char *data, size_t len);

/* Called about once a second while a turn's stream is quiet or flowing (for keep-alives). */
typedef void (*wkc_tick_fn)(void *arg);

/* POST /sessions/<app_id>/messages and reads the stream to its end. Returns 0 when the stream
 * ended (the callback saw everything, [DONE] included if it came) or the callback stopped it;
 * -1 with e: "Could not connect to the agent worker.", "Agent worker returned <status>",
 * or "Lost connection to the agent worker stream." (*lost set) for a read error mid-stream. */
int wkc_turn(const struct wkc *w, const char *app_id, const json_t *body, wkc_data_fn fn,
	     wkc_tick_fn tick, void *arg, bool *lost, struct err *e)
	__attribute__((warn_unused_result));

#endif
