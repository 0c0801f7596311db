/* The MongoDB store backend: the store's operations over mongo-c-driver, one client pool.
 *
 * A store holds a client pool (thread-safe) and the database name taken from the URI's path;
 * each operation pops a client, runs, and pushes it back. Documents, filters and updates arrive
 * validated as JSON and are converted to BSON by the walker below (never through extended-JSON
 * text), since MongoDB takes our filter subset and update operators as they are. Two places
 * reshape what we send, to keep the SQLite backend's semantics: an upsert adds
 * {$setOnInsert: {_id: <hex id>}} so new ids are strings and not ObjectIds, and update-one and
 * delete-one go through findAndModify with the query's sort, so "the first match" is the same
 * document on both backends. Index "sparse" is a partial index on the first key existing, the
 * store's definition (MongoDB's own sparse on a compound index keeps documents that have any
 * key). Server messages are cut where they start quoting documents, so no content reaches an
 * error.
 *
 * Where this backend differs from SQLite (see store-sqlite.c for the other side):
 *   - Updates are applied by the server, so STORE_MAX_DOC_BYTES and STORE_MAX_DEPTH are checked
 *     on a copy read just before (precheck_update): a concurrent writer can slip in between,
 *     bounded only by MongoDB's 16 MiB of BSON (ERR_TOO_LARGE). BSON can also outgrow JSON
 *     (int64 array elements), so an insert within STORE_MAX_DOC_BYTES can still be over 16 MiB.
 *   - Every path matches arrays element by element and walks through arrays of objects.
 *   - Unique indexes see missing and null keys as null, so a second such document collides;
 *     a sparse index skips documents without the first key, but not those where it is null.
 *   - update_many is atomic per document only: a failure midway leaves earlier ones changed.
 *   - Sort order across types is MongoDB's: null, numbers, strings, objects, arrays, booleans.
 *   - $inc of reals can overflow to infinity, which is stored and then refused on reading. */
#include <config.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bson/bson.h>
#include <jansson.h>
#include <mongoc/mongoc.h>

#include "lib/err.h"
#include "lib/ids.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/store-internal.h"
#include "lib/store-mongo-bson.h"
#include "lib/store.h"
#include "lib/timeutil.h"

/* Nesting the converter walks. Stored documents stay within STORE_MAX_DEPTH, filters and
 * updates wrap them in a few levels, and updates can deepen a document past it ($set of a
 * deep value at a deep path), which we still read back; this bounds the recursion. */
#define MONGO_BSON_MAX_DEPTH (2 * STORE_MAX_DEPTH)
/* Last millisecond of year 9999: later dates have no fixed-width ISO-8601 form. */
#define MONGO_DATE_MAX_MS INT64_C(253402300799999)

/* Server error codes we map; every other one is ERR_IO. */
enum {
	MONGO_CODE_BAD_VALUE = 2,
	MONGO_CODE_HOST_UNREACHABLE = 6,
	MONGO_CODE_HOST_NOT_FOUND = 7,
	MONGO_CODE_FAILED_TO_PARSE = 9,
	MONGO_CODE_TYPE_MISMATCH = 14,
	MONGO_CODE_OVERFLOW = 15,
	MONGO_CODE_PATH_NOT_VIABLE = 28,
	MONGO_CODE_CONFLICTING_UPDATE = 40,
	MONGO_CODE_NAMESPACE_EXISTS = 48,
	MONGO_CODE_MAX_TIME_EXPIRED = 50,
	MONGO_CODE_DOLLAR_PREFIXED = 52,
	MONGO_CODE_EMPTY_FIELD_NAME = 56,
	MONGO_CODE_DOTTED_FIELD_NAME = 57,
	MONGO_CODE_WRITE_CONCERN_FAILED = 64,
	MONGO_CODE_IMMUTABLE_FIELD = 66,
	MONGO_CODE_NETWORK_TIMEOUT = 89,
	MONGO_CODE_SHUTDOWN = 91,
	MONGO_CODE_PRIMARY_STEPPED_DOWN = 189,
	MONGO_CODE_NETWORK_EXCEEDED_TIME = 202,
	MONGO_CODE_EXCEEDED_TIME_LIMIT = 262,
	MONGO_CODE_OBJECT_TOO_LARGE = 10334,
	MONGO_CODE_NOT_PRIMARY = 10107,
	MONGO_CODE_DUPLICATE_KEY = 11000,
	MONGO_CODE_DUPLICATE_KEY_OLD = 11001,
	MONGO_CODE_INTERRUPTED_SHUTDOWN = 11600,
	MONGO_CODE_INTERRUPTED_REPL = 11602,
	MONGO_CODE_DUPLICATE_KEY_UPDATE = 12582,
	MONGO_CODE_NOT_PRIMARY_NO_SECONDARY_OK = 13435,
	MONGO_CODE_NOT_PRIMARY_OR_SECONDARY = 13436,
	MONGO_CODE_UPDATE_TOO_LARGE = 17419,
	MONGO_CODE_UPSERT_TOO_LARGE = 17420,
};

struct mongo {
	mongoc_client_pool_t *pool;
	char *db; /* bson_strdup'd */
};

/* One client popped from the pool, and the collection an operation works on. */
struct conn {
	struct mongo *m;
	mongoc_client_t *client;
	mongoc_collection_t *coll;
};

static pthread_once_t mongo_once = PTHREAD_ONCE_INIT;

static int append_json(bson_t *b, const char *key, const json_t *v, int depth, struct err *e);
static json_t *value_to_json(const bson_iter_t *it, int depth, struct err *e);

