/* The SQLite backend: one table of JSON documents per collection, behind a connection pool.
 *
 * Each collection is a table (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, data TEXT NOT
 * NULL): `data` is the compact JSON of the document and `id` a copy of its "_id". Each schema
 * index is an index over json_extract(data,'$.path') expressions. Filters become SQL whose
 * values are all bound parameters; only paths, validated by the common layer, are written into
 * the SQL, and always with the same text the index definitions use, so the planner can match
 * a condition to an index. Writes run in BEGIN IMMEDIATE transactions and do read-modify-write
 * in C (load, update_apply on a copy, store_check_doc, UPDATE), so every write is atomic and a
 * find-one-and-update is a true compare-and-set. A process keeps a pool of connections; a call
 * borrows one, and writers of one process queue on a mutex rather than on SQLite's busy
 * handler, which polls with sleeps. Other processes are kept out by SQLite's file locks, and
 * busy_timeout_ms bounds how long a writer waits for them.
 *
 * store_revision() reads PRAGMA data_version on a connection of its own that never writes:
 * SQLite changes that value whenever another connection, of this process or any other, has
 * committed since the connection's previous read, so a changed value bumps our counter.
 *
 * URI: "sqlite:PATH" or "sqlite:///ABS/PATH", optionally followed by "?key=value&...":
 *   busy_timeout_ms=N        0..STORE_SQLITE_MAX_BUSY_MS, default 5000
 *   synchronous=full|normal  default full: a commit is on disk before it is acknowledged;
 *                            normal may lose the last commits on power loss (not on a crash)
 *   pool=N                   1..STORE_SQLITE_MAX_POOL connections, default 8
 *
 * Where this backend differs from MongoDB (the conformance suite avoids these cases):
 *   - Only paths declared in array_paths match arrays element by element, and paths never
 *     walk through arrays ("items.name" where items is an array matches nothing).
 *   - Sort order across types: SQLite orders null < numbers < strings, and booleans as the
 *     numbers 0/1 (MongoDB puts booleans after strings); JSON arrays and objects sort as their
 *     text. Keep sort keys of one type (or missing), as cursors assume that anyway.
 *   - Unique indexes ignore documents whose keys are missing or null (SQLite treats NULLs as
 *     distinct; MongoDB indexes them as null and refuses a second one): give unique keys a
 *     value in every document, or declare the index sparse.
 *   - A unique index also sees true and 1 (or false and 0) as the same key.
 *   - update_many is one transaction: a failure on one document changes none. */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/store-internal.h"

#define STORE_SQLITE_DEFAULT_BUSY_MS 5000
#define STORE_SQLITE_DEFAULT_POOL 8
/* BEGIN IMMEDIATE already waits busy_timeout_ms; these are extra rounds of that wait. */
#define STORE_SQLITE_BEGIN_TRIES 3

struct sqlite_impl {
	char *path; /* owned, as given to sqlite3_open_v2 */
	int busy_ms;
	bool sync_full;
	size_t pool_max;
	pthread_mutex_t mu; /* guards idle, nidle, nopen */
	pthread_cond_t cv;  /* a connection was returned or a slot freed */
	sqlite3 *idle[STORE_SQLITE_MAX_POOL];
	size_t nidle, nopen;
	pthread_mutex_t write_mu; /* one writer of this process at a time */
	pthread_mutex_t rev_mu;   /* guards the four below */
	sqlite3 *rev_db;          /* a connection that only ever reads PRAGMA data_version */
	sqlite3_stmt *rev_st;
	int64_t rev_seen; /* the data_version rev_db saw last */
	uint64_t rev;     /* store_revision(): bumped whenever rev_seen changes */
};

static atomic_uint_fast64_t revisions; /* the last revision handed out */

/* SQL text with the JSON values its "?" placeholders take, in order (borrowed). */
struct sql {
	char *text;
	size_t len, cap;
	const json_t **binds;
	size_t nbinds, bcap;
};

static struct sqlite_impl *impl_of(struct store *s)
{
	return s->impl;
}

static void lock(pthread_mutex_t *m)
{
	/* Fails only for invalid or recursively locked mutexes: a bug, not a condition. */
	if (pthread_mutex_lock(m) != 0)
		abort();
}

static void unlock(pthread_mutex_t *m)
{
	if (pthread_mutex_unlock(m) != 0)
		abort();
}

static void sql_reserve(struct sql *q, size_t more)
{
	if (q->len + more + 1 <= q->cap)
		return;
	while (q->len + more + 1 > q->cap)
		q->cap = q->cap ? q->cap * 2 : 256;
	q->text = realloc(q->text, q->cap);
	if (q->text == NULL)
		abort();
}

static void sql_str(struct sql *q, const char *s)
{
	size_t n = strlen(s);

	sql_reserve(q, n);
	memcpy(q->text + q->len, s, n + 1);
	q->len += n;
}

