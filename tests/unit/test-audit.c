/* Unit tests of lib/audit.c: cleanText, metadata sanitisation, hashes, validation, the chain.
 *
 * The pure functions are driven by tables: cleanText by {input, max, output}, sanitisation by
 * {metadata, expected, redacted paths, truncated}, with every AUD-4 limit probed at the limit
 * and one over, and validation by mutations of one valid event. Chain tests use a real SQLite
 * store in a harness temp dir opened with the product schema (so the unique (workspaceId, seq)
 * index is the real one); tampering is done behind the writer's back with store_update_one and
 * store_delete_one, as someone with access to the database would. */
#include <config.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/audit.h"
#include "lib/crypto.h"
#include "lib/jsonx.h"
#include "tests/harness.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define THREADS 8
#define PER_THREAD 25
#define PROCESSES 4
#define WHY_MAX (ERR_MSG_MAX + 64) /* a process's error and where it happened */

static json_t *parse(const char *text)
{
	struct err e = {0};
	json_t *v = jsonx_loadb(text, strlen(text), JSON_MAX_BYTES, JSON_MAX_DEPTH, &e);

	cr_assert_not_null(v, "%s: %s", text, e.msg);
	return v;
}

/* n copies of c. malloc'd. */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	cr_assert_not_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

Test(audit, clean_text_table)
{
	static const struct {
		const char *in;
		size_t max;
		const char *out;
	} cases[] = {
		{"hello", 10, "hello"},
		{NULL, 10, ""},
		{"", 10, ""},
		{"   ", 10, ""},
		{"  padded  ", 10, "padded"},
		{"a\r\n\tb", 10, "a b"},
		{"a\n \nb", 10, "a   b"},
		{"a\n\x01\nb", 10, "a b"},
		{"\t\t x \n", 10, "x"},
		{"a\x01\x02\x08"
		 "b\x7f",
		 10, "ab"},
		{"a\x0b\x0c"
		 "b",
		 10, "ab"},
		{"a\x1b[31mred", 10, "a[31mred"},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc..."},
		{"abcdef", 0, "..."},
		{"h\xc3\xa9llo", 2, "h\xc3\xa9..."},
		{"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e!", 3,
		 "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e..."},
		{"\xf0\x9f\x98\x80"
		 "ab",
		 2,
		 "\xf0\x9f\x98\x80"
		 "a..."},
		{"\xff\xfeok", 10, "ok"},
		{"\xc0\xafx", 10, "x"},
		{"\xed\xa0\x80x", 10, "x"},
		{"\xe2\x82", 10, ""},
		{"a\tb\tc\td", 5, "a b c..."},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *got = audit_clean_text(cases[i].in, cases[i].max);

		cr_expect_str_eq(got, cases[i].out, "case %zu", i);
		free(got);
	}
}

/* One sanitisation case: input and expected output as JSON text. */
struct sanitize_case {
	const char *in;
	const char *want;
	const char *redacted; /* JSON array of dotted paths */
	bool truncated;
};

static void check_sanitize(const struct sanitize_case *c, size_t i)
{
	json_t *in = c->in ? parse(c->in) : NULL, *want = parse(c->want);
	json_t *red = json_array(), *want_red = parse(c->redacted ? c->redacted : "[]");
	bool truncated = !c->truncated;
	json_t *got = audit_sanitize(in, red, &truncated);
	char *gs = jsonx_dumps_stable(got), *rs = jsonx_dumps_stable(red);

	cr_expect(json_equal(got, want), "case %zu: got %s", i, gs);
	cr_expect(json_equal(red, want_red), "case %zu: redacted %s", i, rs);
	cr_expect_eq(truncated, c->truncated, "case %zu: truncated", i);
	free(gs);
	free(rs);
	json_decref(in);
	json_decref(want);
	json_decref(red);
	json_decref(want_red);
	json_decref(got);
}

Test(audit, sanitize_table)
{
	static const struct sanitize_case cases[] = {
		{NULL, "{}", NULL, false},
		{"{}", "{}", NULL, false},
		{"{\"a\":1,\"b\":\"x\",\"c\":true,\"d\":null,\"e\":-2.5,\"f\":[1,\"y\"]}",
		 "{\"a\":1,\"b\":\"x\",\"c\":true,\"d\":null,\"e\":-2.5,\"f\":[1,\"y\"]}", NULL,
		 false},
		{"{\"s\":\"  line\\none\\r\\n\\ttwo\\u0001 \"}", "{\"s\":\"line one two\"}", NULL,
		 false},
		{"{\"k\\nx\":1}", "{\"k x\":1}", NULL, false},
		{"{\"password\":\"hunter2\"}", "{\"password\":\"[redacted]\"}", "[\"password\"]",
		 false},
		{"{\"a\":{\"b\":{\"apiKey\":\"k\",\"ok\":1}}}",
		 "{\"a\":{\"b\":{\"apiKey\":\"[redacted]\",\"ok\":1}}}", "[\"a.b.apiKey\"]", false},
		{"{\"list\":[{\"token\":\"t\"},{\"ok\":1,\"Password\":\"p\"}]}",
		 "{\"list\":[{\"token\":\"[redacted]\"},{\"ok\":1,\"Password\":\"[redacted]\"}]}",
		 "[\"list.0.token\",\"list.1.Password\"]", false},
		{"{\"headers\":{\"Cookie\":\"a=b\",\"x\":[1,2]}}", "{\"headers\":\"[redacted]\"}",
		 "[\"headers\"]", false},
		{"{\"m\":[[{\"secret\":1}]]}", "{\"m\":[[{\"secret\":\"[redacted]\"}]]}",
		 "[\"m.0.0.secret\"]", false},
		/* Depth: 5 levels of nesting are kept, a 6th container is cut. */
		{"{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}",
		 "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}", NULL, false},
		{"{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":1}}}}}}",
		 "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":\"[truncated]\"}}}},\"_truncated\":true}",
		 NULL, true},
		{"{\"a\":[[[[[1]]]]]}", "{\"a\":[[[[\"[truncated]\"]]]],\"_truncated\":true}", NULL,
		 true},
		{"{\"a\":[[[[1]]]]}", "{\"a\":[[[[1]]]]}", NULL, false},
		/* A redacted key deep down is redacted even where its sibling would be cut. */
		{"{\"a\":{\"b\":{\"c\":{\"d\":{\"token\":{\"x\":1},\"z\":{\"y\":1}}}}}}",
		 "{\"a\":{\"b\":{\"c\":{\"d\":{\"token\":\"[redacted]\",\"z\":\"[truncated]\"}}}},"
		 "\"_truncated\":true}",
		 "[\"a.b.c.d.token\"]", true},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		check_sanitize(&cases[i], i);
}