/* JSON -> BSON */

static int append_object(bson_t *b, const json_t *obj, int depth, struct err *e)
{
	void *it;

	/* jansson iterates in insertion order, so key order survives, which MongoDB needs for
	 * sort and index specs and which keeps stored documents as the caller wrote them. */
	for (it = json_object_iter((json_t *)obj); it != NULL;
	     it = json_object_iter_next((json_t *)obj, it))
		if (append_json(b, json_object_iter_key(it), json_object_iter_value(it), depth,
				e) != 0)
			return -1;
	return 0;
}

static int append_array(bson_t *b, const json_t *arr, int depth, struct err *e)
{
	char buf[16];
	const char *key;
	size_t i;

	/* An array within STORE_MAX_DOC_BYTES has far fewer than 2^32 elements. */
	for (i = 0; i < json_array_size(arr); i++) {
		bson_uint32_to_string((uint32_t)i, &key, buf, sizeof(buf));
		if (append_json(b, key, json_array_get(arr, i), depth, e) != 0)
			return -1;
	}
	return 0;
}

static int append_container(bson_t *b, const char *key, const json_t *v, int depth, struct err *e)
{
	bson_t child;
	bool is_obj = json_is_object(v);
	int rc;

	if (depth + 1 > MONGO_BSON_MAX_DEPTH)
		return err_set(e, ERR_TOO_DEEP, "document nested deeper than %d levels",
			       MONGO_BSON_MAX_DEPTH);
	if (!(is_obj ? bson_append_document_begin(b, key, -1, &child)
		     : bson_append_array_begin(b, key, -1, &child)))
		return err_set(e, ERR_TOO_LARGE, "document too large for BSON");
	rc = is_obj ? append_object(&child, v, depth + 1, e)
		    : append_array(&child, v, depth + 1, e);
	/* Closed even on error, so the parent is consistent when the caller destroys it. */
	if (!(is_obj ? bson_append_document_end(b, &child) : bson_append_array_end(b, &child)) &&
	    rc == 0)
		return err_set(e, ERR_TOO_LARGE, "document too large for BSON");
	return rc;
}

/* Integers are always int64: one type whatever the value, so $inc results and comparisons
 * never depend on whether a number happened to fit 32 bits when first written. */
static int append_json(bson_t *b, const char *key, const json_t *v, int depth, struct err *e)
{
	bool ok;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		return append_container(b, key, v, depth, e);
	case JSON_STRING:
		if (json_string_length(v) > INT32_MAX - 1)
			return err_set(e, ERR_TOO_LARGE, "string too long for BSON");
		ok = bson_append_utf8(b, key, -1, json_string_value(v), (int)json_string_length(v));
		break;
	case JSON_INTEGER:
		ok = bson_append_int64(b, key, -1, (int64_t)json_integer_value(v));
		break;
	case JSON_REAL:
		ok = bson_append_double(b, key, -1, json_real_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		ok = bson_append_bool(b, key, -1, json_is_true(v));
		break;
	case JSON_NULL:
		ok = bson_append_null(b, key, -1);
		break;
	default:
		return err_set(e, ERR_INTERNAL, "unknown JSON type");
	}
	return ok ? 0 : err_set(e, ERR_TOO_LARGE, "document too large for BSON");
}

bson_t *store_mongo_json_to_bson(const json_t *obj, struct err *e)
{
	bson_t *b;

	if (!json_is_object(obj)) {
		err_set(e, ERR_INVALID, "a BSON document needs a JSON object");
		return NULL;
	}
	b = bson_new(); /* libbson aborts when out of memory */
	if (append_object(b, obj, 1, e) != 0) {
		bson_destroy(b);
		return NULL;
	}
	return b;
}

/* BSON -> JSON */

static json_t *must(json_t *v)
{
	if (v == NULL)
		abort(); /* jansson only fails to make an empty container when out of memory */
	return v;
}

static int fill_json(json_t *out, bson_iter_t *it, int depth, struct err *e)
{
	json_t *v;

	while (bson_iter_next(it)) {
		v = value_to_json(it, depth, e);
		if (v == NULL)
			return -1;
		if (json_is_array(out)) {
			if (json_array_append_new(out, v) != 0)
				abort(); /* out of memory: the only failure left */
		} else if (json_object_set_new(out, bson_iter_key(it), v) != 0) {
			return err_set(e, ERR_UNSUPPORTED, "BSON key is not valid UTF-8");
		}
	}
	if (it->err_off != 0)
		return err_set(e, ERR_IO, "corrupt BSON document");
	return 0;
}

