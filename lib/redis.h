/* Redis through hiredis: URLs, timeouts, reconnection, and the commands the product needs.
 *
 * A `struct rds` is one connection and is not shared between threads. URLs are
 * redis://[:password@]host[:port][/db] and unix:///path/to/socket[?db=N]. Every command runs
 * under the command timeout; on an I/O error the connection is re-established and the command
 * is sent once more when it is safe to repeat (reads, and writes the caller marks idempotent).
 * Replies larger than RDS_MAX_REPLY_BYTES or with more than RDS_MAX_REPLY_ELEMENTS elements are
 * refused. Passwords never appear in errors or logs. */
#ifndef SECOND_REDIS_H
#define SECOND_REDIS_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "lib/err.h"

struct rds_opts {
	const char *url;
	int connect_timeout_ms;
	int command_timeout_ms;
};

struct rds;

int rds_open(const struct rds_opts *o, struct rds **out, struct err *e)
	__attribute__((warn_unused_result));
void rds_close(struct rds *r); /* accepts NULL */

/* A command from argv; the reply (to freeReplyObject) or NULL. A Redis error reply is
 * returned as NULL with ERR_IO and the server's message. `retry` says the command may be sent
 * again after a reconnect. */
redisReply *rds_commandv(struct rds *r, bool retry, int argc, const char **argv,
			 const size_t *argvlen, struct err *e);
/* printf-style, as redisCommand; always retried, so use it for idempotent commands only. */
redisReply *rds_command(struct rds *r, struct err *e, const char *fmt, ...);

int rds_ping(struct rds *r, struct err *e) __attribute__((warn_unused_result));

/* Streams. */
struct rds_field {
	char *name;
	char *value;
	size_t value_len;
};

struct rds_entry {
	char id[48];
	struct rds_field *fields;
	size_t nfields;
};

/* XADD key MAXLEN ~ maxlen * field value ...; id_out (>= 48 bytes) gets the entry id.
 * maxlen 0 means no trimming. fields: nfields name/value pairs. */
int rds_xadd(struct rds *r, const char *key, size_t maxlen, const struct rds_field *fields,
	     size_t nfields, char *id_out, size_t id_outsz, struct err *e)
	__attribute__((warn_unused_result));
/* XREAD [BLOCK ms] COUNT n STREAMS key after_id. block_ms < 0 does not block. *entries is
 * malloc'd (free with rds_entries_free); *n is 0 on a timeout. */
int rds_xread(struct rds *r, const char *key, const char *after_id, int block_ms, size_t count,
	      struct rds_entry **entries, size_t *n, struct err *e)
	__attribute__((warn_unused_result));
/* XRANGE key (after_id + count: entries strictly after after_id ("0" for all). */
int rds_xrange_after(struct rds *r, const char *key, const char *after_id, size_t count,
		     struct rds_entry **entries, size_t *n, struct err *e)
	__attribute__((warn_unused_result));
void rds_entries_free(struct rds_entry *entries, size_t n);

int rds_expire(struct rds *r, const char *key, long long seconds, struct err *e)
	__attribute__((warn_unused_result));
int rds_del(struct rds *r, const char *key, struct err *e) __attribute__((warn_unused_result));

/* Pub/sub. */
int rds_publish(struct rds *r, const char *channel, const char *msg, size_t len,
		long long *receivers, struct err *e) __attribute__((warn_unused_result));

struct rds_sub;

/* A dedicated subscriber connection; it resubscribes by itself after a reconnect. */
int rds_subscribe(const struct rds_opts *o, const char *const *channels, size_t nchannels,
		  struct rds_sub **out, struct err *e) __attribute__((warn_unused_result));
/* Waits up to timeout_ms for one message: 1 with *channel and *msg malloc'd, 0 on timeout,
 * -1 on error. */
int rds_sub_next(struct rds_sub *s, int timeout_ms, char **channel, char **msg, size_t *len,
		 struct err *e) __attribute__((warn_unused_result));
void rds_sub_close(struct rds_sub *s); /* accepts NULL */

/* Locks: SET key token NX PX ttl; release deletes only when the token still matches. */
int rds_lock_acquire(struct rds *r, const char *key, const char *token, long long ttl_ms,
		     bool *acquired, struct err *e) __attribute__((warn_unused_result));
int rds_lock_release(struct rds *r, const char *key, const char *token, bool *released,
		     struct err *e) __attribute__((warn_unused_result));

/* Fixed-window counter: INCR key, and EXPIRE key window_s when the key is new, atomically.
 * *value gets the count after the increment. */
int rds_counter_incr(struct rds *r, const char *key, long long window_s, long long *value,
		     struct err *e) __attribute__((warn_unused_result));

#endif
