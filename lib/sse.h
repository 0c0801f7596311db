/* Server-sent events: a reader that takes bytes and emits events, and the one writer that
 * frames a payload (splitting newlines into several data: lines).
 *
 * The reader follows the event-stream rules: lines end in LF, CRLF or CR; "data:" lines of one
 * event are joined with LF; "id:" sets the event's id; lines starting with ':' are comments
 * (keep-alives); an empty line dispatches the event. An event or line over SSE_MAX_EVENT_BYTES
 * is refused (the reader fails) rather than grown without limit. */
#ifndef SECOND_SSE_H
#define SECOND_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

/* Called per event with its data (NUL-terminated) and id ("" when none). Return nonzero to
 * stop: sse_feed then returns 1. */
typedef int (*sse_event_fn)(void *arg, const char *data, size_t len, const char *id);

struct sse_reader {
	char *line;
	size_t line_len, line_cap;
	char *data;
	size_t data_len, data_cap;
	bool has_data;
	char id[64];
	bool last_cr;
	sse_event_fn fn;
	void *arg;
	bool failed;
};

void sse_reader_init(struct sse_reader *r, sse_event_fn fn, void *arg);
/* Feeds bytes; 0 to continue, 1 when the callback stopped, -1 (with e) when over a limit. */
int sse_feed(struct sse_reader *r, const char *buf, size_t len, struct err *e);
void sse_reader_free(struct sse_reader *r);

/* "id: <id>\n" (when id is non-NULL) + one "data: " line per line of payload + "\n".
 * New malloc'd string, length in *len. */
char *sse_frame(const char *payload, size_t plen, const char *id, size_t *len);

#endif
