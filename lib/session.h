/* Sessions: a random 256-bit id in an HttpOnly cookie, the state in Redis (DESIGN.md).
 *
 * Redis holds "session:<hex sha256(id)>" -> {"userId", "createdAt", "mode"} with a TTL, so a
 * leaked Redis dump holds no usable cookie, and logout (DEL) revokes at once. The cookie value
 * is base64url; anything else in the cookie is "no session". */
#ifndef SECOND_SESSION_H
#define SECOND_SESSION_H

#include "lib/err.h"
#include "lib/limits.h"
#include "lib/redis.h"

#define SESSION_COOKIE "second_session"
#define WORKSPACE_COOKIE "second_workspace_id"

/* Creates a session for user_id; cookie_out (TOKEN_MAX_BYTES) gets the cookie value. */
int session_create(struct rds *r, const char *user_id, const char *mode, long ttl_s,
		   char *cookie_out, size_t cookie_outsz, struct err *e)
	__attribute__((warn_unused_result));
/* Resolves a cookie value: 0 with user_id set, ERR_NOT_FOUND when unknown or malformed. */
int session_resolve(struct rds *r, const char *cookie, char *user_id, size_t user_idsz,
		    char hash_out[65], struct err *e) __attribute__((warn_unused_result));
/* Deletes the session named by a cookie value; 0 also when it did not exist. */
int session_revoke(struct rds *r, const char *cookie, struct err *e)
	__attribute__((warn_unused_result));

#endif
