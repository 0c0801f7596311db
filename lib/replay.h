/* The replay buffer of a builder run's chat stream: one capped Redis Stream per run.
 *
 * Key run:<runId>:stream. The first entry is a start marker (field "s"), so a reader can tell
 * a complete buffer from one whose head was trimmed; then one entry per UI chunk as it was
 * sent (field "c": the chunk's JSON, or "[DONE]"); then, once, the terminal entry (field "t":
 * "completed" or "failed"). The SSE id an observer gets is the entry id, so a reconnect with
 * that id (Last-Event-ID, or ?cursor=) resumes exactly after it. The stream is capped at about
 * REPLAY_MAX_CHUNKS entries and expires REPLAY_TTL_S after its last write. */
#ifndef SECOND_REPLAY_H
#define SECOND_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

struct rds;

#define REPLAY_ID_MAX 48

/* Empties the run's buffer and writes the start marker (on each successful claim). */
int replay_reset(struct rds *r, const char *run_id, struct err *e)
	__attribute__((warn_unused_result));
/* Appends one chunk; id (REPLAY_ID_MAX bytes, may be NULL) gets its entry id. */
int replay_append(struct rds *r, const char *run_id, const char *chunk, size_t len, char *id,
		  struct err *e) __attribute__((warn_unused_result));
/* Appends the terminal entry ("completed" or "failed"). */
int replay_terminal(struct rds *r, const char *run_id, const char *status, struct err *e)
	__attribute__((warn_unused_result));

struct replay_event {
	char id[REPLAY_ID_MAX];
	char *chunk; /* malloc'd, NUL-terminated; NULL for the terminal entry */
	size_t len;
	char terminal[16]; /* "completed" / "failed" for the terminal entry, else "" */
};

/* Entries after `after` (an entry id; "0" or NULL for all), at most `max`, waiting up to
 * block_ms for the first one when there is none yet (block_ms < 0: no wait). The start marker
 * is never returned. *events is malloc'd (replay_events_free); *n is 0 on a timeout. */
int replay_read(struct rds *r, const char *run_id, const char *after, int block_ms, size_t max,
		struct replay_event **events, size_t *n, struct err *e)
	__attribute__((warn_unused_result));
void replay_events_free(struct replay_event *events, size_t n);

/* What is buffered: *exists when the stream has entries, *complete when its start marker is
 * still there (nothing trimmed), *terminal when the terminal entry was written. */
int replay_state(struct rds *r, const char *run_id, bool *exists, bool *complete, bool *terminal,
		 struct err *e) __attribute__((warn_unused_result));
/* Whether `id` looks like a stream entry id ("<ms>-<seq>", digits only): for cursors. */
bool replay_valid_id(const char *id);

#endif