static json_t *container_to_json(const bson_iter_t *it, int depth, struct err *e)
{
	bson_iter_t child;
	json_t *out;

	if (depth + 1 > MONGO_BSON_MAX_DEPTH) {
		err_set(e, ERR_TOO_DEEP, "document nested deeper than %d levels",
			MONGO_BSON_MAX_DEPTH);
		return NULL;
	}
	if (!bson_iter_recurse(it, &child)) {
		err_set(e, ERR_IO, "corrupt BSON document");
		return NULL;
	}
	out = must(BSON_ITER_HOLDS_ARRAY(it) ? json_array() : json_object());
	if (fill_json(out, &child, depth + 1, e) != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* Dates become the store's ISO-8601 strings (a one-way mapping: we never write BSON dates). */
static json_t *date_to_json(const bson_iter_t *it, struct err *e)
{
	char iso[TIME_ISO_LEN + 1];
	int64_t ms = bson_iter_date_time(it);

	if (ms < 0 || ms > MONGO_DATE_MAX_MS) {
		err_set(e, ERR_UNSUPPORTED, "BSON date outside years 1970-9999");
		return NULL;
	}
	time_iso8601(ms, iso);
	return must(json_string(iso));
}

static json_t *value_to_json(const bson_iter_t *it, int depth, struct err *e)
{
	json_t *v = NULL;
	uint32_t len;
	const char *s;

	switch (bson_iter_type(it)) {
	case BSON_TYPE_DOCUMENT:
	case BSON_TYPE_ARRAY:
		return container_to_json(it, depth, e);
	case BSON_TYPE_UTF8:
		s = bson_iter_utf8(it, &len);
		if ((v = json_stringn(s, len)) == NULL)
			err_set(e, ERR_UNSUPPORTED, "BSON string is not valid UTF-8");
		return v;
	case BSON_TYPE_DOUBLE:
		if ((v = json_real(bson_iter_double(it))) == NULL)
			err_set(e, ERR_UNSUPPORTED, "BSON double is not finite");
		return v;
	case BSON_TYPE_INT32:
		return must(json_integer(bson_iter_int32(it)));
	case BSON_TYPE_INT64:
		return must(json_integer(bson_iter_int64(it)));
	case BSON_TYPE_BOOL:
		return must(json_boolean(bson_iter_bool(it)));
	case BSON_TYPE_NULL:
		return must(json_null());
	case BSON_TYPE_DATE_TIME:
		return date_to_json(it, e);
	default:
		err_set(e, ERR_UNSUPPORTED, "unsupported BSON type 0x%02x",
			(unsigned)bson_iter_type(it));
		return NULL;
	}
}

json_t *store_mongo_bson_to_json(const bson_t *doc, struct err *e)
{
	bson_iter_t it;
	json_t *out;

	if (!bson_iter_init(&it, doc)) {
		err_set(e, ERR_IO, "corrupt BSON document");
		return NULL;
	}
	out = must(json_object());
	if (fill_json(out, &it, 1, e) != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* Errors */

static bool is_server_domain(uint32_t domain)
{
	/* With error API 2 the server's own errors come as SERVER or WRITE_CONCERN; the others
	 * carry server codes in some driver paths too. */
	return domain == MONGOC_ERROR_SERVER || domain == MONGOC_ERROR_WRITE_CONCERN ||
	       domain == MONGOC_ERROR_QUERY || domain == MONGOC_ERROR_COMMAND ||
	       domain == MONGOC_ERROR_COLLECTION;
}

static enum err_code server_code(uint32_t code)
{
	switch (code) {
	case MONGO_CODE_DUPLICATE_KEY:
	case MONGO_CODE_DUPLICATE_KEY_OLD:
	case MONGO_CODE_DUPLICATE_KEY_UPDATE:
		return ERR_DUPLICATE;
	case MONGO_CODE_OBJECT_TOO_LARGE:
	case MONGO_CODE_UPDATE_TOO_LARGE:
	case MONGO_CODE_UPSERT_TOO_LARGE:
		return ERR_TOO_LARGE;
	case MONGO_CODE_MAX_TIME_EXPIRED:
	case MONGO_CODE_WRITE_CONCERN_FAILED:
	case MONGO_CODE_NETWORK_TIMEOUT:
	case MONGO_CODE_NETWORK_EXCEEDED_TIME:
	case MONGO_CODE_EXCEEDED_TIME_LIMIT:
		return ERR_TIMEOUT;
	case MONGO_CODE_HOST_UNREACHABLE:
	case MONGO_CODE_HOST_NOT_FOUND:
	case MONGO_CODE_SHUTDOWN:
	case MONGO_CODE_PRIMARY_STEPPED_DOWN:
	case MONGO_CODE_NOT_PRIMARY:
	case MONGO_CODE_INTERRUPTED_SHUTDOWN:
	case MONGO_CODE_INTERRUPTED_REPL:
	case MONGO_CODE_NOT_PRIMARY_NO_SECONDARY_OK:
	case MONGO_CODE_NOT_PRIMARY_OR_SECONDARY:
		return ERR_UNAVAILABLE;
	/* The update does not apply to this document ($inc on a string, $push on a scalar, a
	 * path through a scalar): what the SQLite backend's update_apply calls ERR_INVALID. */
	case MONGO_CODE_BAD_VALUE:
	case MONGO_CODE_FAILED_TO_PARSE:
	case MONGO_CODE_TYPE_MISMATCH:
	case MONGO_CODE_OVERFLOW:
	case MONGO_CODE_PATH_NOT_VIABLE:
	case MONGO_CODE_CONFLICTING_UPDATE:
	case MONGO_CODE_DOLLAR_PREFIXED:
	case MONGO_CODE_EMPTY_FIELD_NAME:
	case MONGO_CODE_DOTTED_FIELD_NAME:
	case MONGO_CODE_IMMUTABLE_FIELD:
		return ERR_INVALID;
	default:
		return ERR_IO;
	}
}

static enum err_code driver_code(const bson_error_t *be)
{
	if (is_server_domain(be->domain))
		return server_code(be->code);
	switch (be->domain) {
	case MONGOC_ERROR_SERVER_SELECTION:
		return ERR_UNAVAILABLE;
	case MONGOC_ERROR_STREAM:
		/* A socket failure after the request went out leaves its outcome unknown, which
		 * is what a caller must assume of a timeout; the rest never reached a server. */
		return be->code == MONGOC_ERROR_STREAM_SOCKET ? ERR_TIMEOUT : ERR_UNAVAILABLE;
	case MONGOC_ERROR_CLIENT:
		if (be->code == MONGOC_ERROR_CLIENT_TOO_BIG)
			return ERR_TOO_LARGE;
		return be->code == MONGOC_ERROR_CLIENT_AUTHENTICATE ? ERR_UNAVAILABLE : ERR_IO;
	case MONGOC_ERROR_BSON:
		return strstr(be->message, "too large") != NULL ? ERR_TOO_LARGE : ERR_IO;
	default:
		return ERR_IO;
	}
}

/* E11000 messages read "... index: NAME dup key: { <the values> }": keep the index name only. */
static int duplicate_fail(struct err *e, const bson_error_t *be)
{
	const char *p = strstr(be->message, " index: ");
	size_t n;

	if (p == NULL)
		return err_set(e, ERR_DUPLICATE, "duplicate key");
	p += strlen(" index: ");
	n = strcspn(p, " ");
	if (n > 120)
		n = 120;
	return err_set(e, ERR_DUPLICATE, "duplicate key in index %.*s", (int)n, p);
}

static int mongo_fail(struct err *e, const char *op, const bson_error_t *be)
{
	enum err_code code = driver_code(be);
	size_t n;

	if (code == ERR_DUPLICATE)
		return duplicate_fail(e, be);
	if (!is_server_domain(be->domain))
		return err_set(e, code, "mongodb %s: %s", op, be->message);
	/* Server messages quote documents and values from "{" or "(" on. */
	n = strcspn(be->message, "{(");
	while (n > 0 && strchr(" :", be->message[n - 1]) != NULL)
		n--;
	return err_set(e, code, "mongodb %s: %.*s (code %u)", op, (int)n, be->message,
		       (unsigned)be->code);
}

/* Process and connections */

static void mongo_log(mongoc_log_level_t level, const char *domain, const char *message, void *data)
{
	(void)data;
	if (domain == NULL || message == NULL)
		return;
	/* Below warning the driver narrates connections and commands: not ours to log. */
	if (level > MONGOC_LOG_LEVEL_WARNING)
		return;
	log_at(level == MONGOC_LOG_LEVEL_WARNING ? LOG_LEVEL_WARNING : LOG_LEVEL_ERROR, __FILE__,
	       __LINE__, __func__, "mongoc %s: %s", domain, message);
}

/* mongoc_cleanup() is never called: stores may stay open until exit, which frees it all. */
static void mongo_global_init(void)
{
	mongoc_init();
	mongoc_log_set_handler(mongo_log, NULL);
}

static int conn_get(struct store *s, const char *coll, struct conn *c, struct err *e)
{
	c->m = s->impl;
	c->coll = NULL;
	c->client = mongoc_client_pool_pop(c->m->pool);
	if (c->client == NULL)
		return err_set(e, ERR_UNAVAILABLE, "mongodb: no client from the pool");
	if (coll != NULL)
		c->coll = mongoc_client_get_collection(c->client, c->m->db, coll);
	return 0;
}

static void conn_put(struct conn *c)
{
	if (c->coll != NULL)
		mongoc_collection_destroy(c->coll);
	if (c->client != NULL)
		mongoc_client_pool_push(c->m->pool, c->client);
	c->coll = NULL;
	c->client = NULL;
}

static void mongo_free(struct mongo *m)
{
	if (m == NULL)
		return;
	if (m->pool != NULL)
		mongoc_client_pool_destroy(m->pool);
	bson_free(m->db);
	bson_free(m);
}

static int mongo_open(struct store *s, const char *uri_text, struct err *e)
{
	struct mongo *m = NULL;
	mongoc_uri_t *uri = NULL;
	const char *db;
	bson_error_t be;

	pthread_once(&mongo_once, mongo_global_init);
	uri = mongoc_uri_new_with_error(uri_text, &be);
	if (uri == NULL) {
		err_set(e, ERR_INVALID, "invalid MongoDB URI: %s", be.message);
		goto fail;
	}
	db = mongoc_uri_get_database(uri);
	if (db == NULL || db[0] == '\0') {
		err_set(e, ERR_INVALID, "MongoDB URI needs a database name");
		goto fail;
	}
	/* An appname in the URI is the operator's choice; ours is the default. */
	if (mongoc_uri_get_appname(uri) == NULL && !mongoc_uri_set_appname(uri, "second")) {
		err_set(e, ERR_INTERNAL, "cannot set the MongoDB appname");
		goto fail;
	}
	m = bson_malloc0(sizeof(*m)); /* aborts when out of memory */
	m->db = bson_strdup(db);
	m->pool = mongoc_client_pool_new_with_error(uri, &be);
	if (m->pool == NULL) {
		err_set(e, ERR_INVALID, "MongoDB URI: %s", be.message);
		goto fail;
	}
	if (!mongoc_client_pool_set_error_api(m->pool, MONGOC_ERROR_API_VERSION_2)) {
		err_set(e, ERR_INTERNAL, "cannot set the MongoDB error API");
		goto fail;
	}
	mongoc_uri_destroy(uri); /* the pool keeps its own copy */
	s->impl = m;
	return 0;
fail:
	mongo_free(m);
	mongoc_uri_destroy(uri);
	return -1;
}

static void mongo_close(struct store *s)
{
	mongo_free(s->impl);
	s->impl = NULL;
}

/* Health and verification */

static int ping_client(mongoc_client_t *client, struct err *e)
{
	bson_t cmd = BSON_INITIALIZER;
	bson_t reply = BSON_INITIALIZER;
	bson_error_t be;
	int rc = 0;

	BSON_APPEND_INT32(&cmd, "ping", 1);
	if (!mongoc_client_command_simple(client, "admin", &cmd, NULL, &reply, &be))
		rc = mongo_fail(e, "ping", &be);
	bson_destroy(&reply);
	bson_destroy(&cmd);
	return rc;
}

static int mongo_ping(struct store *s, struct err *e)
{
	struct conn c;
	int rc;

	if (conn_get(s, NULL, &c, e) != 0)
		return -1;
	rc = ping_client(c.client, e);
	conn_put(&c);
	return rc;
}

static bool name_in(char **names, const char *name)
{
	for (; names != NULL && *names != NULL; names++)
		if (strcmp(*names, name) == 0)
			return true;
	return false;
}

/* Every index the schema declares for `c` exists, by name. */
static int verify_indexes(mongoc_client_t *client, const char *db, const struct store_collection *c,
			  struct err *e)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(client, db, c->name);
	mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
	const struct store_index *ix;
	const bson_t *doc;
	bson_iter_t it;
	bson_error_t be;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	while (mongoc_cursor_next(cur, &doc)) {
		if (!bson_iter_init_find(&it, doc, "name") || !BSON_ITER_HOLDS_UTF8(&it))
			continue;
		names = bson_realloc(names, (n + 2) * sizeof(*names));
		names[n++] = bson_strdup(bson_iter_utf8(&it, NULL));
		names[n] = NULL;
	}
	if (mongoc_cursor_error(cur, &be))
		rc = mongo_fail(e, "listIndexes", &be);
	for (ix = c->indexes; rc == 0 && ix != NULL && ix->name != NULL; ix++)
		if (!name_in(names, ix->name))
			rc = err_set(e, ERR_IO, "mongodb: index %s of %s is missing", ix->name,
				     c->name);
	bson_strfreev(names);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	return rc;
}

/* No deep check exists for MongoDB: we check that every declared collection and index is
 * there, which catches a database that was never opened or was changed by hand. */
static int mongo_verify(struct store *s, struct err *e)
{
	mongoc_database_t *db = NULL;
	char **names = NULL;
	bson_error_t be;
	struct conn c;
	size_t i;
	int rc = -1;

	if (conn_get(s, NULL, &c, e) != 0)
		return -1;
	if (ping_client(c.client, e) != 0)
		goto out;
	db = mongoc_client_get_database(c.client, c.m->db);
	names = mongoc_database_get_collection_names_with_opts(db, NULL, &be);
	if (names == NULL) {
		mongo_fail(e, "listCollections", &be);
		goto out;
	}
	for (i = 0; i < s->schema->ncollections; i++) {
		const struct store_collection *sc = &s->schema->collections[i];

		if (!name_in(names, sc->name)) {
			err_set(e, ERR_IO, "mongodb: collection %s is missing", sc->name);
			goto out;
		}
		if (verify_indexes(c.client, c.m->db, sc, e) != 0)
			goto out;
	}
	rc = 0;
out:
	bson_strfreev(names);
	if (db != NULL)
		mongoc_database_destroy(db);
	conn_put(&c);
	return rc;
}

/* Collections and indexes */

/* Appends indexes[i]. The appends cannot fail: these documents are a few hundred bytes. */
static void index_spec(bson_t *indexes, uint32_t i, const struct store_index *ix)
{
	bson_t spec, key, partial, exists;
	const char *k;
	char buf[16];
	size_t j;

	bson_uint32_to_string(i, &k, buf, sizeof(buf));
	bson_append_document_begin(indexes, k, -1, &spec);
	bson_append_document_begin(&spec, "key", -1, &key);
	for (j = 0; j < STORE_MAX_INDEX_KEYS && ix->keys[j] != NULL; j++) {
		if (ix->keys[j][0] == '-')
			BSON_APPEND_INT32(&key, ix->keys[j] + 1, -1);
		else
			BSON_APPEND_INT32(&key, ix->keys[j], 1);
	}
	bson_append_document_end(&spec, &key);
	BSON_APPEND_UTF8(&spec, "name", ix->name);
	if (ix->unique)
		BSON_APPEND_BOOL(&spec, "unique", true);
	if (ix->sparse) {
		/* The store's sparse: only documents that have the first key. */
		k = ix->keys[0][0] == '-' ? ix->keys[0] + 1 : ix->keys[0];
		bson_append_document_begin(&spec, "partialFilterExpression", -1, &partial);
		bson_append_document_begin(&partial, k, -1, &exists);
		BSON_APPEND_BOOL(&exists, "$exists", true);
		bson_append_document_end(&partial, &exists);
		bson_append_document_end(&spec, &partial);
	}
	bson_append_document_end(indexes, &spec);
}

/* createIndexes with the whole list, or create for a collection without indexes. Both are
 * idempotent: an identical index is a no-op, an existing collection is NamespaceExists. */
static void ensure_command(bson_t *cmd, const struct store_collection *c)
{
	bson_t indexes;
	uint32_t i = 0;

	if (c->indexes == NULL || c->indexes[0].name == NULL) {
		BSON_APPEND_UTF8(cmd, "create", c->name);
		return;
	}
	BSON_APPEND_UTF8(cmd, "createIndexes", c->name);
	bson_append_array_begin(cmd, "indexes", -1, &indexes);
	for (i = 0; c->indexes[i].name != NULL; i++)
		index_spec(&indexes, i, &c->indexes[i]);
	bson_append_array_end(cmd, &indexes);
}

static int mongo_ensure_collection(struct store *s, const struct store_collection *c, struct err *e)
{
	mongoc_database_t *db = NULL;
	bson_t cmd = BSON_INITIALIZER;
	bson_t reply = BSON_INITIALIZER;
	bson_error_t be;
	struct conn c2;
	int rc = 0;

	if (conn_get(s, NULL, &c2, e) != 0)
		return -1;
	ensure_command(&cmd, c);
	db = mongoc_client_get_database(c2.client, c2.m->db);
	if (!mongoc_database_write_command_with_opts(db, &cmd, NULL, &reply, &be) &&
	    !(is_server_domain(be.domain) && be.code == MONGO_CODE_NAMESPACE_EXISTS))
		rc = mongo_fail(e, "createIndexes", &be);
	bson_destroy(&reply);
	bson_destroy(&cmd);
	mongoc_database_destroy(db);
	conn_put(&c2);
	return rc;
}

/* Queries */

static bson_t *query_filter(const struct store_query *q, struct err *e)
{
	if (q->filter_json == NULL)
		return bson_new();
	return store_mongo_json_to_bson(q->filter_json, e);
}

static void sort_append(bson_t *b, const struct store_sort *sort, size_t nsort)
{
	size_t i;

	/* Cannot fail: at most STORE_MAX_SORT_KEYS short paths. */
	for (i = 0; i < nsort; i++)
		BSON_APPEND_INT32(b, sort[i].path, sort[i].dir < 0 ? -1 : 1);
}

static void find_opts(bson_t *opts, const struct store_query *q)
{
	bson_t sort;

	bson_append_document_begin(opts, "sort", -1, &sort);
	sort_append(&sort, q->sort, q->nsort);
	bson_append_document_end(opts, &sort);
	if (q->limit > 0)
		BSON_APPEND_INT64(opts, "limit", (int64_t)q->limit);
	if (q->fields != NULL) {
		bson_t proj;

		bson_append_document_begin(opts, "projection", -1, &proj);
		for (size_t i = 0; q->fields[i] != NULL; i++)
			BSON_APPEND_INT32(&proj, q->fields[i], 1);
		bson_append_document_end(opts, &proj);
	}
}

/* A projected field the document lacks is null, as the SQLite backend returns it. */
static void fill_projection(json_t *docs, const char *const *fields)
{
	json_t *doc;
	size_t i;

	if (fields == NULL)
		return;
	json_array_foreach (docs, i, doc)
		for (size_t f = 0; fields[f] != NULL; f++)
			if (json_object_get(doc, fields[f]) == NULL &&
			    json_object_set_new(doc, fields[f], json_null()) != 0)
				abort(); /* out of memory */
}

static int cursor_to_json(mongoc_cursor_t *cur, json_t *out, struct err *e)
{
	const bson_t *doc;
	bson_error_t be;
	json_t *j;

	while (mongoc_cursor_next(cur, &doc)) {
		if ((j = store_mongo_bson_to_json(doc, e)) == NULL)
			return -1;
		if (json_array_append_new(out, j) != 0)
			abort(); /* out of memory */
	}
	if (mongoc_cursor_error(cur, &be))
		return mongo_fail(e, "find", &be);
	return 0;
}

static int mongo_find(struct store *s, const struct store_query *q, json_t **docs, struct err *e)
{
	mongoc_cursor_t *cur = NULL;
	bson_t opts = BSON_INITIALIZER;
	bson_t *filter = NULL;
	json_t *out = NULL;
	struct conn c = {0};
	int rc = -1;

	*docs = NULL;
	if ((filter = query_filter(q, e)) == NULL)
		goto out;
	if (conn_get(s, q->coll->name, &c, e) != 0)
		goto out;
	find_opts(&opts, q);
	cur = mongoc_collection_find_with_opts(c.coll, filter, &opts, NULL);
	out = must(json_array());
	if (cursor_to_json(cur, out, e) != 0)
		goto out;
	fill_projection(out, q->fields);
	*docs = out;
	out = NULL;
	rc = 0;
out:
	if (cur != NULL)
		mongoc_cursor_destroy(cur);
	json_decref(out);
	bson_destroy(&opts);
	if (filter != NULL)
		bson_destroy(filter);
	if (c.client != NULL)
		conn_put(&c);
	return rc;
}

static int mongo_count(struct store *s, const struct store_query *q, size_t *n, struct err *e)
{
	bson_t *filter = NULL;
	bson_error_t be;
	struct conn c = {0};
	int64_t count;
	int rc = -1;

	if ((filter = query_filter(q, e)) == NULL)
		return -1;
	if (conn_get(s, q->coll->name, &c, e) != 0)
		goto out;
	count = mongoc_collection_count_documents(c.coll, filter, NULL, NULL, NULL, &be);
	if (count < 0) {
		mongo_fail(e, "count", &be);
		goto out;
	}
	*n = (size_t)count;
	rc = 0;
out:
	bson_destroy(filter);
	if (c.client != NULL)
		conn_put(&c);
	return rc;
}

/* Writes */

static int mongo_insert(struct store *s, const struct store_collection *coll, const json_t *doc,
			struct err *e)
{
	bson_t *b;
	bson_error_t be;
	struct conn c;
	int rc = 0;

	if ((b = store_mongo_json_to_bson(doc, e)) == NULL)
		return -1;
	if (conn_get(s, coll->name, &c, e) != 0) {
		bson_destroy(b);
		return -1;
	}
	if (!mongoc_collection_insert_one(c.coll, b, NULL, NULL, &be))
		rc = mongo_fail(e, "insert", &be);
	conn_put(&c);
	bson_destroy(b);
	return rc;
}

/* Whether an upsert's filter gives the new document its _id: MongoDB then takes it from
 * there, and a $setOnInsert of another _id would fail as a change of an immutable field. */
static bool filter_pins_id(const struct filter_node *f)
{
	size_t i;

	if (f == NULL)
		return false;
	if (f->op == FILTER_EQ)
		return strcmp(f->path, "_id") == 0;
	if (f->op != FILTER_AND)
		return false;
	for (i = 0; i < f->nkids; i++)
		if (filter_pins_id(&f->kids[i]))
			return true;
	return false;
}

/* The update as MongoDB takes it; with new_id, a $setOnInsert of a fresh hex _id. */
static bson_t *update_bson(const json_t *update, bool new_id, struct err *e)
{
	bson_t *b = bson_new();
	bson_t soi;
	char id[ID_HEX_LEN + 1];
	void *it;

	for (it = json_object_iter((json_t *)update); it != NULL;
	     it = json_object_iter_next((json_t *)update, it))
		if (append_json(b, json_object_iter_key(it), json_object_iter_value(it), 1, e) != 0)
			goto fail;
	if (new_id) {
		id_new(id);
		bson_append_document_begin(b, "$setOnInsert", -1, &soi);
		BSON_APPEND_UTF8(&soi, "_id", id);
		if (!bson_append_document_end(b, &soi)) {
			err_set(e, ERR_TOO_LARGE, "update too large for BSON");
			goto fail;
		}
	}
	return b;
fail:
	bson_destroy(b);
	return NULL;
}

/* The findAndModify options: q's sort, then `update` or removal when it is NULL, and with
 * id_only a projection to _id for callers that only count. NULL if the driver refuses one. */
static mongoc_find_and_modify_opts_t *fam_opts(const struct store_query *q, const bson_t *update,
					       mongoc_find_and_modify_flags_t flags, bool id_only)
{
	mongoc_find_and_modify_opts_t *fam = mongoc_find_and_modify_opts_new();
	bson_t sort = BSON_INITIALIZER, fields = BSON_INITIALIZER;
	bool ok;

	sort_append(&sort, q->sort, q->nsort);
	BSON_APPEND_INT32(&fields, "_id", 1);
	ok = mongoc_find_and_modify_opts_set_sort(fam, &sort) &&
	     (update == NULL || mongoc_find_and_modify_opts_set_update(fam, update)) &&
	     (!id_only || mongoc_find_and_modify_opts_set_fields(fam, &fields)) &&
	     mongoc_find_and_modify_opts_set_flags(
		     fam, update == NULL ? MONGOC_FIND_AND_MODIFY_REMOVE : flags);
	bson_destroy(&fields);
	bson_destroy(&sort);
	if (!ok) {
		mongoc_find_and_modify_opts_destroy(fam);
		return NULL;
	}
	return fam;
}

/* The reply's "value": *n is 1 when it is a document, and *doc (when doc is not NULL) gets it
 * as JSON, or NULL. */
static int fam_value(const bson_t *reply, json_t **doc, size_t *n, struct err *e)
{
	const uint8_t *data;
	bson_iter_t it;
	uint32_t len;
	bson_t value;

	*n = 0;
	if (doc != NULL)
		*doc = NULL;
	if (!bson_iter_init_find(&it, reply, "value") || !BSON_ITER_HOLDS_DOCUMENT(&it))
		return 0;
	*n = 1;
	if (doc == NULL)
		return 0;
	bson_iter_document(&it, &len, &data);
	if (!bson_init_static(&value, data, len))
		return err_set(e, ERR_IO, "mongodb: corrupt findAndModify reply");
	return (*doc = store_mongo_bson_to_json(&value, e)) == NULL ? -1 : 0;
}

/* findAndModify on the first match in q's sort order; `update` NULL removes. */
static int fam_run(struct store *s, const struct store_query *q, const bson_t *update,
		   mongoc_find_and_modify_flags_t flags, bool id_only, json_t **doc, size_t *n,
		   struct err *e)
{
	mongoc_find_and_modify_opts_t *fam = NULL;
	bson_t reply = BSON_INITIALIZER;
	bson_t *filter = NULL;
	bson_error_t be;
	struct conn c = {0};
	int rc = -1;

	if ((filter = query_filter(q, e)) == NULL)
		goto out;
	if ((fam = fam_opts(q, update, flags, id_only)) == NULL) {
		err_set(e, ERR_INTERNAL, "mongodb: cannot build findAndModify");
		goto out;
	}
	if (conn_get(s, q->coll->name, &c, e) != 0)
		goto out;
	if (!mongoc_collection_find_and_modify_with_opts(c.coll, filter, fam, &reply, &be)) {
		mongo_fail(e, update == NULL ? "delete" : "findAndModify", &be);
		goto out;
	}
	rc = fam_value(&reply, doc, n, e);
out:
	if (filter != NULL)
		bson_destroy(filter);
	bson_destroy(&reply);
	if (fam != NULL)
		mongoc_find_and_modify_opts_destroy(fam);
	if (c.client != NULL)
		conn_put(&c);
	return rc;
}

/* The size and depth limits hold for updated documents too, but the server applies updates
 * itself. So the documents an update would change are read first and the update applied to a
 * copy in memory: one that would break a limit is refused before anything is written. A
 * concurrent update between this read and the server's write can still grow a document past
 * the limit, up to MongoDB's own 16 MiB; that window is accepted to keep writes atomic
 * without a transaction (which would need a replica set). */
static int precheck_update(struct store *s, const struct store_query *q, const struct update *u,
			   struct err *e)
{
	json_t *docs = NULL, *doc, *copy;
	size_t i;
	int rc = 0;

	if (mongo_find(s, q, &docs, e) != 0)
		return -1;
	json_array_foreach (docs, i, doc) {
		copy = must(json_deep_copy(doc));
		if (update_apply(u, copy, e) != 0 || store_check_doc(copy, e) != 0)
			rc = -1;
		json_decref(copy);
		if (rc != 0)
			break;
	}
	json_decref(docs);
	return rc;
}

static int mongo_find_one_and_update(struct store *s, const struct store_query *q,
				     const struct update *u, const json_t *update_json,
				     unsigned flags, json_t **doc, struct err *e)
{
	bool upsert = (flags & STORE_UPSERT) != 0;
	mongoc_find_and_modify_flags_t f = MONGOC_FIND_AND_MODIFY_NONE;
	bson_t *update;
	size_t n;
	int rc;

	/* The server applies update_json; the parsed list checks the result's limits first. */
	*doc = NULL;
	if (precheck_update(s, q, u, e) != 0)
		return -1;
	if ((update = update_bson(update_json, upsert && !filter_pins_id(q->filter), e)) == NULL)
		return -1;
	if (!(flags & STORE_RETURN_OLD))
		f |= MONGOC_FIND_AND_MODIFY_RETURN_NEW;
	if (upsert)
		f |= MONGOC_FIND_AND_MODIFY_UPSERT;
	rc = fam_run(s, q, update, f, false, doc, &n, e);
	bson_destroy(update);
	return rc;
}

static int reply_count(const bson_t *reply, const char *field, size_t *n)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, reply, field) || !BSON_ITER_HOLDS_NUMBER(&it))
		return -1;
	*n = (size_t)bson_iter_as_int64(&it);
	return 0;
}