/* Every alternative of the AUD-4 key pattern, in several spellings, and near misses. */
Test(audit, sanitize_redacts_each_key_pattern)
{
	static const struct {
		const char *key;
		bool redacted;
	} keys[] = {
		{"password", true},
		{"userPassword", true},
		{"accessToken", true},
		{"TOKEN", true},
		{"clientSecret", true},
		{"apiKey", true},
		{"api-key", true},
		{"API_KEY", true},
		{"authorization", true},
		{"Authorization", true},
		{"cookie", true},
		{"Set-Cookie", true},
		{"sessionId", true},
		{"connectionString", true},
		{"privateKey", true},
		{"private-key", true},
		{"private_key", true},
		{"sourceFiles", true},
		{"publishedSourceFiles", true},
		{"systemPrompt", true},
		{"messages", true},
		{"headers", true},
		{"requestBody", true},
		{"providerResponse", true},
		{"messageCount", false},
		{"route", false},
		{"role", false},
		{"teamIds", false},
		{"keySlug", false},
		{"apikeys", true},
		{"api key", false},
		{"privatekeys", true},
		{"fileCount", false},
		{"sess", false},
		{"tok", false},
		{"httpStatus", false},
	};

	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		json_t *in = json_pack("{s:s}", keys[i].key, "value"), *red = json_array();
		json_t *out = audit_sanitize(in, red, NULL);
		const char *v = jsonx_str(out, keys[i].key);

		cr_assert_not_null(v, "%s", keys[i].key);
		cr_expect_str_eq(v, keys[i].redacted ? "[redacted]" : "value", "%s", keys[i].key);
		cr_expect_eq(json_array_size(red), keys[i].redacted ? 1u : 0u, "%s", keys[i].key);
		if (keys[i].redacted)
			cr_expect_str_eq(json_string_value(json_array_get(red, 0)), keys[i].key);
		json_decref(in);
		json_decref(red);
		json_decref(out);
	}
}

Test(audit, sanitize_string_limit)
{
	for (size_t n = AUDIT_META_STRING_MAX; n <= AUDIT_META_STRING_MAX + 1; n++) {
		char *s = repeat('s', n);
		json_t *in = json_pack("{s:s}", "v", s);
		bool truncated = true;
		json_t *out = audit_sanitize(in, NULL, &truncated);
		const char *v = jsonx_str(out, "v");
		bool over = n > AUDIT_META_STRING_MAX;

		cr_assert_not_null(v);
		cr_expect_eq(strlen(v), AUDIT_META_STRING_MAX + (over ? 3u : 0u), "n=%zu", n);
		cr_expect_eq(strncmp(v, s, AUDIT_META_STRING_MAX), 0);
		if (over)
			cr_expect_str_eq(v + AUDIT_META_STRING_MAX, "...");
		cr_expect_eq(truncated, over, "n=%zu", n);
		cr_expect_eq(json_is_true(json_object_get(out, "_truncated")), over, "n=%zu", n);
		free(s);
		json_decref(in);
		json_decref(out);
	}
}

Test(audit, sanitize_array_limit)
{
	for (size_t n = AUDIT_META_ARRAY_MAX; n <= AUDIT_META_ARRAY_MAX + 1; n++) {
		json_t *arr = json_array(), *in, *out;
		bool truncated = true, over = n > AUDIT_META_ARRAY_MAX;

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_integer((json_int_t)i));
		in = json_pack("{s:o}", "v", arr);
		out = audit_sanitize(in, NULL, &truncated);
		cr_expect_eq(json_array_size(json_object_get(out, "v")), AUDIT_META_ARRAY_MAX);
		cr_expect_eq(json_integer_value(json_array_get(json_object_get(out, "v"),
							       AUDIT_META_ARRAY_MAX - 1)),
			     AUDIT_META_ARRAY_MAX - 1);
		cr_expect_eq(truncated, over, "n=%zu", n);
		cr_expect_eq(json_is_true(json_object_get(out, "_truncated")), over, "n=%zu", n);
		json_decref(in);
		json_decref(out);
	}
}