static void sql_add(struct sql *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sql_add(struct sql *q, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Only short fragments (names, numbers) are formatted; longer ones would be a bug. */
	if (n < 0 || (size_t)n >= sizeof(buf))
		abort();
	sql_str(q, buf);
}

/* Appends "?" bound to v, a string or a number the caller keeps alive. */
static void sql_bind(struct sql *q, const json_t *v)
{
	if (q->nbinds == q->bcap) {
		q->bcap = q->bcap ? q->bcap * 2 : 16;
		q->binds = realloc(q->binds, q->bcap * sizeof(*q->binds));
		if (q->binds == NULL)
			abort();
	}
	q->binds[q->nbinds++] = v;
	sql_str(q, "?");
}

static void sql_free(struct sql *q)
{
	free(q->text);
	free(q->binds);
	memset(q, 0, sizeof(*q));
}

static bool plain_segment(const char *seg, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char ch = seg[i];

		if (!(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9')))
			return false;
	}
	return true;
}

/* '$.a."b c"': a SQL string literal holding a JSON path. The path was checked by
 * store_check_path (no '"', '\', control characters), so quoting a segment in double quotes
 * and doubling single quotes for SQL is enough. */
static void sql_path_literal(struct sql *q, const char *path)
{
	const char *seg = path, *dot;
	size_t len;

	sql_str(q, "'$");
	for (;;) {
		dot = strchr(seg, '.');
		len = dot ? (size_t)(dot - seg) : strlen(seg);
		sql_reserve(q, 3 + 2 * len);
		q->text[q->len++] = '.';
		if (!plain_segment(seg, len))
			q->text[q->len++] = '"';
		for (size_t i = 0; i < len; i++) {
			if (seg[i] == '\'')
				q->text[q->len++] = '\'';
			q->text[q->len++] = seg[i];
		}
		if (!plain_segment(seg, len))
			q->text[q->len++] = '"';
		q->text[q->len] = '\0';
		if (dot == NULL)
			break;
		seg = dot + 1;
	}
	sql_str(q, "'");
}

/* The value at a path, as SQL: the id column for "_id" (it has the UNIQUE index). */
static void sql_extract(struct sql *q, const char *path)
{
	if (strcmp(path, "_id") == 0) {
		sql_str(q, "id");
		return;
	}
	sql_str(q, "json_extract(data,");
	sql_path_literal(q, path);
	sql_str(q, ")");
}

/* The JSON type at a path ('text', 'integer', 'real', 'true', ..., NULL when missing). */
static void sql_type(struct sql *q, const char *path)
{
	if (strcmp(path, "_id") == 0) {
		sql_str(q, "'text'");
		return;
	}
	sql_str(q, "json_type(data,");
	sql_path_literal(q, path);
	sql_str(q, ")");
}

/* MongoDB's type bracketing: a string only compares with strings, a number with numbers. */
static const char *type_guard(const json_t *v)
{
	return json_is_string(v) ? " = 'text'" : " IN ('integer','real')";
}

/* (X cmp ? AND type guard) for a string or number v. */
static void emit_typed(struct sql *q, const char *path, const char *cmp, const json_t *v)
{
	sql_str(q, "(");
	sql_extract(q, path);
	sql_add(q, " %s ", cmp);
	sql_bind(q, v);
	sql_str(q, " AND ");
	sql_type(q, path);
	sql_str(q, type_guard(v));
	sql_str(q, ")");
}

/* Equality on a plain path. json_extract gives NULL for null and missing alike, which is
 * MongoDB's {$eq: null}, and 1/0 for true/false, hence the type test for booleans. */
static void emit_eq(struct sql *q, const char *path, const json_t *v)
{
	if (json_is_null(v)) {
		sql_str(q, "(");
		sql_extract(q, path);
		sql_str(q, " IS NULL)");
	} else if (json_is_boolean(v)) {
		sql_str(q, "(");
		sql_extract(q, path);
		sql_add(q, " = %d AND ", json_is_true(v) ? 1 : 0);
		sql_type(q, path);
		sql_add(q, " = '%s')", json_is_true(v) ? "true" : "false");
	} else {
		emit_typed(q, path, "=", v);
	}
}

/* X IN (?, ...) AND guard, for the values of `arr` that are strings (or numbers). */
static bool emit_in_group(struct sql *q, const char *path, const json_t *arr, bool strings,
			  bool any)
{
	size_t i, n = 0;
	json_t *v;

	json_array_foreach (arr, i, v) {
		if (strings ? !json_is_string(v) : !json_is_number(v))
			continue;
		if (n++ == 0) {
			sql_str(q, any ? " OR (" : "(");
			sql_extract(q, path);
			sql_str(q, " IN (");
		} else {
			sql_str(q, ",");
		}
		sql_bind(q, v);
	}
	if (n == 0)
		return any;
	sql_str(q, ") AND ");
	sql_type(q, path);
	sql_str(q, strings ? " = 'text')" : " IN ('integer','real'))");
	return true;
}

/* $in on a plain path: one IN list per type (so an index serves it), plus null and booleans. */
static void emit_in(struct sql *q, const char *path, const json_t *arr)
{
	bool any = false;
	size_t i;
	json_t *v;

	sql_str(q, "(");
	any = emit_in_group(q, path, arr, true, any);
	any = emit_in_group(q, path, arr, false, any);
	json_array_foreach (arr, i, v) {
		if (!json_is_null(v) && !json_is_boolean(v))
			continue;
		if (any)
			sql_str(q, " OR ");
		emit_eq(q, path, v);
		any = true;
	}
	sql_str(q, any ? ")" : "0)");
}

/* A condition on one element `j` of json_each. */
static void emit_elem(struct sql *q, const char *cmp, const json_t *v)
{
	if (json_is_null(v)) {
		sql_str(q, "j.type = 'null'");
	} else if (json_is_boolean(v)) {
		sql_str(q, json_is_true(v) ? "j.type = 'true'" : "j.type = 'false'");
	} else {
		sql_str(q,
			json_is_string(v) ? "(j.type = 'text'" : "(j.type IN ('integer','real')");
		sql_add(q, " AND j.value %s ", cmp);
		sql_bind(q, v);
		sql_str(q, ")");
	}
}

/* EXISTS over the elements of an array path. json_each yields one row for a scalar, so a
 * scalar there is compared as itself, as MongoDB does; object members (text keys) are not
 * elements. */
static void emit_each_open(struct sql *q, const char *path)
{
	sql_str(q, "EXISTS(SELECT 1 FROM json_each(data,");
	sql_path_literal(q, path);
	sql_str(q, ") AS j WHERE typeof(j.key) <> 'text' AND (");
}

/* $eq / $in on an array path: some element equals one of the values; null also matches a
 * missing field. */
static void emit_array_in(struct sql *q, const char *path, const json_t *vals, size_t n)
{
	bool has_null = false;

	sql_str(q, "(");
	emit_each_open(q, path);
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_is_array(vals) ? json_array_get(vals, i) : vals;

		has_null |= json_is_null(v);
		if (i > 0)
			sql_str(q, " OR ");
		emit_elem(q, "=", v);
	}
	sql_str(q, n == 0 ? "0))" : "))");
	if (has_null) {
		sql_str(q, " OR ");
		sql_type(q, path);
		sql_str(q, " IS NULL");
	}
	sql_str(q, ")");
}

static void emit_membership(struct sql *q, const struct filter_node *f)
{
	bool list = f->op == FILTER_IN || f->op == FILTER_NIN;

	if (f->path_is_array)
		emit_array_in(q, f->path, f->value, list ? json_array_size(f->value) : 1);
	else if (list)
		emit_in(q, f->path, f->value);
	else
		emit_eq(q, f->path, f->value);
}

static const char *cmp_of(enum filter_op op)
{
	switch (op) {
	case FILTER_GT:
		return ">";
	case FILTER_GTE:
		return ">=";
	case FILTER_LT:
		return "<";
	default:
		return "<=";
	}
}

static void emit_node(struct sql *q, const struct filter_node *f);

static void emit_leaf(struct sql *q, const struct filter_node *f)
{
	switch (f->op) {
	case FILTER_EQ:
	case FILTER_IN:
		emit_membership(q, f);
		break;
	case FILTER_NE:
	case FILTER_NIN:
		/* Not a null-safe match: a missing field matches $ne, as in MongoDB. */
		sql_str(q, "NOT IFNULL(");
		emit_membership(q, f);
		sql_str(q, ", 0)");
		break;
	case FILTER_GT:
	case FILTER_GTE:
	case FILTER_LT:
	case FILTER_LTE:
		if (!f->path_is_array) {
			emit_typed(q, f->path, cmp_of(f->op), f->value);
			break;
		}
		emit_each_open(q, f->path);
		emit_elem(q, cmp_of(f->op), f->value);
		sql_str(q, "))");
		break;
	case FILTER_EXISTS:
		sql_str(q, "(");
		sql_type(q, f->path);
		sql_str(q, json_is_true(f->value) ? " IS NOT NULL)" : " IS NULL)");
		break;
	default:
		emit_node(q, f);
		break;
	}
}

static void emit_node(struct sql *q, const struct filter_node *f)
{
	if (f->op == FILTER_TRUE) {
		sql_str(q, "1");
		return;
	}
	if (f->op != FILTER_AND && f->op != FILTER_OR) {
		emit_leaf(q, f);
		return;
	}
	sql_str(q, "(");
	for (size_t i = 0; i < f->nkids; i++) {
		if (i > 0)
			sql_str(q, f->op == FILTER_AND ? " AND " : " OR ");
		emit_node(q, &f->kids[i]);
	}
	sql_str(q, ")");
}

/* " FROM "coll" WHERE ... [ORDER BY ...] [LIMIT n]" for a query. */
static void emit_query_tail(struct sql *q, const struct store_query *sq, bool order)
{
	sql_add(q, " FROM \"%s\" WHERE ", sq->coll->name);
	emit_node(q, sq->filter);
	if (order) {
		sql_str(q, " ORDER BY ");
		for (size_t i = 0; i < sq->nsort; i++) {
			if (i > 0)
				sql_str(q, ", ");
			sql_extract(q, sq->sort[i].path);
			sql_str(q, sq->sort[i].dir > 0 ? " ASC" : " DESC");
		}
	}
	if (sq->limit > 0)
		sql_add(q, " LIMIT %zu", sq->limit);
}

/* Maps a failed SQLite call to our codes; never quotes document contents. */
static int db_err(sqlite3 *db, int rc, struct err *e)
{
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	const char *ix;

	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
		/* "UNIQUE constraint failed: index 'name'" for our expression indexes, else the
		 * id column. */
		ix = strstr(msg, "index '");
		if (ix == NULL)
			return err_set(e, ERR_DUPLICATE, "duplicate key for index _id");
		ix += strlen("index '");
		return err_set(e, ERR_DUPLICATE, "duplicate key for index %.*s",
			       (int)strcspn(ix, "'"), ix);
	}
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return err_set(e, ERR_TIMEOUT, "sqlite: database is locked: %s", msg);
	return err_set(e, ERR_IO, "sqlite: %s", msg);
}

