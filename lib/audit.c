/* The audit log writer and chain verifier (AUD-1..AUD-6, AUD-14).
 *
 * Data model: one `audit_events` document per event, scoped by workspaceId:
 *   {_id, workspaceId, schemaVersion:1, occurredAt, observedAt, eventName, category, severity,
 *    outcome, actor{kind,...}, source{kind,trust,...}, target{type,...}, action, summary,
 *    metadata{...}, changes?{changedFields[], beforeHash?, afterHash?, redactedFields[]},
 *    correlationId?, relatedIds?{...}, retention{policy, expiresAt:null, legalHold:false},
 *    createdAt, seq, prevHash, hash}
 * The nested objects are built from allow-lists of fields, never copied wholesale, so nothing a
 * caller did not mean to log (a request body, a header, a cookie) can ride along; metadata is
 * the one free-form part and goes through audit_sanitize(). `seq` numbers a workspace's events
 * from 1, `prevHash` is the previous event's `hash` ("" for the first) and `hash` covers the
 * whole document except itself, so an edit, a deletion or a reordering inside the chain shows
 * up in audit_verify(). Appending is optimistic: read the last event, insert seq + 1, and let
 * the unique (workspaceId, seq) index turn a lost race into ERR_DUPLICATE and a retry. Inside
 * one process, appends to one workspace also take a lock, so only processes ever race. */
#include <config.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/audit.h"
#include "lib/crypto.h"
#include "lib/ids.h"
#include "lib/jsonx.h"
#include "lib/timeutil.h"

#define AUDIT_COLL "audit_events"
#define AUDIT_SHA256_LEN 72
#define CHAIN_STRIPES 16 /* append locks per process, by workspace */
/* Metadata paths: AUDIT_META_DEPTH keys of at most AUDIT_META_KEY_MAX characters plus "..."
 * (4 bytes each in UTF-8), with their dots, always fit. */
#define META_PATH_MAX (AUDIT_META_DEPTH * ((AUDIT_META_KEY_MAX + 3) * 4 + 12) + 1)

/* AUD-3 */
static const char *const categories[] = {
	"auth",         "access",         "members", "teams", "apps",     "reviews",
	"integrations", "source_control", "agents",  "tools", "app_data", "app_event",
	"audit",        "library",        "system",  NULL,
};
static const char *const severities[] = {"debug", "info",     "notice", "warning",
					 "error", "critical", NULL};
static const char *const outcomes[] = {"success", "failure",   "denied",
				       "started", "completed", NULL};
static const char *const actor_kinds[] = {"user", "system", "agent", "app", "worker", NULL};
static const char *const source_kinds[] = {
	"web_server",    "worker",          "app_iframe", "app_agent",
	"builder_agent", "workspace_agent", "system",     NULL};
static const char *const source_trusts[] = {"server_trusted", "internal_trusted",
					    "client_untrusted", NULL};
static const char *const target_types[] = {
	"workspace",
	"member",
	"team",
	"invitation",
	"app",
	"review",
	"integration",
	"source_control_connection",
	"oauth_provider_config",
	"connected_account",
	"agent",
	"run",
	"source_snapshot",
	"tool",
	"app_data_document",
	"app_event",
	"audit_export",
	NULL,
};
static const char *const retention_policies[] = {"default", "security", "short_lived_dev", NULL};

/* AUD-4: a key containing any of these (case-insensitively) has its value redacted. The
 * reference's regex alternatives with optional separators are spelled out. */
static const char *const secret_key_parts[] = {
	"password",    "token",       "secret",           "apikey",
	"api-key",     "api_key",     "authorization",    "cookie",
	"set-cookie",  "session",     "connectionstring", "privatekey",
	"private-key", "private_key", "sourcefiles",      "publishedsourcefiles",
	"prompt",      "messages",    "headers",          "body",
	"response",    NULL,
};

/* How a field of actor, source, target or relatedIds is taken from the caller's object. */
enum field_kind {
	FIELD_ENUM,        /* required string from `allowed` */
	FIELD_TEXT,        /* optional string, cleaned to `max` characters */
	FIELD_TEXT_OR_INT, /* optional string (cleaned) or integer */
	FIELD_TEXT_ARRAY,  /* optional array of strings, `max` items of AUDIT_TEXT_MAX */
};