Test(audit, sanitize_object_key_count_limit)
{
	for (size_t n = AUDIT_META_KEYS_MAX; n <= AUDIT_META_KEYS_MAX + 1; n++) {
		json_t *in = json_object(), *out;
		bool truncated = true, over = n > AUDIT_META_KEYS_MAX;
		char key[16];

		for (size_t i = 0; i < n; i++) {
			snprintf(key, sizeof(key), "k%zu", i);
			json_object_set_new(in, key, json_integer((json_int_t)i));
		}
		out = audit_sanitize(in, NULL, &truncated);
		/* The first keys are kept, in order; only the ones past the limit go. */
		cr_expect_eq(json_object_size(out), AUDIT_META_KEYS_MAX + (over ? 1u : 0u));
		snprintf(key, sizeof(key), "k%d", AUDIT_META_KEYS_MAX - 1);
		cr_expect_not_null(json_object_get(out, key));
		snprintf(key, sizeof(key), "k%d", AUDIT_META_KEYS_MAX);
		cr_expect_null(json_object_get(out, key));
		cr_expect_eq(truncated, over, "n=%zu", n);
		json_decref(in);
		json_decref(out);
	}
}

Test(audit, sanitize_key_length_limit)
{
	for (size_t n = AUDIT_META_KEY_MAX; n <= AUDIT_META_KEY_MAX + 1; n++) {
		char *key = repeat('k', n), *want = malloc(AUDIT_META_KEY_MAX + 4);
		json_t *in = json_pack("{s:i}", key, 7), *out;
		bool truncated = true, over = n > AUDIT_META_KEY_MAX;

		snprintf(want, AUDIT_META_KEY_MAX + 4, "%.*s%s", AUDIT_META_KEY_MAX, key,
			 over ? "..." : "");
		out = audit_sanitize(in, NULL, &truncated);
		cr_expect_eq(json_integer_value(json_object_get(out, want)), 7, "n=%zu", n);
		cr_expect_eq(truncated, over, "n=%zu", n);
		free(key);
		free(want);
		json_decref(in);
		json_decref(out);
	}
}

Test(audit, sanitize_long_key_with_secret_at_its_end_is_redacted)
{
	char *pad = repeat('x', AUDIT_META_KEY_MAX + 10), key[AUDIT_META_KEY_MAX + 32];
	json_t *in, *out, *red = json_array();
	const char *k;
	json_t *v;

	snprintf(key, sizeof(key), "%sToken", pad);
	in = json_pack("{s:s}", key, "secret-value");
	out = audit_sanitize(in, red, NULL);
	json_object_foreach (out, k, v)
		if (strcmp(k, "_truncated") != 0)
			cr_expect_str_eq(json_string_value(v), "[redacted]");
	cr_expect_eq(json_array_size(red), 1);
	free(pad);
	json_decref(in);
	json_decref(out);
	json_decref(red);
}

/* n keys of `len`-character strings: compact JSON of about n * (len + 8) bytes. */
static json_t *bulky(size_t n, size_t len)
{
	json_t *o = json_object();
	char key[16], *s = repeat('v', len);

	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%02zu", i);
		json_object_set_new(o, key, json_string(s));
	}
	free(s);
	return o;
}

Test(audit, sanitize_replaces_metadata_over_8k)
{
	/* 509 bytes per key: 16 keys (8145 bytes) fit in 8 KiB, 17 (8654) do not. */
	json_t *small = bulky(16, 500), *big = bulky(17, 500), *out;
	bool truncated = true;
	size_t len;
	char *text, hash[72];

	out = audit_sanitize(small, NULL, &truncated);
	text = jsonx_dumps_compact(out, &len);
	cr_expect_leq(len, AUDIT_META_BYTES_MAX);
	cr_expect(json_equal(out, small));
	cr_expect_not(truncated);
	free(text);
	json_decref(out);

	out = audit_sanitize(big, NULL, &truncated);
	cr_expect(truncated);
	cr_expect_eq(json_object_size(out), 2);
	cr_expect(json_is_true(json_object_get(out, "_truncated")));
	audit_sha256(big, hash);
	cr_expect_str_eq(jsonx_str(out, "_metadataHash"), hash,
			 "the hash is of the sanitised metadata, here equal to the input");
	json_decref(out);
	json_decref(small);
	json_decref(big);
}

Test(audit, sha256_is_key_order_independent)
{
	static const char *const same[][2] = {
		{"{\"b\":1,\"a\":{\"y\":2,\"x\":[1,2]}}", "{\"a\":{\"x\":[1,2],\"y\":2},\"b\":1}"},
		{"{\"B\":1,\"a\":2,\"_id\":\"x\"}", "{\"_id\":\"x\",\"a\":2,\"B\":1}"},
		{"[{\"z\":null,\"a\":true}]", "[{\"a\":true,\"z\":null}]"},
	};
	static const char *const differ[][2] = {
		{"{\"x\":[1,2]}", "{\"x\":[2,1]}"},
		{"{\"x\":1}", "{\"x\":\"1\"}"},
		{"{\"x\":1}", "{\"x\":1,\"y\":null}"},
	};
	char ha[72], hb[72];

	for (size_t i = 0; i < ARRAY_LEN(same); i++) {
		json_t *a = parse(same[i][0]), *b = parse(same[i][1]);

		audit_sha256(a, ha);
		audit_sha256(b, hb);
		cr_expect_str_eq(ha, hb, "%s", same[i][0]);
		json_decref(a);
		json_decref(b);
	}
	for (size_t i = 0; i < ARRAY_LEN(differ); i++) {
		json_t *a = parse(differ[i][0]), *b = parse(differ[i][1]);

		audit_sha256(a, ha);
		audit_sha256(b, hb);
		cr_expect_str_neq(ha, hb, "%s", differ[i][0]);
		json_decref(a);
		json_decref(b);
	}
}