static int update_many(struct store *s, const struct store_query *q, const bson_t *update,
		       size_t *matched, struct err *e)
{
	bson_t reply = BSON_INITIALIZER;
	bson_t *filter = NULL;
	bson_error_t be;
	struct conn c = {0};
	int rc = -1;

	if ((filter = query_filter(q, e)) == NULL)
		return -1;
	if (conn_get(s, q->coll->name, &c, e) != 0)
		goto out;
	if (!mongoc_collection_update_many(c.coll, filter, update, NULL, &reply, &be)) {
		mongo_fail(e, "update", &be);
		goto out;
	}
	if (reply_count(&reply, "matchedCount", matched) != 0) {
		err_set(e, ERR_IO, "mongodb: update reply without matchedCount");
		goto out;
	}
	rc = 0;
out:
	bson_destroy(&reply);
	bson_destroy(filter);
	if (c.client != NULL)
		conn_put(&c);
	return rc;
}

static int mongo_update(struct store *s, const struct store_query *q, const struct update *u,
			const json_t *update_json, bool many, size_t *matched, struct err *e)
{
	bson_t *update;
	size_t n = 0;
	int rc;

	if (precheck_update(s, q, u, e) != 0)
		return -1;
	if ((update = update_bson(update_json, false, e)) == NULL)
		return -1;
	if (many)
		rc = update_many(s, q, update, &n, e);
	else
		rc = fam_run(s, q, update, MONGOC_FIND_AND_MODIFY_NONE, true, NULL, &n, e);
	bson_destroy(update);
	if (rc == 0 && matched != NULL)
		*matched = n;
	return rc;
}