struct field {
	const char *key;
	enum field_kind kind;
	size_t max;
	const char *const *allowed;
};

static const struct field actor_fields[] = {
	{"kind", FIELD_ENUM, 0, actor_kinds},
	{"userId", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"displayName", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"email", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"role", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"teamIds", FIELD_TEXT_ARRAY, AUDIT_TEAM_IDS_MAX, NULL},
	{"agentId", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"agentName", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"appId", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"appName", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{NULL, FIELD_TEXT, 0, NULL},
};
static const struct field source_fields[] = {
	{"kind", FIELD_ENUM, 0, source_kinds},
	{"trust", FIELD_ENUM, 0, source_trusts},
	{"appId", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"appName", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"sourceVersion", FIELD_TEXT_OR_INT, AUDIT_TEXT_MAX, NULL},
	{"runId", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"requestId", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"traceId", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"spanId", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"ipHash", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"userAgentHash", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{NULL, FIELD_TEXT, 0, NULL},
};
static const struct field target_fields[] = {
	{"type", FIELD_ENUM, 0, target_types},
	{"id", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"name", FIELD_TEXT, AUDIT_NAME_MAX, NULL},
	{"parentType", FIELD_TEXT, AUDIT_PARENT_TYPE_MAX, NULL},
	{"parentId", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{NULL, FIELD_TEXT, 0, NULL},
};
static const struct field related_fields[] = {
	{"appId", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"runId", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"reviewRequestId", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"integrationId", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"agentRunId", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{"appDataDocumentId", FIELD_TEXT, AUDIT_TEXT_MAX, NULL},
	{NULL, FIELD_TEXT, 0, NULL},
};

static bool in_list(const char *s, const char *const *list)
{
	if (s == NULL)
		return false;
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* Length of the well-formed UTF-8 sequence at p (1..4), or 0. Stops at a NUL, so it never
 * reads past the end of the string. */
static size_t utf8_seq(const unsigned char *p)
{
	unsigned char c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		/* Overlong forms and UTF-16 surrogates are not characters. */
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

static bool control_byte(unsigned char c)
{
	return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f;
}

/* Copies s without control bytes and malformed UTF-8, each run of CR/LF/TAB as one space.
 * Bytes that are not UTF-8 are dropped too, so the result can always become a JSON string. */
static size_t strip_and_collapse(const unsigned char *s, char *out)
{
	size_t n = 0, k;
	bool in_run = false;

	while (*s != '\0') {
		if (*s == '\t' || *s == '\n' || *s == '\r') {
			if (!in_run)
				out[n++] = ' ';
			in_run = true;
			s++;
			continue;
		}
		k = control_byte(*s) ? 0 : utf8_seq(s);
		if (k == 0) {
			s++;
			continue;
		}
		memcpy(out + n, s, k);
		n += k;
		s += k;
		in_run = false;
	}
	out[n] = '\0';
	return n;
}

/* AUD-2 cleanText. Limits count characters (code points; the reference counts UTF-16 units,
 * which differs only for characters outside the BMP). As in the reference, a cut string keeps
 * `max` characters and gains "...". Only ASCII spaces are trimmed. */
static char *clean_text(const char *s, size_t max, bool *cut)
{
	size_t len = s ? strlen(s) : 0, n, start = 0, chars = 0, i = 0;
	char *out = malloc(len + 4);

	if (out == NULL)
		abort();
	n = strip_and_collapse((const unsigned char *)(s ? s : ""), out);
	while (start < n && out[start] == ' ')
		start++;
	while (n > start && out[n - 1] == ' ')
		n--;
	memmove(out, out + start, n - start);
	n -= start;
	out[n] = '\0';
	*cut = false;
	while (i < n && chars < max) {
		i += utf8_seq((const unsigned char *)out + i);
		chars++;
	}
	if (i < n) {
		/* At least one byte was dropped, so the three dots fit in the buffer. */
		memcpy(out + i, "...", 4);
		*cut = true;
	}
	return out;
}

char *audit_clean_text(const char *s, size_t max)
{
	bool cut;

	return clean_text(s, max, &cut);
}

/* A cleaned JSON string, or NULL when nothing is left of s. */
static json_t *clean_json(const char *s, size_t max, bool *cut)
{
	bool dummy;
	char *c = clean_text(s, max, cut ? cut : &dummy);
	json_t *v = c[0] != '\0' ? json_string(c) : NULL;

	free(c);
	return v;
}

void audit_sha256(const json_t *v, char out[72])
{
	/* jsonx_dumps_stable orders keys by bytes (strcmp), not by localeCompare as the
	 * reference's stableStringify does, and prints numbers the jansson way: our hashes are
	 * reproducible by this code and by anything that sorts keys bytewise, not by the
	 * reference's. The chain only ever compares hashes this code made. */
	char *text = jsonx_dumps_stable(v);
	char hex[CRYPTO_SHA256_BYTES * 2 + 1];

	crypto_sha256_hex(text, strlen(text), hex);
	snprintf(out, AUDIT_SHA256_LEN, "sha256:%s", hex);
	free(text);
}

static bool key_is_secret(const char *key)
{
	size_t len = strlen(key);
	char *lower = malloc(len + 1);
	bool hit = false;

	if (lower == NULL)
		abort();
	for (size_t i = 0; i <= len; i++)
		lower[i] = (key[i] >= 'A' && key[i] <= 'Z') ? (char)(key[i] + 32) : key[i];
	for (const char *const *p = secret_key_parts; *p != NULL && !hit; p++)
		hit = strstr(lower, *p) != NULL;
	free(lower);
	return hit;
}

struct sanitize {
	json_t *redacted; /* dotted paths of redacted values, or NULL */
	bool truncated;
	char path[META_PATH_MAX];
	size_t pathlen;
};

static json_t *sanitize_value(const json_t *v, int level, struct sanitize *st);

/* Appends ".seg" (or "seg" at the top) to the current path; returns the old length. */
static size_t path_push(struct sanitize *st, const char *seg)
{
	size_t old = st->pathlen;
	int n = snprintf(st->path + old, sizeof(st->path) - old, "%s%s", old ? "." : "", seg);

	/* Cannot happen within the limits above; a cut path is still a useful record. */
	if (n > 0)
		st->pathlen = old + (size_t)n < sizeof(st->path) ? old + (size_t)n
								 : sizeof(st->path) - 1;
	return old;
}

static void path_pop(struct sanitize *st, size_t old)
{
	st->pathlen = old;
	st->path[old] = '\0';
}

static void record_redacted(struct sanitize *st)
{
	if (st->redacted != NULL && json_array_size(st->redacted) < AUDIT_REDACTED_FIELDS_MAX)
		json_array_append_new(st->redacted, json_string(st->path));
}

static json_t *sanitize_object(const json_t *obj, int level, struct sanitize *st)
{
	json_t *out = json_object(), *child;
	const char *key;
	size_t count = 0, old;
	char *ckey;
	bool cut;

	json_object_foreach ((json_t *)obj, key, child) {
		if (count++ == AUDIT_META_KEYS_MAX) {
			st->truncated = true;
			break;
		}
		ckey = clean_text(key, AUDIT_META_KEY_MAX, &cut);
		st->truncated |= cut;
		old = path_push(st, ckey);
		/* Both spellings are checked: cutting a long key could hide "token" at its end. */
		if (key_is_secret(key) || key_is_secret(ckey)) {
			json_object_set_new(out, ckey, json_string("[redacted]"));
			record_redacted(st);
		} else {
			json_object_set_new(out, ckey, sanitize_value(child, level + 1, st));
		}
		path_pop(st, old);
		free(ckey);
	}
	return out;
}

static json_t *sanitize_array(const json_t *arr, int level, struct sanitize *st)
{
	json_t *out = json_array(), *child;
	size_t i, old;
	char index[24];

	json_array_foreach (arr, i, child) {
		if (i == AUDIT_META_ARRAY_MAX) {
			st->truncated = true;
			break;
		}
		snprintf(index, sizeof(index), "%zu", i);
		old = path_push(st, index);
		json_array_append_new(out, sanitize_value(child, level + 1, st));
		path_pop(st, old);
	}
	return out;
}

/* `level` is the nesting of v: the metadata object itself is 0. A container at level
 * AUDIT_META_DEPTH would make the result deeper than AUDIT_META_DEPTH, so it is cut there.
 * jansson holds no NaN or infinity and no dates, so AUD-4's conversions have nothing to do. */
static json_t *sanitize_value(const json_t *v, int level, struct sanitize *st)
{
	bool cut;
	json_t *s;

	if ((json_is_object(v) || json_is_array(v)) && level >= AUDIT_META_DEPTH) {
		st->truncated = true;
		return json_string("[truncated]");
	}
	if (json_is_object(v))
		return sanitize_object(v, level, st);
	if (json_is_array(v))
		return sanitize_array(v, level, st);
	if (json_is_string(v)) {
		s = clean_json(json_string_value(v), AUDIT_META_STRING_MAX, &cut);
		st->truncated |= cut;
		return s ? s : json_string("");
	}
	return json_deep_copy(v);
}

json_t *audit_sanitize(const json_t *metadata, json_t *redacted, bool *truncated)
{
	struct sanitize *st = calloc(1, sizeof(*st));
	json_t *out, *small;
	char hash[AUDIT_SHA256_LEN];
	size_t len;
	char *text;

	if (st == NULL)
		abort();
	st->redacted = json_is_array(redacted) ? redacted : NULL;
	out = metadata ? sanitize_value(metadata, 0, st) : json_object();
	if (st->truncated && json_is_object(out))
		json_object_set_new(out, "_truncated", json_true());
	text = jsonx_dumps_compact(out, &len);
	free(text);
	if (len > AUDIT_META_BYTES_MAX) {
		/* The hash is of the sanitised value: hashing the input could fingerprint the
		 * secrets that were just redacted. */
		audit_sha256(out, hash);
		small = json_pack("{s:b,s:s}", "_truncated", 1, "_metadataHash", hash);
		json_decref(out);
		out = small;
		st->truncated = true;
	}
	if (truncated != NULL)
		*truncated = st->truncated;
	free(st);
	return out;
}

/* ^[a-z][a-z0-9]*(?:[._][a-z0-9]+)+$ */
static bool event_name_valid(const char *s)
{
	size_t segments = 0;

#define LOWER_OR_DIGIT(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= '0' && (c) <= '9'))
	if (s == NULL || strlen(s) > AUDIT_EVENT_NAME_MAX || !(*s >= 'a' && *s <= 'z'))
		return false;
	while (LOWER_OR_DIGIT(*s))
		s++;
	while (*s == '.' || *s == '_') {
		s++;
		if (!LOWER_OR_DIGIT(*s))
			return false;
		while (LOWER_OR_DIGIT(*s))
			s++;
		segments++;
	}
#undef LOWER_OR_DIGIT
	return *s == '\0' && segments > 0;
}

static int copy_field(const json_t *in, const struct field *f, const char *what, json_t *out,
		      struct err *e)
{
	const json_t *v = json_object_get(in, f->key), *item;
	json_t *c, *arr;
	size_t i;

	switch (f->kind) {
	case FIELD_ENUM:
		if (!in_list(json_string_value(v), f->allowed))
			return err_set(e, ERR_INVALID, "%s.%s is missing or not an allowed value",
				       what, f->key);
		json_object_set_new(out, f->key, json_string(json_string_value(v)));
		return 0;
	case FIELD_TEXT_OR_INT:
		if (json_is_integer(v)) {
			json_object_set_new(out, f->key, json_integer(json_integer_value(v)));
			return 0;
		}
		/* fall through */
	case FIELD_TEXT:
		if (json_is_string(v) && (c = clean_json(json_string_value(v), f->max, NULL)))
			json_object_set_new(out, f->key, c);
		return 0;
	case FIELD_TEXT_ARRAY:
		if (!json_is_array(v))
			return 0;
		arr = json_array();
		json_array_foreach (v, i, item) {
			if (json_array_size(arr) == f->max)
				break;
			if (json_is_string(item) &&
			    (c = clean_json(json_string_value(item), AUDIT_TEXT_MAX, NULL)))
				json_array_append_new(arr, c);
		}
		json_object_set_new(out, f->key, arr);
		return 0;
	}
	return 0;
}

/* A new object with the allowed fields of `in`; unknown fields are dropped, not refused, so a
 * caller's extra detail can never leak into the log. */
static int copy_fields(const json_t *in, const struct field *fields, const char *what, json_t **out,
		       struct err *e)
{
	*out = NULL;
	if (!json_is_object(in))
		return err_set(e, ERR_INVALID, "%s must be an object", what);
	*out = json_object();
	for (const struct field *f = fields; f->key != NULL; f++) {
		if (copy_field(in, f, what, *out, e) != 0) {
			json_decref(*out);
			*out = NULL;
			return -1;
		}
	}
	return 0;
}

static void append_unique(json_t *arr, json_t *s, size_t max)
{
	size_t i;
	json_t *have;

	if (s == NULL)
		return;
	json_array_foreach (arr, i, have) {
		if (json_equal(have, s)) {
			json_decref(s);
			return;
		}
	}
	if (json_array_size(arr) < max)
		json_array_append_new(arr, s);
	else
		json_decref(s);
}

/* Cleaned, de-duplicated strings of `in` (an array, or NULL) appended to out. */
static void merge_strings(json_t *out, const json_t *in, size_t each_max, size_t max)
{
	size_t i;
	json_t *item;

	json_array_foreach (in, i, item)
		if (json_is_string(item))
			append_unique(out, clean_json(json_string_value(item), each_max, NULL),
				      max);
}

static int build_changes(const json_t *in, const json_t *redacted, json_t **out, struct err *e)
{
	static const char *const hash_keys[] = {"beforeHash", "afterHash"};
	json_t *fields = json_array(), *red = json_array(), *h;

	*out = NULL;
	if (!json_is_object(in)) {
		json_decref(fields);
		json_decref(red);
		return err_set(e, ERR_INVALID, "changes must be an object");
	}
	merge_strings(fields, json_object_get(in, "changedFields"), AUDIT_META_KEY_MAX,
		      AUDIT_CHANGED_FIELDS_MAX);
	merge_strings(red, json_object_get(in, "redactedFields"), AUDIT_META_KEY_MAX,
		      AUDIT_REDACTED_FIELDS_MAX);
	merge_strings(red, redacted, META_PATH_MAX, AUDIT_REDACTED_FIELDS_MAX);
	*out = json_object();
	json_object_set_new(*out, "changedFields", fields);
	for (size_t i = 0; i < sizeof(hash_keys) / sizeof(hash_keys[0]); i++) {
		h = json_object_get(in, hash_keys[i]);
		if (json_is_string(h) &&
		    (h = clean_json(json_string_value(h), AUDIT_HASH_MAX, NULL)) != NULL)
			json_object_set_new(*out, hash_keys[i], h);
	}
	json_object_set_new(*out, "redactedFields", red);
	return 0;
}

/* The scalar fields of AUD-2 that are checked before anything is built. */
static int validate_event(const struct audit_event *ev, struct err *e)
{
	static const struct {
		const char *name;
		size_t offset;
		const char *const *allowed;
		const char *fallback;
	} enums[] = {
		{"category", offsetof(struct audit_event, category), categories, NULL},
		{"severity", offsetof(struct audit_event, severity), severities, "info"},
		{"outcome", offsetof(struct audit_event, outcome), outcomes, "success"},
		{"retention policy", offsetof(struct audit_event, retention_policy),
		 retention_policies, "default"},
	};

	if (ev->workspace_id == NULL || ev->workspace_id[0] == '\0' ||
	    strlen(ev->workspace_id) > STORE_MAX_ID_BYTES)
		return err_set(e, ERR_INVALID, "an audit event needs a workspace id");
	if (!event_name_valid(ev->event_name))
		return err_set(e, ERR_INVALID, "invalid audit event name");
	for (size_t i = 0; i < sizeof(enums) / sizeof(enums[0]); i++) {
		const char *v = *(const char *const *)((const char *)ev + enums[i].offset);

		if (!in_list(v ? v : enums[i].fallback, enums[i].allowed))
			return err_set(e, ERR_INVALID, "audit event %s is missing or unknown",
				       enums[i].name);
	}
	if (ev->metadata != NULL && !json_is_object(ev->metadata))
		return err_set(e, ERR_INVALID, "audit metadata must be an object");
	return 0;
}

/* Sets doc[key] to the cleaned text, which must not come out empty. */
static int set_required_text(json_t *doc, const char *key, const char *s, size_t max, struct err *e)
{
	json_t *v = clean_json(s, max, NULL);

	if (v == NULL)
		return err_set(e, ERR_INVALID, "audit event %s is empty", key);
	json_object_set_new(doc, key, v);
	return 0;
}

static int set_times(json_t *doc, const char *occurred_at, struct err *e)
{
	char now[TIME_ISO_LEN + 1], when[TIME_ISO_LEN + 1];
	int64_t ms;

	time_now_iso8601(now);
	if (occurred_at == NULL) {
		memcpy(when, now, sizeof(when));
	} else {
		/* Re-printed, so every stored date has the fixed width that sorts as time. */
		if (time_parse_iso8601(occurred_at, &ms) != 0)
			return err_set(e, ERR_INVALID, "audit occurredAt is not an ISO-8601 date");
		time_iso8601(ms, when);
	}
	json_object_set_new(doc, "occurredAt", json_string(when));
	json_object_set_new(doc, "observedAt", json_string(now));
	json_object_set_new(doc, "createdAt", json_string(now));
	return 0;
}

/* Actor, source, target, metadata, changes and relatedIds. */
static int set_parts(json_t *doc, const struct audit_event *ev, struct err *e)
{
	json_t *part = NULL, *redacted = json_array();
	int rc = -1;

	if (copy_fields(ev->actor, actor_fields, "actor", &part, e) != 0)
		goto out;
	json_object_set_new(doc, "actor", part);
	if (copy_fields(ev->source, source_fields, "source", &part, e) != 0)
		goto out;
	json_object_set_new(doc, "source", part);
	/* Without a target the event is about its workspace, which keeps target.type present
	 * for the list filters without making every caller spell it out. */
	if (ev->target == NULL)
		part = json_pack("{s:s,s:s}", "type", "workspace", "id", ev->workspace_id);
	else if (copy_fields(ev->target, target_fields, "target", &part, e) != 0)
		goto out;
	json_object_set_new(doc, "target", part);
	json_object_set_new(doc, "metadata", audit_sanitize(ev->metadata, redacted, NULL));
	if (ev->changes != NULL) {
		if (build_changes(ev->changes, redacted, &part, e) != 0)
			goto out;
		json_object_set_new(doc, "changes", part);
	}
	if (ev->related_ids != NULL) {
		if (copy_fields(ev->related_ids, related_fields, "relatedIds", &part, e) != 0)
			goto out;
		json_object_set_new(doc, "relatedIds", part);
	}
	rc = 0;
out:
	json_decref(redacted);
	return rc;
}

/* The event document without its chain fields; *doc is new. */
static int build_event(const struct audit_event *ev, json_t **doc, struct err *e)
{
	char id[ID_HEX_LEN + 1];
	json_t *d = NULL, *v;

	*doc = NULL;
	if (validate_event(ev, e) != 0)
		return -1;
	id_new(id);
	d = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s}", "_id", id, "workspaceId", ev->workspace_id,
		      "schemaVersion", 1, "eventName", ev->event_name, "category", ev->category,
		      "severity", ev->severity ? ev->severity : "info", "outcome",
		      ev->outcome ? ev->outcome : "success");
	if (d == NULL)
		return err_set(e, ERR_INVALID, "audit workspace id is not UTF-8");
	if (set_times(d, ev->occurred_at, e) != 0 || set_parts(d, ev, e) != 0 ||
	    set_required_text(d, "action", ev->action, AUDIT_ACTION_MAX, e) != 0 ||
	    set_required_text(d, "summary", ev->summary, AUDIT_SUMMARY_MAX, e) != 0) {
		json_decref(d);
		return -1;
	}
	if (ev->correlation_id != NULL &&
	    (v = clean_json(ev->correlation_id, AUDIT_TEXT_MAX, NULL)) != NULL)
		json_object_set_new(d, "correlationId", v);
	json_object_set_new(d, "retention",
			    json_pack("{s:s,s:n,s:b}", "policy",
				      ev->retention_policy ? ev->retention_policy : "default",
				      "expiresAt", "legalHold", 0));
	*doc = d;
	return 0;
}

/* Makes doc follow `last` (NULL: first of its workspace): seq, prevHash, then hash. */
static int chain_link(json_t *doc, const json_t *last, struct err *e)
{
	const json_t *seq = json_object_get(last, "seq");
	const char *prev = jsonx_str(last, "hash");
	char hash[AUDIT_SHA256_LEN];

	if (last != NULL && (!json_is_integer(seq) || prev == NULL))
		return err_set(e, ERR_INTERNAL, "the last audit event has no seq or hash");
	json_object_del(doc, "hash");
	json_object_set_new(doc, "seq", json_integer(last ? json_integer_value(seq) + 1 : 1));
	json_object_set_new(doc, "prevHash", json_string(last ? prev : ""));
	audit_sha256(doc, hash);
	json_object_set_new(doc, "hash", json_string(hash));
	return 0;
}

/* A few random milliseconds, growing with each lost race, so writers that collided do not
 * collide again in lockstep. */
static void chain_backoff(int attempt)
{
	uint32_t r;
	long ceiling_us = 1000L << (attempt < 6 ? attempt : 6);
	struct timespec ts;

	crypto_random(&r, sizeof(r));
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(r % (uint32_t)ceiling_us) * 1000L;
	/* An interrupted sleep only shortens the pause. */
	(void)nanosleep(&ts, NULL);
}

/* The lock of a workspace's stripe. Threads of one process append one after another: left to
 * race they would only collide on the unique index and retry, and a thread that kept losing
 * could run out of attempts. Between processes the index and the retry remain the arbiter. */
static pthread_mutex_t *chain_lock(const char *workspace_id)
{
	static pthread_mutex_t locks[CHAIN_STRIPES] = {
		[0 ... CHAIN_STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER,
	};
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)workspace_id; *p; p++)
		h = (h ^ *p) * 16777619u;
	return &locks[h % CHAIN_STRIPES];
}

static int chain_append(struct store *s, json_t *doc, struct err *e)
{
	static const struct store_sort newest = {"seq", -1};
	json_t *filter = json_pack("{s:O}", "workspaceId", json_object_get(doc, "workspaceId"));
	pthread_mutex_t *lock = chain_lock(jsonx_str(doc, "workspaceId"));
	json_t *last = NULL;
	struct err ie = {0};
	int64_t deadline;
	int rc = -1, attempt = 0;

	if (pthread_mutex_lock(lock) != 0)
		abort();
	deadline = time_mono_ms() + AUDIT_CHAIN_DEADLINE_MS;
	/* Bounded by time, not by a count: a slow process that keeps losing to faster ones still
	 * gets its turn. A lost race (ERR_DUPLICATE) and a locked store (ERR_TIMEOUT) are tried
	 * again; anything else, or a chain still busy at the deadline, fails the append. */
	for (;; attempt++) {
		ie = (struct err){0};
		if (store_find_one(s, AUDIT_COLL, filter, &newest, 1, &last, &ie) == 0) {
			rc = chain_link(doc, last, e);
			json_decref(last);
			last = NULL;
			if (rc != 0)
				goto out;
			if (store_insert(s, AUDIT_COLL, doc, &ie) == 0)
				goto out;
			rc = -1;
		}
		if (ie.code != ERR_DUPLICATE && ie.code != ERR_TIMEOUT) {
			err_set(e, ie.code, "%s", ie.msg);
			goto out;
		}
		if (time_mono_ms() >= deadline)
			break;
		chain_backoff(attempt);
	}
	err_set(e, ERR_CONFLICT, "audit chain still busy after %d attempts in %d ms (%s)",
		attempt + 1, AUDIT_CHAIN_DEADLINE_MS, ie.msg);
out:
	if (pthread_mutex_unlock(lock) != 0)
		abort();
	json_decref(filter);
	return rc;
}

int audit_record(struct store *s, const struct audit_event *ev, char id_out[ID_HEX_LEN + 1],
		 struct err *e)
{
	json_t *doc = NULL;
	int rc;

	if (build_event(ev, &doc, e) != 0)
		return -1;
	rc = chain_append(s, doc, e);
	if (rc == 0 && id_out != NULL)
		snprintf(id_out, ID_HEX_LEN + 1, "%s", jsonx_str(doc, "_id"));
	json_decref(doc);
	return rc;
}

struct chain_walk {
	long long expect;                 /* the seq the next event must have */
	char prev_hash[AUDIT_SHA256_LEN]; /* the hash it must point back to */
};

static bool verify_fail(struct audit_verify_result *res, const json_t *doc, long long seq,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static bool verify_fail(struct audit_verify_result *res, const json_t *doc, long long seq,
			const char *fmt, ...)
{
	const char *id = jsonx_str(doc, "_id");
	va_list ap;

	res->ok = false;
	snprintf(res->bad_id, sizeof(res->bad_id), "%s", id ? id : "");
	res->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	return false;
}

/* Checks one event against the chain so far, in the order that names the cause best: a gap
 * before a link, a link before the event's own hash. */
static bool verify_event(struct chain_walk *w, const json_t *doc, struct audit_verify_result *res)
{
	const json_t *seqv = json_object_get(doc, "seq");
	const char *prev = jsonx_str(doc, "prevHash"), *hash = jsonx_str(doc, "hash");
	long long seq = json_is_integer(seqv) ? json_integer_value(seqv) : -1;
	char want[AUDIT_SHA256_LEN];
	json_t *copy;

	if (seq > w->expect)
		return verify_fail(res, doc, seq, "missing seq %lld", w->expect);
	if (seq != w->expect)
		return verify_fail(res, doc, seq, "unexpected seq (expected %lld)", w->expect);
	if (prev == NULL || strcmp(prev, w->prev_hash) != 0)
		return verify_fail(res, doc, seq, "broken link");
	copy = json_copy((json_t *)doc);
	json_object_del(copy, "hash");
	audit_sha256(copy, want);
	json_decref(copy);
	if (hash == NULL || strcmp(hash, want) != 0)
		return verify_fail(res, doc, seq, "hash mismatch");
	snprintf(w->prev_hash, sizeof(w->prev_hash), "%s", hash);
	w->expect++;
	return true;
}

/* Walks the chain in seq order. What it cannot see: events cut off the end of the chain, and a
 * tail rewritten with fresh hashes by someone who can write the store; an external copy of the
 * last hash would catch both. */
int audit_verify(struct store *s, const char *workspace_id, struct audit_verify_result *res,
		 struct err *e)
{
	static const struct store_sort oldest = {"seq", 1};
	struct store_find_opts opts = {.sort = &oldest, .nsort = 1, .limit = AUDIT_VERIFY_PAGE};
	struct chain_walk w = {.expect = 1, .prev_hash = ""};
	json_t *filter = json_pack("{s:s}", "workspaceId", workspace_id ? workspace_id : "");
	json_t *docs = NULL, *doc;
	char *cursor = NULL, *next = NULL;
	int rc = -1;
	size_t i;

	memset(res, 0, sizeof(*res));
	res->ok = true;
	if (filter == NULL)
		return err_set(e, ERR_INVALID, "workspace id is not UTF-8");
	do {
		opts.cursor = cursor;
		if (store_find(s, AUDIT_COLL, filter, &opts, &docs, &next, e) != 0)
			goto out;
		json_array_foreach (docs, i, doc) {
			res->count++;
			if (!verify_event(&w, doc, res))
				break;
		}
		json_decref(docs);
		docs = NULL;
		free(cursor);
		cursor = next;
		next = NULL;
	} while (cursor != NULL && res->ok);
	rc = 0;
out:
	free(cursor);
	json_decref(filter);
	return rc;
}