Test(audit, sha256_known_values)
{
	static const struct {
		const char *json;
		const char *stable; /* what is hashed */
	} cases[] = {
		{"{\"b\":1,\"a\":{\"y\":2,\"x\":[1,2]}}", "{\"a\":{\"x\":[1,2],\"y\":2},\"b\":1}"},
		{"\"203.0.113.7\"", "\"203.0.113.7\""},
		{"{}", "{}"},
	};
	char got[72], hex[CRYPTO_SHA256_BYTES * 2 + 1], want[80];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		json_t *v = parse(cases[i].json);

		audit_sha256(v, got);
		crypto_sha256_hex(cases[i].stable, strlen(cases[i].stable), hex);
		snprintf(want, sizeof(want), "sha256:%s", hex);
		cr_expect_str_eq(got, want, "%s", cases[i].json);
		cr_expect_eq(strlen(got), 71);
		json_decref(v);
	}
}

/* Store fixtures. */
static struct store *store;

static void open_store(void)
{
	char uri[HARNESS_PATH_MAX + 64];
	struct err e = {0};

	/* synchronous=normal: these tests are about the chain, not about fsync. */
	snprintf(uri, sizeof(uri), "sqlite:%s/audit.db?synchronous=normal", harness_tmpdir());
	cr_assert_eq(store_open(uri, &store_schema_second, &store, &e), 0, "%s", e.msg);
}

static void close_store(void)
{
	store_close(store);
	store = NULL;
}

TestSuite(chain, .init = open_store, .fini = close_store);
TestSuite(record, .init = open_store, .fini = close_store);

/* Parts of a valid event, kept alive for the whole test. */
struct fixture {
	json_t *actor, *source, *target;
	struct audit_event ev;
};

static void fixture_init(struct fixture *f, const char *ws)
{
	f->actor = json_pack("{s:s,s:s,s:s,s:s}", "kind", "user", "userId", "u1", "displayName",
			     "Ada", "role", "owner");
	f->source = json_pack("{s:s,s:s}", "kind", "web_server", "trust", "server_trusted");
	f->target = json_pack("{s:s,s:s}", "type", "app", "id", "app-1");
	f->ev = (struct audit_event){
		.workspace_id = ws,
		.event_name = "app.created",
		.category = "apps",
		.action = "app.created",
		.summary = "Created an app",
		.actor = f->actor,
		.source = f->source,
		.target = f->target,
	};
}

static void fixture_free(struct fixture *f)
{
	json_decref(f->actor);
	json_decref(f->source);
	json_decref(f->target);
}

static json_t *event_by_seq(const char *ws, long long seq)
{
	json_t *filter = json_pack("{s:s,s:I}", "workspaceId", ws, "seq", (json_int_t)seq), *doc;
	struct err e = {0};

	cr_assert_eq(store_find_one(store, "audit_events", filter, NULL, 0, &doc, &e), 0, "%s",
		     e.msg);
	json_decref(filter);
	cr_assert_not_null(doc, "no event with seq %lld", seq);
	return doc;
}

static void record_n(const char *ws, int n)
{
	struct fixture f;
	struct err e = {0};
	char summary[64];

	fixture_init(&f, ws);
	for (int i = 0; i < n; i++) {
		snprintf(summary, sizeof(summary), "event %d", i + 1);
		f.ev.summary = summary;
		cr_assert_eq(audit_record(store, &f.ev, NULL, &e), 0, "%s", e.msg);
	}
	fixture_free(&f);
}

static struct audit_verify_result verify(const char *ws)
{
	struct audit_verify_result res;
	struct err e = {0};

	cr_assert_eq(audit_verify(store, ws, &res, &e), 0, "%s", e.msg);
	return res;
}