/* Prepared statements stay on their connection after use, reset, and are found again by their
 * SQL text: sqlite3_next_stmt() walks a connection's statements, so the cache needs no state
 * of its own. A query shape (the same filter, sort and limit with other values) is then
 * compiled once per connection. At most STORE_SQLITE_STMT_CACHE are kept per connection. */
static sqlite3_stmt *stmt_cached(sqlite3 *db, const char *text)
{
	sqlite3_stmt *st = NULL;

	while ((st = sqlite3_next_stmt(db, st)) != NULL)
		if (!sqlite3_stmt_busy(st) && strcmp(sqlite3_sql(st), text) == 0)
			return st;
	return NULL;
}

/* Ends one use of a statement from prepare(): keeps it for reuse or finalizes it. */
static void stmt_release(sqlite3_stmt *st)
{
	sqlite3 *db;
	sqlite3_stmt *it = NULL;
	size_t n = 0;

	if (st == NULL)
		return;
	db = sqlite3_db_handle(st);
	/* reset reports the last step's error again, which the caller has already handled. */
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
	while ((it = sqlite3_next_stmt(db, it)) != NULL)
		n++;
	if (n > STORE_SQLITE_STMT_CACHE)
		sqlite3_finalize(st);
}

/* Finalizes every statement of a connection, then closes it. */
static void conn_close(sqlite3 *db)
{
	sqlite3_stmt *st;

	while ((st = sqlite3_next_stmt(db, NULL)) != NULL)
		sqlite3_finalize(st);
	/* With every statement finalized, close cannot report busy. */
	(void)sqlite3_close(db);
}

