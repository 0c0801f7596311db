/* Opening what a program needs from its configuration: logging, the store, Redis.
 *
 * Every responder, workerd and second-admin go through these, so one key means the same thing
 * everywhere: the store.sqlite.* and store.mongodb.* keys become options of the store URI
 * (an option already written in store.uri wins), the redis.* keys become rds_opts. */
#ifndef SECOND_SERVICE_H
#define SECOND_SERVICE_H

#include "lib/config.h"
#include "lib/err.h"
#include "lib/redis.h"
#include "lib/store.h"

/* Starts logging as `ident` at the configured level and target. */
int service_log_init(const struct config *cfg, const char *ident, struct err *e)
	__attribute__((warn_unused_result));

/* The store URI with the backend keys folded in; malloc'd. */
char *service_store_uri(const struct config *cfg);
int service_store_open(const struct config *cfg, const struct store_schema *schema,
		       struct store **out, struct err *e) __attribute__((warn_unused_result));

void service_redis_opts(const struct config *cfg, struct rds_opts *o);
/* A responder's command line: [--config FILE] [--check-config]. Loads the configuration into
 * *cfg and returns -1 to go on; with --check-config it prints it and returns 0; on a bad option
 * or configuration it says why on stderr and returns 2. The return value is the exit status. */
int service_responder_config(int argc, char **argv, const char *ident, struct config **cfg);
/* The calling thread's Redis connection to `o`, opened on first use and closed when the
 * thread ends; one process serves one Redis. NULL with e set when it cannot be opened. */
struct rds *service_thread_redis(const struct rds_opts *o, struct err *e);
int service_redis_open(const struct config *cfg, struct rds **out, struct err *e)
	__attribute__((warn_unused_result));

#endif