Test(record, document_shape)
{
	struct fixture f;
	struct err e = {0};
	char id[ID_HEX_LEN + 1], hash[72];
	json_t *doc, *copy;

	fixture_init(&f, "acme");
	json_object_set_new(f.actor, "password", json_string("leak"));
	json_object_set_new(f.actor, "displayName", json_string("  Ada\n\tLovelace "));
	json_object_set_new(f.source, "cookie", json_string("sid=1"));
	cr_assert_eq(audit_record(store, &f.ev, id, &e), 0, "%s", e.msg);
	cr_assert_eq(store_get(store, "audit_events", id, &doc, &e), 0, "%s", e.msg);
	cr_assert_not_null(doc);
	cr_expect_str_eq(jsonx_str(doc, "workspaceId"), "acme");
	cr_expect_eq(json_integer_value(json_object_get(doc, "schemaVersion")), 1);
	cr_expect_str_eq(jsonx_str(doc, "severity"), "info");
	cr_expect_str_eq(jsonx_str(doc, "outcome"), "success");
	cr_expect_eq(strlen(jsonx_str(doc, "occurredAt")), 24);
	cr_expect_str_eq(jsonx_str(doc, "observedAt"), jsonx_str(doc, "createdAt"));
	cr_expect_str_eq(jsonx_str(json_object_get(doc, "actor"), "displayName"), "Ada Lovelace");
	cr_expect_null(json_object_get(json_object_get(doc, "actor"), "password"));
	cr_expect_null(json_object_get(json_object_get(doc, "source"), "cookie"));
	cr_expect(json_is_object(json_object_get(doc, "metadata")));
	cr_expect_eq(json_object_size(json_object_get(doc, "metadata")), 0);
	cr_expect_null(json_object_get(doc, "changes"));
	cr_expect_null(json_object_get(doc, "relatedIds"));
	cr_expect_str_eq(jsonx_str(json_object_get(doc, "retention"), "policy"), "default");
	cr_expect(json_is_null(json_object_get(json_object_get(doc, "retention"), "expiresAt")));
	cr_expect(json_is_false(json_object_get(json_object_get(doc, "retention"), "legalHold")));
	cr_expect_eq(json_integer_value(json_object_get(doc, "seq")), 1);
	cr_expect_str_eq(jsonx_str(doc, "prevHash"), "");
	copy = json_deep_copy(doc);
	json_object_del(copy, "hash");
	audit_sha256(copy, hash);
	cr_expect_str_eq(jsonx_str(doc, "hash"), hash);
	json_decref(copy);
	json_decref(doc);
	fixture_free(&f);
}

Test(record, changes_metadata_related_and_occurred_at)
{
	struct fixture f;
	struct err e = {0};
	char id[ID_HEX_LEN + 1], *long_field = repeat('f', AUDIT_META_KEY_MAX + 5);
	json_t *fields = json_array(), *changes, *meta, *related, *doc, *c, *want;

	fixture_init(&f, "acme");
	for (int i = 0; i < AUDIT_CHANGED_FIELDS_MAX + 10; i++) {
		char name[16];

		snprintf(name, sizeof(name), "field%d", i % (AUDIT_CHANGED_FIELDS_MAX + 5));
		json_array_append_new(fields, json_string(name));
	}
	json_array_insert_new(fields, 0, json_string(long_field));
	json_array_insert_new(fields, 0, json_string("name"));
	json_array_insert_new(fields, 0, json_string("name"));
	changes = json_pack("{s:o,s:s,s:s,s:s}", "changedFields", fields, "beforeHash",
			    "sha256:aaaa", "afterHash", long_field, "secretValue", "nope");
	meta = json_pack("{s:s,s:{s:s}}", "route", "/x", "nested", "apiKey", "k");
	related = json_pack("{s:s,s:s}", "runId", "r1", "extra", "dropped");
	f.ev.changes = changes;
	f.ev.metadata = meta;
	f.ev.related_ids = related;
	f.ev.occurred_at = "2026-01-02T03:04:05Z";
	f.ev.severity = "notice";
	f.ev.outcome = "completed";
	f.ev.retention_policy = "security";
	f.ev.correlation_id = "corr-1";
	cr_assert_eq(audit_record(store, &f.ev, id, &e), 0, "%s", e.msg);
	cr_assert_eq(store_get(store, "audit_events", id, &doc, &e), 0, "%s", e.msg);
	c = json_object_get(doc, "changes");
	cr_expect_eq(json_array_size(json_object_get(c, "changedFields")),
		     AUDIT_CHANGED_FIELDS_MAX);
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(c, "changedFields"), 0)),
			 "name");
	cr_expect_eq(
		strlen(json_string_value(json_array_get(json_object_get(c, "changedFields"), 1))),
		AUDIT_META_KEY_MAX + 3);
	cr_expect_str_eq(jsonx_str(c, "beforeHash"), "sha256:aaaa");
	cr_expect_eq(strlen(jsonx_str(c, "afterHash")), AUDIT_HASH_MAX + 3);
	cr_expect_null(json_object_get(c, "secretValue"));
	want = parse("[\"nested.apiKey\"]");
	cr_expect(json_equal(json_object_get(c, "redactedFields"), want));
	json_decref(want);
	cr_expect_str_eq(
		jsonx_str(json_object_get(json_object_get(doc, "metadata"), "nested"), "apiKey"),
		"[redacted]");
	want = parse("{\"runId\":\"r1\"}");
	cr_expect(json_equal(json_object_get(doc, "relatedIds"), want));
	json_decref(want);
	cr_expect_str_eq(jsonx_str(doc, "occurredAt"), "2026-01-02T03:04:05.000Z");
	cr_expect_str_eq(jsonx_str(doc, "severity"), "notice");
	cr_expect_str_eq(jsonx_str(doc, "outcome"), "completed");
	cr_expect_str_eq(jsonx_str(json_object_get(doc, "retention"), "policy"), "security");
	cr_expect_str_eq(jsonx_str(doc, "correlationId"), "corr-1");
	json_decref(doc);
	json_decref(changes);
	json_decref(meta);
	json_decref(related);
	free(long_field);
	fixture_free(&f);
}

Test(record, missing_target_is_the_workspace)
{
	struct fixture f;
	struct err e = {0};
	char id[ID_HEX_LEN + 1];
	json_t *doc, *want = parse("{\"type\":\"workspace\",\"id\":\"acme\"}");

	fixture_init(&f, "acme");
	f.ev.target = NULL;
	cr_assert_eq(audit_record(store, &f.ev, id, &e), 0, "%s", e.msg);
	cr_assert_eq(store_get(store, "audit_events", id, &doc, &e), 0, "%s", e.msg);
	cr_expect(json_equal(json_object_get(doc, "target"), want));
	json_decref(doc);
	json_decref(want);
	fixture_free(&f);
}

