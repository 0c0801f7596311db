/* Sessions in Redis: create on sign-in, resolve on every request, delete on logout.
 *
 * The cookie is TOKEN_BYTES random bytes as unpadded base64url (43 characters). Redis holds
 * only its hash: "session:<hex sha256(cookie)>" -> {"userId", "createdAt", "mode"}, set with
 * EX so Redis itself ends a session; nothing else is stored. A cookie of any other shape is
 * "no session" without a round-trip, so a client cannot make us hash or look up junk of its
 * choosing. Cookie values never reach logs or error messages. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/codec.h"
#include "lib/crypto.h"
#include "lib/jsonx.h"
#include "lib/session.h"
#include "lib/timeutil.h"

#define SESSION_KEY_PREFIX "session:"
#define SESSION_KEY_MAX (sizeof(SESSION_KEY_PREFIX) + CRYPTO_SHA256_BYTES * 2)
#define SESSION_VALUE_MAX_BYTES 1024 /* a stored record is ~120 bytes; more is not ours */
#define SESSION_VALUE_MAX_DEPTH 2

/* A cookie is exactly the base64url text of TOKEN_BYTES bytes. */
static bool cookie_valid(const char *cookie)
{
	uint8_t raw[TOKEN_BYTES];
	size_t want = codec_b64url_len(TOKEN_BYTES), len, n;

	if (cookie == NULL)
		return false;
	len = strnlen(cookie, want + 1);
	if (len != want)
		return false;
	if (codec_b64url_decode(cookie, len, raw, sizeof(raw), &n) != 0 || n != TOKEN_BYTES)
		return false;
	explicit_bzero(raw, sizeof(raw));
	return true;
}

static void session_key(const char *cookie, char hash[65], char key[SESSION_KEY_MAX])
{
	crypto_sha256_hex(cookie, strlen(cookie), hash);
	snprintf(key, SESSION_KEY_MAX, SESSION_KEY_PREFIX "%s", hash);
}

static char *record_new(const char *user_id, const char *mode)
{
	char now[TIME_ISO_LEN + 1];
	json_t *rec = NULL;
	char *text = NULL;

	time_now_iso8601(now);
	rec = json_pack("{s:s, s:s, s:s}", "userId", user_id, "createdAt", now, "mode", mode);
	if (rec == NULL)
		abort();
	text = jsonx_dumps_compact(rec, NULL);
	json_decref(rec);
	if (text == NULL)
		abort();
	return text;
}

static int check_create_args(const char *user_id, const char *mode, long ttl_s, size_t cookie_outsz,
			     struct err *e)
{
	if (user_id == NULL || user_id[0] == '\0' || strlen(user_id) > STORE_MAX_ID_BYTES)
		return err_set(e, ERR_INVALID, "session: bad user id");
	if (mode == NULL || mode[0] == '\0')
		return err_set(e, ERR_INVALID, "session: no mode");
	if (ttl_s <= 0 || ttl_s > SESSION_MAX_TTL_S)
		return err_set(e, ERR_INVALID, "session: ttl %ld outside 1..%ld", ttl_s,
			       SESSION_MAX_TTL_S);
	if (cookie_outsz < codec_b64url_len(TOKEN_BYTES) + 1)
		return err_set(e, ERR_INVALID, "session: cookie buffer too small");
	return 0;
}

int session_create(struct rds *r, const char *user_id, const char *mode, long ttl_s,
		   char *cookie_out, size_t cookie_outsz, struct err *e)
{
	char cookie[TOKEN_MAX_BYTES], hash[65], key[SESSION_KEY_MAX], ttl[24];
	char *value = NULL;
	redisReply *rep = NULL;
	int rc = -1;

	if (check_create_args(user_id, mode, ttl_s, cookie_outsz, e) != 0)
		return -1;
	crypto_random_token(cookie, sizeof(cookie));
	session_key(cookie, hash, key);
	value = record_new(user_id, mode);
	snprintf(ttl, sizeof(ttl), "%ld", ttl_s);
	/* SET is safe to resend after a reconnect: the same key gets the same value. */
	rep = rds_commandv(r, true, 5, (const char *[]){"SET", key, value, "EX", ttl}, NULL, e);
	if (rep == NULL)
		goto out;
	if (rep->type != REDIS_REPLY_STATUS || strcmp(rep->str, "OK") != 0) {
		err_set(e, ERR_IO, "session: unexpected reply to SET");
		goto out;
	}
	memcpy(cookie_out, cookie, strlen(cookie) + 1);
	rc = 0;
out:
	if (rep != NULL)
		freeReplyObject(rep);
	free(value);
	explicit_bzero(cookie, sizeof(cookie));
	return rc;
}

/* The userId of a stored record; a record we cannot read is no session. */
static int record_user(const redisReply *rep, char *user_id, size_t user_idsz, struct err *e)
{
	json_t *rec = NULL;
	const char *uid;
	int rc = -1;

	rec = jsonx_loadb(rep->str, rep->len, SESSION_VALUE_MAX_BYTES, SESSION_VALUE_MAX_DEPTH,
			  NULL);
	uid = rec != NULL ? jsonx_str(rec, "userId") : NULL;
	if (uid == NULL || uid[0] == '\0' || strlen(uid) >= user_idsz)
		err_set(e, ERR_NOT_FOUND, "session: unreadable record");
	else {
		memcpy(user_id, uid, strlen(uid) + 1);
		rc = 0;
	}
	json_decref(rec);
	return rc;
}

int session_resolve(struct rds *r, const char *cookie, char *user_id, size_t user_idsz,
		    char hash_out[65], struct err *e)
{
	char hash[65], key[SESSION_KEY_MAX];
	redisReply *rep = NULL;
	int rc = -1;

	if (user_idsz > 0)
		user_id[0] = '\0';
	if (hash_out != NULL)
		hash_out[0] = '\0';
	if (!cookie_valid(cookie))
		return err_set(e, ERR_NOT_FOUND, "session: no session");
	session_key(cookie, hash, key);
	rep = rds_commandv(r, true, 2, (const char *[]){"GET", key}, NULL, e);
	if (rep == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_NIL)
		err_set(e, ERR_NOT_FOUND, "session: no session");
	else if (rep->type != REDIS_REPLY_STRING)
		err_set(e, ERR_IO, "session: unexpected reply to GET");
	else if (record_user(rep, user_id, user_idsz, e) == 0)
		rc = 0;
	freeReplyObject(rep);
	if (rc == 0 && hash_out != NULL)
		memcpy(hash_out, hash, sizeof(hash));
	return rc;
}

int session_revoke(struct rds *r, const char *cookie, struct err *e)
{
	char hash[65], key[SESSION_KEY_MAX];

	if (!cookie_valid(cookie))
		return 0;
	session_key(cookie, hash, key);
	return rds_del(r, key, e);
}
