/* The replay buffer of a builder run's chat stream (see replay.h): XADD with MAXLEN ~ and an
 * EXPIRE refresh per write, XRANGE and XREAD BLOCK to read. */
#include <config.h>

#include "lib/replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/limits.h"
#include "lib/redis.h"

/* The first field name of entry 0 of an XRANGE reply, or NULL. */
static const char *first_field(const redisReply *rep)
{
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1)
		return NULL;
	const redisReply *ent = rep->element[0];
	if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2)
		return NULL;
	const redisReply *fields = ent->element[1];
	if (fields->type != REDIS_REPLY_ARRAY || fields->elements < 1 ||
	    fields->element[0]->type != REDIS_REPLY_STRING)
		return NULL;
	return fields->element[0]->str;
}

static int key_of(const char *run_id, char *key, size_t keysz, struct err *e)
{
	if (!run_id || !*run_id || strlen(run_id) > 64)
		return err_set(e, ERR_INVALID, "bad run id");
	snprintf(key, keysz, "run:%s:stream", run_id);
	return 0;
}

static int add(struct rds *r, const char *run_id, const char *field, const char *value, size_t len,
	       char *id, struct err *e)
{
	char key[96], idbuf[REPLAY_ID_MAX];
	if (key_of(run_id, key, sizeof(key), e) < 0)
		return -1;
	if (len > REPLAY_MAX_CHUNK_BYTES)
		return err_set(e, ERR_TOO_LARGE, "chunk over %d bytes", REPLAY_MAX_CHUNK_BYTES);
	struct rds_field f = {.name = (char *)field, .value = (char *)value, .value_len = len};
	if (rds_xadd(r, key, REPLAY_MAX_CHUNKS, &f, 1, id ? id : idbuf, REPLAY_ID_MAX, e) < 0 ||
	    rds_expire(r, key, REPLAY_TTL_S, e) < 0)
		return -1;
	return 0;
}

int replay_reset(struct rds *r, const char *run_id, struct err *e)
{
	char key[96];
	if (key_of(run_id, key, sizeof(key), e) < 0 || rds_del(r, key, e) < 0)
		return -1;
	return add(r, run_id, "s", "1", 1, NULL, e);
}

int replay_append(struct rds *r, const char *run_id, const char *chunk, size_t len, char *id,
		  struct err *e)
{
	return add(r, run_id, "c", chunk, len, id, e);
}

int replay_terminal(struct rds *r, const char *run_id, const char *status, struct err *e)
{
	return add(r, run_id, "t", status, strlen(status), NULL, e);
}

void replay_events_free(struct replay_event *events, size_t n)
{
	for (size_t i = 0; events && i < n; i++)
		free(events[i].chunk);
	free(events);
}

/* Converts stream entries, dropping the start marker. */
static void convert(struct rds_entry *in, size_t nin, struct replay_event **out, size_t *n)
{
	struct replay_event *ev = calloc(nin ? nin : 1, sizeof(*ev));
	if (!ev)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < nin; i++) {
		if (in[i].nfields < 1)
			continue;
		const struct rds_field *f = &in[i].fields[0];
		if (strcmp(f->name, "s") == 0)
			continue;
		snprintf(ev[k].id, sizeof(ev[k].id), "%s", in[i].id);
		if (strcmp(f->name, "t") == 0) {
			snprintf(ev[k].terminal, sizeof(ev[k].terminal), "%.*s", (int)f->value_len,
				 f->value);
		} else {
			ev[k].chunk = malloc(f->value_len + 1);
			if (!ev[k].chunk)
				abort();
			memcpy(ev[k].chunk, f->value, f->value_len);
			ev[k].chunk[f->value_len] = '\0';
			ev[k].len = f->value_len;
		}
		k++;
	}
	*out = ev;
	*n = k;
}

int replay_read(struct rds *r, const char *run_id, const char *after, int block_ms, size_t max,
		struct replay_event **events, size_t *n, struct err *e)
{
	char key[96];
	struct rds_entry *ent = NULL;
	size_t nent = 0;
	*events = NULL;
	*n = 0;
	if (key_of(run_id, key, sizeof(key), e) < 0)
		return -1;
	if (!after || !*after)
		after = "0";
	if (!replay_valid_id(after) && strcmp(after, "0") != 0)
		return err_set(e, ERR_INVALID, "bad cursor");
	if (max == 0 || max > REPLAY_READ_MAX)
		max = REPLAY_READ_MAX;
	if (rds_xrange_after(r, key, after, max, &ent, &nent, e) < 0)
		return -1;
	if (nent == 0 && block_ms >= 0) {
		rds_entries_free(ent, nent);
		ent = NULL;
		if (rds_xread(r, key, after, block_ms, max, &ent, &nent, e) < 0)
			return -1;
	}
	convert(ent, nent, events, n);
	rds_entries_free(ent, nent);
	return 0;
}

int replay_state(struct rds *r, const char *run_id, bool *exists, bool *complete, bool *terminal,
		 struct err *e)
{
	char key[96];
	*exists = *complete = *terminal = false;
	if (key_of(run_id, key, sizeof(key), e) < 0)
		return -1;
	redisReply *first = rds_command(r, e, "XRANGE %s - + COUNT 1", key);
	if (!first)
		return -1;
	const char *f = first_field(first);
	*exists = f != NULL;
	*complete = f && strcmp(f, "s") == 0;
	freeReplyObject(first);
	redisReply *last = rds_command(r, e, "XREVRANGE %s + - COUNT 1", key);
	if (!last)
		return -1;
	f = first_field(last);
	*terminal = f && strcmp(f, "t") == 0;
	freeReplyObject(last);
	return 0;
}

bool replay_valid_id(const char *id)
{
	if (!id || !*id || strlen(id) >= REPLAY_ID_MAX)
		return false;
	const char *dash = strchr(id, '-');
	if (!dash || dash == id || !dash[1])
		return false;
	for (const char *p = id; *p; p++)
		if (p != dash && (*p < '0' || *p > '9'))
			return false;
	return true;
}