Test(record, redacted_paths_stay_out_of_an_event_without_changes)
{
	struct fixture f;
	struct err e = {0};
	char id[ID_HEX_LEN + 1];
	json_t *meta = json_pack("{s:s}", "token", "t"), *doc;

	fixture_init(&f, "acme");
	f.ev.metadata = meta;
	cr_assert_eq(audit_record(store, &f.ev, id, &e), 0, "%s", e.msg);
	cr_assert_eq(store_get(store, "audit_events", id, &doc, &e), 0, "%s", e.msg);
	cr_expect_null(json_object_get(doc, "changes"));
	cr_expect_str_eq(jsonx_str(json_object_get(doc, "metadata"), "token"), "[redacted]");
	json_decref(doc);
	json_decref(meta);
	fixture_free(&f);
}

enum mutation {
	M_WS_EMPTY,
	M_WS_NULL,
	M_NAME,
	M_CATEGORY,
	M_CATEGORY_NULL,
	M_SEVERITY,
	M_OUTCOME,
	M_RETENTION,
	M_ACTION_EMPTY,
	M_ACTION_BLANK,
	M_SUMMARY_EMPTY,
	M_SUMMARY_NULL,
	M_ACTOR_NULL,
	M_ACTOR_KIND,
	M_SOURCE_KIND,
	M_SOURCE_TRUST,
	M_TARGET_TYPE,
	M_TARGET_ARRAY,
	M_OCCURRED_AT,
	M_METADATA_ARRAY,
	M_CHANGES_ARRAY,
};

Test(record, validation_rejections)
{
	static const struct {
		enum mutation m;
		const char *value;
	} cases[] = {
		{M_WS_EMPTY, ""},
		{M_WS_NULL, NULL},
		{M_NAME, "App.created"},
		{M_NAME, "app"},
		{M_NAME, "app."},
		{M_NAME, ".app"},
		{M_NAME, "app..x"},
		{M_NAME, "app-created"},
		{M_NAME, "1app.x"},
		{M_NAME, "app.Created"},
		{M_NAME, "app._x"},
		{M_NAME, ""},
		{M_NAME, NULL},
		{M_NAME, "app.x "},
		{M_CATEGORY, "nope"},
		{M_CATEGORY_NULL, NULL},
		{M_SEVERITY, "loud"},
		{M_OUTCOME, "meh"},
		{M_RETENTION, "forever"},
		{M_ACTION_EMPTY, ""},
		{M_ACTION_BLANK, " \n\t"},
		{M_SUMMARY_EMPTY, ""},
		{M_SUMMARY_NULL, NULL},
		{M_ACTOR_NULL, NULL},
		{M_ACTOR_KIND, "robot"},
		{M_SOURCE_KIND, "browser"},
		{M_SOURCE_TRUST, "trusted"},
		{M_TARGET_TYPE, "planet"},
		{M_TARGET_ARRAY, NULL},
		{M_OCCURRED_AT, "yesterday"},
		{M_METADATA_ARRAY, NULL},
		{M_CHANGES_ARRAY, NULL},
	};
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct fixture f;
		struct err e = {0};
		json_t *arr = json_array();

		fixture_init(&f, "acme");
		switch (cases[i].m) {
		case M_WS_EMPTY:
		case M_WS_NULL:
			f.ev.workspace_id = cases[i].value;
			break;
		case M_NAME:
			f.ev.event_name = cases[i].value;
			break;
		case M_CATEGORY:
		case M_CATEGORY_NULL:
			f.ev.category = cases[i].value;
			break;
		case M_SEVERITY:
			f.ev.severity = cases[i].value;
			break;
		case M_OUTCOME:
			f.ev.outcome = cases[i].value;
			break;
		case M_RETENTION:
			f.ev.retention_policy = cases[i].value;
			break;
		case M_ACTION_EMPTY:
		case M_ACTION_BLANK:
			f.ev.action = cases[i].value;
			break;
		case M_SUMMARY_EMPTY:
		case M_SUMMARY_NULL:
			f.ev.summary = cases[i].value;
			break;
		case M_ACTOR_NULL:
			f.ev.actor = NULL;
			break;
		case M_ACTOR_KIND:
			json_object_set_new(f.actor, "kind", json_string(cases[i].value));
			break;
		case M_SOURCE_KIND:
			json_object_set_new(f.source, "kind", json_string(cases[i].value));
			break;
		case M_SOURCE_TRUST:
			json_object_set_new(f.source, "trust", json_string(cases[i].value));
			break;
		case M_TARGET_TYPE:
			json_object_set_new(f.target, "type", json_string(cases[i].value));
			break;
		case M_TARGET_ARRAY:
			f.ev.target = arr;
			break;
		case M_OCCURRED_AT:
			f.ev.occurred_at = cases[i].value;
			break;
		case M_METADATA_ARRAY:
			f.ev.metadata = arr;
			break;
		case M_CHANGES_ARRAY:
			f.ev.changes = arr;
			break;
		}
		cr_expect_eq(audit_record(store, &f.ev, NULL, &e), -1, "case %zu accepted", i);
		cr_expect_eq(e.code, ERR_INVALID, "case %zu: %s", i, e.msg);
		json_decref(arr);
		fixture_free(&f);
	}
	cr_assert_eq(store_count(store, "audit_events", NULL, &n, NULL), 0);
	cr_expect_eq(n, 0, "a refused event wrote nothing");
}