static int delete_many(struct store *s, const struct store_query *q, size_t *n, struct err *e)
{
	bson_t reply = BSON_INITIALIZER;
	bson_t *filter = NULL;
	bson_error_t be;
	struct conn c = {0};
	int rc = -1;

	if ((filter = query_filter(q, e)) == NULL)
		return -1;
	if (conn_get(s, q->coll->name, &c, e) != 0)
		goto out;
	if (!mongoc_collection_delete_many(c.coll, filter, NULL, &reply, &be)) {
		mongo_fail(e, "delete", &be);
		goto out;
	}
	if (reply_count(&reply, "deletedCount", n) != 0) {
		err_set(e, ERR_IO, "mongodb: delete reply without deletedCount");
		goto out;
	}
	rc = 0;
out:
	bson_destroy(&reply);
	bson_destroy(filter);
	if (c.client != NULL)
		conn_put(&c);
	return rc;
}

static int mongo_delete(struct store *s, const struct store_query *q, bool many, size_t *deleted,
			struct err *e)
{
	size_t n = 0;
	int rc;

	if (many)
		rc = delete_many(s, q, &n, e);
	else
		rc = fam_run(s, q, NULL, MONGOC_FIND_AND_MODIFY_REMOVE, true, NULL, &n, e);
	if (rc == 0 && deleted != NULL)
		*deleted = n;
	return rc;
}

const struct store_backend store_backend_mongo = {
	.name = "mongodb",
	.open = mongo_open,
	.close = mongo_close,
	.ping = mongo_ping,
	.verify = mongo_verify,
	.ensure_collection = mongo_ensure_collection,
	.insert = mongo_insert,
	.find = mongo_find,
	.find_one_and_update = mongo_find_one_and_update,
	.update = mongo_update,
	.delete = mongo_delete,
	.count = mongo_count,
};