static int prepare(sqlite3 *db, const struct sql *q, sqlite3_stmt **st, struct err *e)
{
	int rc = SQLITE_OK;

	*st = stmt_cached(db, q->text);
	if (*st == NULL)
		rc = sqlite3_prepare_v3(db, q->text, (int)q->len + 1, SQLITE_PREPARE_PERSISTENT, st,
					NULL);

	if (rc != SQLITE_OK)
		return db_err(db, rc, e);
	for (size_t i = 0; i < q->nbinds && rc == SQLITE_OK; i++) {
		const json_t *v = q->binds[i];
		int idx = (int)i + 1;

		if (json_is_string(v))
			rc = sqlite3_bind_text(*st, idx, json_string_value(v),
					       (int)json_string_length(v), SQLITE_STATIC);
		else if (json_is_integer(v))
			rc = sqlite3_bind_int64(*st, idx, json_integer_value(v));
		else
			rc = sqlite3_bind_double(*st, idx, json_number_value(v));
	}
	if (rc == SQLITE_OK)
		return 0;
	db_err(db, rc, e);
	sqlite3_finalize(*st);
	*st = NULL;
	return -1;
}

/* Runs a statement that returns no rows we need. */
static int exec_sql(sqlite3 *db, const char *text, struct err *e)
{
	int rc = sqlite3_exec(db, text, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_err(db, rc, e);
}

/* The first column of the first row of `text`, copied into out. */
static int query_text(sqlite3 *db, const char *text, char *out, size_t outsz, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, text, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return db_err(db, rc, e);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(out, outsz, "%s", (const char *)sqlite3_column_text(st, 0));
	else if (rc == SQLITE_DONE)
		out[0] = '\0';
	else
		db_err(db, rc, e);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* WAL lets readers run beside the writer; switching to it takes a lock, hence the retries. */
static int conn_setup(const struct sqlite_impl *impl, sqlite3 *db, struct err *e)
{
	struct err local = {0};
	char mode[16];
	int tries = 0;

	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, impl->busy_ms);
	while (query_text(db, "PRAGMA journal_mode=WAL", mode, sizeof(mode), &local) != 0) {
		if (local.code != ERR_TIMEOUT || ++tries == STORE_SQLITE_BEGIN_TRIES)
			return err_set(e, local.code, "%s", local.msg);
	}
	if (strcmp(mode, "wal") != 0)
		return err_set(e, ERR_UNAVAILABLE, "sqlite: WAL journal mode is not available");
	return exec_sql(
		db, impl->sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", e);
}

static int conn_open(const struct sqlite_impl *impl, sqlite3 **out, struct err *e)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(impl->path, &db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				 NULL);

	*out = NULL;
	if (rc != SQLITE_OK) {
		err_set(e, ERR_UNAVAILABLE, "sqlite: cannot open the database: %s",
			db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		conn_close(db);
		return -1;
	}
	if (conn_setup(impl, db, e) != 0) {
		conn_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

/* Takes an idle connection, opens one while under pool_max, or waits for one. */
static int conn_borrow(struct sqlite_impl *impl, sqlite3 **db, struct err *e)
{
	bool open_new = false;

	*db = NULL;
	lock(&impl->mu);
	while (impl->nidle == 0 && impl->nopen >= impl->pool_max)
		if (pthread_cond_wait(&impl->cv, &impl->mu) != 0)
			abort();
	if (impl->nidle > 0) {
		*db = impl->idle[--impl->nidle];
	} else {
		impl->nopen++;
		open_new = true;
	}
	unlock(&impl->mu);
	if (!open_new || conn_open(impl, db, e) == 0)
		return 0;
	lock(&impl->mu);
	impl->nopen--;
	pthread_cond_signal(&impl->cv);
	unlock(&impl->mu);
	return -1;
}

static void conn_return(struct sqlite_impl *impl, sqlite3 *db)
{
	/* A transaction left open by a failed path must not leak into the next borrower. */
	if (!sqlite3_get_autocommit(db) && exec_sql(db, "ROLLBACK", NULL) != 0) {
		conn_close(db);
		lock(&impl->mu);
		impl->nopen--;
		pthread_cond_signal(&impl->cv);
		unlock(&impl->mu);
		return;
	}
	lock(&impl->mu);
	impl->idle[impl->nidle++] = db;
	pthread_cond_signal(&impl->cv);
	unlock(&impl->mu);
}

/* Borrows a connection, takes the process's write turn and opens BEGIN IMMEDIATE, which
 * takes the database's write lock now, so busy_timeout applies here and never as an instant
 * SQLITE_BUSY when a read would later upgrade to a write. */
static int write_begin(struct sqlite_impl *impl, sqlite3 **db, struct err *e)
{
	int rc = SQLITE_BUSY;

	if (conn_borrow(impl, db, e) != 0)
		return -1;
	lock(&impl->write_mu);
	for (int i = 0; i < STORE_SQLITE_BEGIN_TRIES && (rc & 0xff) == SQLITE_BUSY; i++)
		rc = sqlite3_exec(*db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		return 0;
	db_err(*db, rc, e);
	unlock(&impl->write_mu);
	conn_return(impl, *db);
	*db = NULL;
	return -1;
}

/* Commits when rc is 0, else rolls back; releases what write_begin took. */
static int write_end(struct sqlite_impl *impl, sqlite3 *db, int rc, struct err *e)
{
	if (rc == 0 && exec_sql(db, "COMMIT", e) != 0)
		rc = -1;
	if (!sqlite3_get_autocommit(db) && exec_sql(db, "ROLLBACK", NULL) != 0)
		/* conn_return closes a connection that still has a transaction open. */
		rc = -1;
	unlock(&impl->write_mu);
	conn_return(impl, db);
	return rc;
}

/* Parses the "?k=v&..." part of the URI into impl. */
static int parse_option(struct sqlite_impl *impl, const char *key, const char *val, struct err *e)
{
	char *end = NULL;
	long long n;

	if (strcmp(key, "synchronous") == 0) {
		if (strcmp(val, "full") != 0 && strcmp(val, "normal") != 0)
			return err_set(e, ERR_INVALID, "sqlite URI: synchronous is full or normal");
		impl->sync_full = strcmp(val, "full") == 0;
		return 0;
	}
	errno = 0;
	n = strtoll(val, &end, 10);
	if (errno != 0 || end == val || *end != '\0')
		return err_set(e, ERR_INVALID, "sqlite URI: %.32s needs an integer", key);
	if (strcmp(key, "busy_timeout_ms") == 0 && n >= 0 && n <= STORE_SQLITE_MAX_BUSY_MS) {
		impl->busy_ms = (int)n;
		return 0;
	}
	if (strcmp(key, "pool") == 0 && n >= 1 && n <= STORE_SQLITE_MAX_POOL) {
		impl->pool_max = (size_t)n;
		return 0;
	}
	return err_set(e, ERR_INVALID, "sqlite URI: unknown option or value out of range: %.32s",
		       key);
}

static int parse_options(struct sqlite_impl *impl, char *query, struct err *e)
{
	char *save = NULL, *kv, *eq;

	for (kv = strtok_r(query, "&", &save); kv != NULL; kv = strtok_r(NULL, "&", &save)) {
		eq = strchr(kv, '=');
		if (eq == NULL)
			return err_set(e, ERR_INVALID, "sqlite URI: option without '='");
		*eq = '\0';
		if (parse_option(impl, kv, eq + 1, e) != 0)
			return -1;
	}
	return 0;
}

static int parse_uri(struct sqlite_impl *impl, const char *uri, struct err *e)
{
	const char *rest = uri + strlen("sqlite:");
	char *query = NULL;

	impl->busy_ms = STORE_SQLITE_DEFAULT_BUSY_MS;
	impl->sync_full = true;
	impl->pool_max = STORE_SQLITE_DEFAULT_POOL;
	if (strncmp(rest, "//", 2) == 0) {
		/* "sqlite:///abs": an empty authority, then an absolute path. */
		if (rest[2] != '/')
			return err_set(e, ERR_INVALID,
				       "sqlite URI: use sqlite:PATH or sqlite:///ABS");
		rest += 2;
	}
	impl->path = strdup(rest);
	if (impl->path == NULL)
		abort();
	query = strchr(impl->path, '?');
	if (query != NULL)
		*query++ = '\0';
	if (impl->path[0] == '\0' || strcmp(impl->path, ":memory:") == 0)
		return err_set(e, ERR_INVALID, "sqlite URI: a database file path is required");
	return query ? parse_options(impl, query, e) : 0;
}

static void sqlite_close(struct store *s)
{
	struct sqlite_impl *impl = impl_of(s);

	if (impl == NULL)
		return;
	for (size_t i = 0; i < impl->nidle; i++)
		conn_close(impl->idle[i]);
	if (impl->rev_db != NULL)
		conn_close(impl->rev_db); /* finalizes rev_st too */
	pthread_mutex_destroy(&impl->mu);
	pthread_mutex_destroy(&impl->write_mu);
	pthread_mutex_destroy(&impl->rev_mu);
	pthread_cond_destroy(&impl->cv);
	free(impl->path);
	free(impl);
	s->impl = NULL;
}

static int sqlite_open(struct store *s, const char *uri, struct err *e)
{
	struct sqlite_impl *impl = calloc(1, sizeof(*impl));
	sqlite3 *db = NULL;

	if (impl == NULL)
		abort();
	if (pthread_mutex_init(&impl->mu, NULL) != 0 ||
	    pthread_mutex_init(&impl->write_mu, NULL) != 0 ||
	    pthread_mutex_init(&impl->rev_mu, NULL) != 0 || pthread_cond_init(&impl->cv, NULL) != 0)
		abort();
	s->impl = impl;
	/* One connection now, so a bad path or a locked file fails the open, not a later call. */
	if (parse_uri(impl, uri, e) != 0 || conn_borrow(impl, &db, e) != 0) {
		sqlite_close(s);
		return -1;
	}
	conn_return(impl, db);
	return 0;
}

static int sqlite_ping(struct store *s, struct err *e)
{
	struct sqlite_impl *impl = impl_of(s);
	sqlite3 *db = NULL;
	char one[8];
	int rc;

	if (conn_borrow(impl, &db, e) != 0)
		return -1;
	rc = query_text(db, "SELECT 1", one, sizeof(one), e);
	conn_return(impl, db);
	return rc;
}

/* Opens rev_db and its statement on first use; called with rev_mu held. */
static int rev_open(struct sqlite_impl *impl, struct err *e)
{
	int rc;

	if (impl->rev_st != NULL)
		return 0;
	if (impl->rev_db == NULL && conn_open(impl, &impl->rev_db, e) != 0)
		return -1;
	rc = sqlite3_prepare_v3(impl->rev_db, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT,
				&impl->rev_st, NULL);
	return rc == SQLITE_OK ? 0 : db_err(impl->rev_db, rc, e);
}

static int sqlite_revision(struct store *s, uint64_t *rev, struct err *e)
{
	struct sqlite_impl *impl = impl_of(s);
	int64_t seen;
	int rc = -1, step;

	lock(&impl->rev_mu);
	if (rev_open(impl, e) != 0)
		goto out;
	step = sqlite3_step(impl->rev_st);
	if (step != SQLITE_ROW) {
		db_err(impl->rev_db, step, e);
		goto out;
	}
	seen = sqlite3_column_int64(impl->rev_st, 0);
	/* Drawn from one counter for every store of the process, so two stores never share a
	 * revision; 0 is never one. */
	if (impl->rev == 0 || seen != impl->rev_seen) {
		impl->rev_seen = seen;
		impl->rev = atomic_fetch_add(&revisions, 1) + 1;
	}
	*rev = impl->rev;
	rc = 0;
out:
	if (impl->rev_st != NULL)
		/* The step's error, if any, was reported above. */
		(void)sqlite3_reset(impl->rev_st);
	unlock(&impl->rev_mu);
	return rc;
}

static int sqlite_verify(struct store *s, struct err *e)
{
	struct sqlite_impl *impl = impl_of(s);
	sqlite3 *db = NULL;
	char result[ERR_MSG_MAX];
	int rc;

	if (conn_borrow(impl, &db, e) != 0)
		return -1;
	rc = query_text(db, "PRAGMA integrity_check", result, sizeof(result), e);
	conn_return(impl, db);
	if (rc == 0 && strcmp(result, "ok") != 0)
		return err_set(e, ERR_IO, "sqlite integrity_check: %.200s", result);
	return rc;
}

static void index_ddl(struct sql *q, const struct store_collection *c, const struct store_index *ix)
{
	const char *first = ix->keys[0][0] == '-' ? ix->keys[0] + 1 : ix->keys[0];

	sql_add(q, "CREATE %sINDEX IF NOT EXISTS \"%s\" ON \"%s\" (", ix->unique ? "UNIQUE " : "",
		ix->name, c->name);
	for (size_t k = 0; k < STORE_MAX_INDEX_KEYS && ix->keys[k] != NULL; k++) {
		bool desc = ix->keys[k][0] == '-';

		if (k > 0)
			sql_str(q, ", ");
		sql_extract(q, desc ? ix->keys[k] + 1 : ix->keys[k]);
		if (desc)
			sql_str(q, " DESC");
	}
	sql_str(q, ")");
	if (ix->sparse) {
		sql_str(q, " WHERE ");
		sql_extract(q, first);
		sql_str(q, " IS NOT NULL");
	}
}

static int sqlite_ensure_collection(struct store *s, const struct store_collection *c,
				    struct err *e)
{
	struct sqlite_impl *impl = impl_of(s);
	struct sql q = {0};
	sqlite3 *db = NULL;
	int rc = 0;

	if (write_begin(impl, &db, e) != 0)
		return -1;
	sql_add(&q,
		"CREATE TABLE IF NOT EXISTS \"%s\" (rid INTEGER PRIMARY KEY, "
		"id TEXT NOT NULL UNIQUE, data TEXT NOT NULL)",
		c->name);
	rc = exec_sql(db, q.text, e);
	for (const struct store_index *ix = c->indexes; rc == 0 && ix && ix->name; ix++) {
		q.len = 0;
		index_ddl(&q, c, ix);
		rc = exec_sql(db, q.text, e);
	}
	sql_free(&q);
	return write_end(impl, db, rc, e);
}

/* Runs a statement to completion; *changes (may be NULL) gets the rows it changed. */
static int run(sqlite3 *db, const struct sql *q, size_t *changes, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (prepare(db, q, &st, e) != 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	stmt_release(st);
	if (rc != SQLITE_DONE)
		return db_err(db, rc, e);
	if (changes != NULL)
		*changes = (size_t)sqlite3_changes64(db);
	return 0;
}

static int insert_doc(sqlite3 *db, const struct store_collection *c, const json_t *doc,
		      struct err *e)
{
	struct sql q = {0};
	size_t len = 0;
	char *text = jsonx_dumps_compact(doc, &len);
	json_t *data = json_stringn_nocheck(text, len);
	int rc;

	if (data == NULL)
		abort();
	sql_add(&q, "INSERT INTO \"%s\" (id, data) VALUES (", c->name);
	sql_bind(&q, json_object_get(doc, "_id"));
	sql_str(&q, ", ");
	sql_bind(&q, data);
	sql_str(&q, ")");
	rc = run(db, &q, NULL, e);
	sql_free(&q);
	json_decref(data);
	free(text);
	return rc;
}

static int sqlite_insert(struct store *s, const struct store_collection *c, const json_t *doc,
			 struct err *e)
{
	struct sqlite_impl *impl = impl_of(s);
	sqlite3 *db = NULL;

	if (write_begin(impl, &db, e) != 0)
		return -1;
	return write_end(impl, db, insert_doc(db, c, doc, e), e);
}

/* A stored document back into JSON; a failure means the file was changed behind our back. */
static json_t *load_doc(sqlite3_stmt *st, int col, struct err *e)
{
	const char *text = (const char *)sqlite3_column_text(st, col);
	json_t *doc = NULL;

	if (text != NULL)
		doc = jsonx_loadb(text, (size_t)sqlite3_column_bytes(st, col), STORE_MAX_DOC_BYTES,
				  STORE_MAX_DEPTH, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc);
		err_set(e, ERR_IO, "sqlite: a stored document is not a JSON object");
		return NULL;
	}
	return doc;
}

static int sqlite_find(struct store *s, const struct store_query *sq, json_t **docs, struct err *e)
{
	struct sqlite_impl *impl = impl_of(s);
	struct sql q = {0};
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array(), *doc;
	int rc = -1, step;

	*docs = NULL;
	if (sq->fields == NULL) {
		sql_str(&q, "SELECT data");
	} else {
		/* "->" keeps each value's JSON type (json_extract would turn true into 1); names
		 * were validated as [A-Za-z_][A-Za-z0-9_]*, so they can stand in the literals. */
		sql_str(&q, "SELECT json_object(");
		for (size_t i = 0; sq->fields[i] != NULL; i++)
			sql_add(&q, "%s'%s', data -> '$.%s'", i > 0 ? ", " : "", sq->fields[i],
				sq->fields[i]);
		sql_str(&q, ")");
	}
	emit_query_tail(&q, sq, true);
	if (conn_borrow(impl, &db, e) != 0)
		goto done;
	if (prepare(db, &q, &st, e) != 0)
		goto done;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if ((doc = load_doc(st, 0, e)) == NULL)
			goto done;
		json_array_append_new(arr, doc);
	}
	if (step != SQLITE_DONE) {
		db_err(db, step, e);
		goto done;
	}
	*docs = arr;
	arr = NULL;
	rc = 0;
done:
	stmt_release(st);
	if (db != NULL)
		conn_return(impl, db);
	json_decref(arr);
	sql_free(&q);
	return rc;
}

static int sqlite_count(struct store *s, const struct store_query *sq, size_t *n, struct err *e)
{
	struct sqlite_impl *impl = impl_of(s);
	struct sql q = {0};
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	*n = 0;
	sql_str(&q, "SELECT count(*)");
	emit_query_tail(&q, sq, false);
	if (conn_borrow(impl, &db, e) != 0)
		goto done;
	if (prepare(db, &q, &st, e) != 0)
		goto done;
	step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		db_err(db, step, e);
		goto done;
	}
	*n = (size_t)sqlite3_column_int64(st, 0);
	rc = 0;
done:
	stmt_release(st);
	if (db != NULL)
		conn_return(impl, db);
	sql_free(&q);
	return rc;
}

/* The rids of the query's matches, in its order: collected before any row changes. */
static int select_rids(sqlite3 *db, const struct store_query *sq, int64_t **rids, size_t *n,
		       struct err *e)
{
	struct sql q = {0};
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int step;

	*rids = NULL;
	*n = 0;
	sql_str(&q, "SELECT rid");
	emit_query_tail(&q, sq, true);
	if (prepare(db, &q, &st, e) != 0) {
		sql_free(&q);
		return -1;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*rids = realloc(*rids, cap * sizeof(**rids));
			if (*rids == NULL)
				abort();
		}
		(*rids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	stmt_release(st);
	sql_free(&q);
	return step == SQLITE_DONE ? 0 : db_err(db, step, e);
}

static int load_rid(sqlite3 *db, const struct store_collection *c, int64_t rid, json_t **doc,
		    struct err *e)
{
	struct sql q = {0};
	sqlite3_stmt *st = NULL;
	json_t *key = json_integer(rid);
	int step;

	*doc = NULL;
	sql_add(&q, "SELECT data FROM \"%s\" WHERE rid = ", c->name);
	sql_bind(&q, key);
	if (prepare(db, &q, &st, e) == 0) {
		step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			*doc = load_doc(st, 0, e);
		else
			db_err(db, step, e);
	}
	stmt_release(st);
	sql_free(&q);
	json_decref(key);
	return *doc ? 0 : -1;
}

static int store_rid(sqlite3 *db, const struct store_collection *c, int64_t rid, const json_t *doc,
		     struct err *e)
{
	struct sql q = {0};
	size_t len = 0;
	char *text = jsonx_dumps_compact(doc, &len);
	json_t *data = json_stringn_nocheck(text, len), *key = json_integer(rid);
	int rc;

	if (data == NULL || key == NULL)
		abort();
	sql_add(&q, "UPDATE \"%s\" SET data = ", c->name);
	sql_bind(&q, data);
	sql_str(&q, " WHERE rid = ");
	sql_bind(&q, key);
	rc = run(db, &q, NULL, e);
	sql_free(&q);
	json_decref(data);
	json_decref(key);
	free(text);
	return rc;
}

/* Loads one row, applies u to a copy and writes it back. *old and *updated are new
 * references (either may be NULL when the caller does not want it). */
static int update_rid(sqlite3 *db, const struct store_collection *c, int64_t rid,
		      const struct update *u, json_t **old, json_t **updated, struct err *e)
{
	json_t *before = NULL, *after = NULL;
	int rc = -1;

	if (load_rid(db, c, rid, &before, e) != 0)
		goto done;
	after = json_deep_copy(before);
	if (after == NULL)
		abort();
	if (update_apply(u, after, e) != 0 || store_check_doc(after, e) != 0)
		goto done;
	/* An update that changes nothing is not written (MongoDB counts it as matched too). */
	if (!json_equal(before, after) && store_rid(db, c, rid, after, e) != 0)
		goto done;
	rc = 0;
done:
	if (rc == 0 && old != NULL)
		*old = json_incref(before);
	if (rc == 0 && updated != NULL)
		*updated = json_incref(after);
	json_decref(before);
	json_decref(after);
	return rc;
}

static int upsert(sqlite3 *db, const struct store_query *sq, const struct update *u,
		  json_t **inserted, struct err *e)
{
	json_t *doc = NULL;

	if (update_upsert_doc(sq->filter, u, &doc, e) != 0)
		return -1;
	if (insert_doc(db, sq->coll, doc, e) != 0) {
		json_decref(doc);
		return -1;
	}
	*inserted = doc;
	return 0;
}

static int sqlite_find_one_and_update(struct store *s, const struct store_query *sq,
				      const struct update *u, const json_t *update_json,
				      unsigned flags, json_t **doc, struct err *e)
{
	struct sqlite_impl *impl = impl_of(s);
	sqlite3 *db = NULL;
	int64_t *rids = NULL;
	size_t n = 0;
	json_t *old = NULL, *updated = NULL;
	int rc;

	/* The parsed update says everything; the JSON is for backends that send it as is. */
	(void)update_json;
	*doc = NULL;
	if (write_begin(impl, &db, e) != 0)
		return -1;
	rc = select_rids(db, sq, &rids, &n, e);
	if (rc == 0 && n > 0)
		rc = update_rid(db, sq->coll, rids[0], u, &old, &updated, e);
	else if (rc == 0 && (flags & STORE_UPSERT))
		rc = upsert(db, sq, u, &updated, e);
	free(rids);
	rc = write_end(impl, db, rc, e);
	if (rc == 0)
		*doc = json_incref((flags & STORE_RETURN_OLD) ? old : updated);
	json_decref(old);
	json_decref(updated);
	return rc;
}

static int sqlite_update(struct store *s, const struct store_query *sq, const struct update *u,
			 const json_t *update_json, bool many, size_t *matched, struct err *e)
{
	struct sqlite_impl *impl = impl_of(s);
	sqlite3 *db = NULL;
	int64_t *rids = NULL;
	size_t n = 0;
	int rc;

	(void)update_json; /* as in find_one_and_update */
	(void)many;        /* already in sq->limit */
	*matched = 0;
	if (write_begin(impl, &db, e) != 0)
		return -1;
	rc = select_rids(db, sq, &rids, &n, e);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = update_rid(db, sq->coll, rids[i], u, NULL, NULL, e);
	free(rids);
	rc = write_end(impl, db, rc, e);
	if (rc == 0)
		*matched = n;
	return rc;
}

static int sqlite_delete(struct store *s, const struct store_query *sq, bool many, size_t *deleted,
			 struct err *e)
{
	struct sqlite_impl *impl = impl_of(s);
	struct sql q = {0};
	sqlite3 *db = NULL;
	size_t n = 0;
	int rc;

	*deleted = 0;
	if (many) {
		sql_str(&q, "DELETE");
		emit_query_tail(&q, sq, false);
	} else {
		sql_add(&q, "DELETE FROM \"%s\" WHERE rid IN (SELECT rid", sq->coll->name);
		emit_query_tail(&q, sq, true);
		sql_str(&q, ")");
	}
	if (write_begin(impl, &db, e) != 0) {
		sql_free(&q);
		return -1;
	}
	rc = write_end(impl, db, run(db, &q, &n, e), e);
	if (rc == 0)
		*deleted = n;
	sql_free(&q);
	return rc;
}

const struct store_backend store_backend_sqlite = {
	.name = "sqlite",
	.open = sqlite_open,
	.close = sqlite_close,
	.ping = sqlite_ping,
	.verify = sqlite_verify,
	.revision = sqlite_revision,
	.ensure_collection = sqlite_ensure_collection,
	.insert = sqlite_insert,
	.find = sqlite_find,
	.find_one_and_update = sqlite_find_one_and_update,
	.update = sqlite_update,
	.delete = sqlite_delete,
	.count = sqlite_count,
};