Test(record, valid_event_names)
{
	static const char *const names[] = {
		"app.created", "builder_run.created",   "a.b", "app.source_control_app.installed",
		"x1.y2_z3",    "oauth.token_refreshed",
	};

	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		struct fixture f;
		struct err e = {0};

		fixture_init(&f, "names");
		f.ev.event_name = names[i];
		cr_expect_eq(audit_record(store, &f.ev, NULL, &e), 0, "%s: %s", names[i], e.msg);
		fixture_free(&f);
	}
	cr_expect(verify("names").ok);
}

Test(chain, sequence_links_and_verifies)
{
	struct audit_verify_result res;
	json_t *prev = NULL, *doc;

	record_n("alpha", 7);
	record_n("beta", 3);
	for (long long seq = 1; seq <= 7; seq++) {
		doc = event_by_seq("alpha", seq);
		cr_expect_str_eq(jsonx_str(doc, "prevHash"), prev ? jsonx_str(prev, "hash") : "");
		json_decref(prev);
		prev = doc;
	}
	json_decref(prev);
	res = verify("alpha");
	cr_expect(res.ok, "%s", res.reason);
	cr_expect_eq(res.count, 7);
	cr_expect_str_eq(res.bad_id, "");
	res = verify("beta");
	cr_expect(res.ok);
	cr_expect_eq(res.count, 3);
	res = verify("nobody");
	cr_expect(res.ok);
	cr_expect_eq(res.count, 0);
}

Test(chain, verifies_across_pages)
{
	struct audit_verify_result res;

	record_n("long", AUDIT_VERIFY_PAGE + 7);
	res = verify("long");
	cr_expect(res.ok, "%s", res.reason);
	cr_expect_eq(res.count, AUDIT_VERIFY_PAGE + 7);
}

static void *writer(void *arg)
{
	struct fixture f;
	struct err e = {0};
	long failures = 0;

	fixture_init(&f, "busy");
	json_object_set_new(f.actor, "userId", json_string((const char *)arg));
	for (int i = 0; i < PER_THREAD; i++)
		if (audit_record(store, &f.ev, NULL, &e) != 0) {
			fprintf(stderr, "writer %s: %s\n", (const char *)arg, e.msg);
			failures++;
		}
	fixture_free(&f);
	return (void *)(intptr_t)failures;
}

Test(chain, concurrent_writers_never_fork_the_chain, .timeout = 120)
{
	pthread_t t[THREADS];
	char names[THREADS][8];
	struct audit_verify_result res;
	void *failures;
	size_t n = 0;

	for (int i = 0; i < THREADS; i++) {
		snprintf(names[i], sizeof(names[i]), "w%d", i);
		cr_assert_eq(pthread_create(&t[i], NULL, writer, names[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		cr_assert_eq(pthread_join(t[i], &failures), 0);
		cr_expect_null(failures, "writer %d lost events", i);
	}
	cr_assert_eq(store_count(store, "audit_events", NULL, &n, NULL), 0);
	cr_expect_eq(n, THREADS * PER_THREAD);
	for (long long seq = 1; seq <= THREADS * PER_THREAD; seq++)
		json_decref(event_by_seq("busy", seq));
	res = verify("busy");
	cr_expect(res.ok, "%s at seq %lld", res.reason, res.bad_seq);
	cr_expect_eq(res.count, THREADS * PER_THREAD);
}

/* Several processes, each with its own store handle, race for the same chain: only the unique
 * index and the retry keep it straight across processes. */
Test(chain, concurrent_processes_never_fork_the_chain, .timeout = 120)
{
	char uri[HARNESS_PATH_MAX + 64];
	struct audit_verify_result res;
	pid_t pids[PROCESSES];
	int status;
	/* Each process's error, where the parent can read it and name it in the failure. */
	char(*why)[WHY_MAX] = mmap(NULL, PROCESSES * WHY_MAX, PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(why, MAP_FAILED);
	snprintf(uri, sizeof(uri), "sqlite:%s/shared.db?synchronous=normal", harness_tmpdir());
	for (int i = 0; i < PROCESSES; i++) {
		pids[i] = fork();
		cr_assert_neq(pids[i], -1);
		if (pids[i] == 0) {
			struct store *own = NULL;
			struct fixture f;
			struct err e = {0};
			int bad = 0;

			if (store_open(uri, &store_schema_second, &own, &e) != 0) {
				snprintf(why[i], WHY_MAX, "opening the store: %s", e.msg);
				_exit(2);
			}
			fixture_init(&f, "shared");
			for (int n = 0; n < PER_THREAD; n++)
				if (audit_record(own, &f.ev, NULL, &e) != 0 && !bad++)
					snprintf(why[i], WHY_MAX, "event %d: %s", n, e.msg);
			fixture_free(&f);
			store_close(own);
			_exit(bad ? 1 : 0);
		}
	}
	for (int i = 0; i < PROCESSES; i++) {
		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "process %d failed (status %#x): %s", i, status, why[i]);
	}
	munmap(why, PROCESSES * WHY_MAX);
	close_store();
	{
		struct err e = {0};

		cr_assert_eq(store_open(uri, &store_schema_second, &store, &e), 0, "%s", e.msg);
	}
	res = verify("shared");
	cr_expect(res.ok, "%s at seq %lld", res.reason, res.bad_seq);
	cr_expect_eq(res.count, PROCESSES * PER_THREAD);
}

/* Applies `update` to the event with `seq` behind the writer's back; returns its id. */
static char *tamper(const char *ws, long long seq, const char *update)
{
	json_t *doc = event_by_seq(ws, seq), *filter, *upd = parse(update);
	char *id = strdup(jsonx_str(doc, "_id"));
	struct err e = {0};
	size_t matched = 0;

	filter = json_pack("{s:s}", "_id", id);
	cr_assert_eq(store_update_one(store, "audit_events", filter, upd, &matched, &e), 0, "%s",
		     e.msg);
	cr_assert_eq(matched, 1);
	json_decref(filter);
	json_decref(upd);
	json_decref(doc);
	return id;
}

Test(chain, edited_summary_is_a_hash_mismatch)
{
	struct audit_verify_result res;
	char *id;

	record_n("edit", 6);
	id = tamper("edit", 4, "{\"$set\":{\"summary\":\"nothing happened\"}}");
	res = verify("edit");
	cr_expect_not(res.ok);
	cr_expect_str_eq(res.bad_id, id);
	cr_expect_eq(res.bad_seq, 4);
	cr_expect_str_eq(res.reason, "hash mismatch");
	cr_expect_eq(res.count, 4);
	free(id);
}

Test(chain, edited_metadata_is_a_hash_mismatch)
{
	struct audit_verify_result res;
	char *id;

	record_n("meta", 3);
	id = tamper("meta", 1, "{\"$set\":{\"metadata.added\":1}}");
	res = verify("meta");
	cr_expect_not(res.ok);
	cr_expect_str_eq(res.bad_id, id);
	cr_expect_str_eq(res.reason, "hash mismatch");
	free(id);
}

Test(chain, edited_prev_hash_is_a_broken_link)
{
	struct audit_verify_result res;
	char *id;

	record_n("link", 5);
	id = tamper("link", 3, "{\"$set\":{\"prevHash\":\"sha256:0000\"}}");
	res = verify("link");
	cr_expect_not(res.ok);
	cr_expect_str_eq(res.bad_id, id);
	cr_expect_eq(res.bad_seq, 3);
	cr_expect_str_eq(res.reason, "broken link");
	free(id);
}

Test(chain, rehashed_edit_breaks_the_next_link)
{
	struct audit_verify_result res;
	json_t *doc, *filter, *upd;
	char hash[72], *next_id;
	struct err e = {0};

	/* A forger who recomputes the edited event's hash still breaks the event after it. */
	record_n("forge", 4);
	doc = event_by_seq("forge", 2);
	json_object_set_new(doc, "summary", json_string("forged"));
	json_object_del(doc, "hash");
	audit_sha256(doc, hash);
	filter = json_pack("{s:s}", "_id", jsonx_str(doc, "_id"));
	upd = json_pack("{s:{s:s,s:s}}", "$set", "summary", "forged", "hash", hash);
	cr_assert_eq(store_update_one(store, "audit_events", filter, upd, NULL, &e), 0, "%s",
		     e.msg);
	json_decref(doc);
	json_decref(filter);
	json_decref(upd);
	doc = event_by_seq("forge", 3);
	next_id = strdup(jsonx_str(doc, "_id"));
	json_decref(doc);
	res = verify("forge");
	cr_expect_not(res.ok);
	cr_expect_str_eq(res.bad_id, next_id);
	cr_expect_str_eq(res.reason, "broken link");
	free(next_id);
}

Test(chain, deleted_event_is_a_gap)
{
	struct audit_verify_result res;
	json_t *doc, *filter;
	char *after_id;
	struct err e = {0};
	size_t deleted = 0;

	record_n("gap", 6);
	doc = event_by_seq("gap", 3);
	filter = json_pack("{s:s}", "_id", jsonx_str(doc, "_id"));
	cr_assert_eq(store_delete_one(store, "audit_events", filter, &deleted, &e), 0, "%s", e.msg);
	cr_assert_eq(deleted, 1);
	json_decref(filter);
	json_decref(doc);
	doc = event_by_seq("gap", 4);
	after_id = strdup(jsonx_str(doc, "_id"));
	json_decref(doc);
	res = verify("gap");
	cr_expect_not(res.ok);
	cr_expect_str_eq(res.bad_id, after_id);
	cr_expect_eq(res.bad_seq, 4);
	cr_expect_str_eq(res.reason, "missing seq 3");
	free(after_id);
}

Test(chain, first_event_deleted_is_a_gap)
{
	struct audit_verify_result res;
	json_t *doc = NULL, *filter;
	size_t deleted = 0;

	record_n("head", 2);
	doc = event_by_seq("head", 1);
	filter = json_pack("{s:s}", "_id", jsonx_str(doc, "_id"));
	cr_assert_eq(store_delete_one(store, "audit_events", filter, &deleted, NULL), 0);
	cr_assert_eq(deleted, 1);
	json_decref(filter);
	json_decref(doc);
	res = verify("head");
	cr_expect_not(res.ok);
	cr_expect_eq(res.bad_seq, 2);
	cr_expect_str_eq(res.reason, "missing seq 1");
}
