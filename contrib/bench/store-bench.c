/* store-bench: document store throughput (insert, get by id, find by index, update) at 1, 2
 * and 8 threads, against a baseline of raw SQLite statements measured in the same run.
 *
 * Each operation runs for a fixed count per thread over documents shaped like the data
 * model's apps ({workspaceId, name, createdAt, counter}). The baseline does the same work with
 * hand-written prepared statements on one connection (rows parsed with jansson, as a caller needs
 * them), so the ratio is the cost of the store's layer (validation, translation, pooling,
 * cursors), not of the machine. With SECOND_TEST_MONGODB_URI
 * set the MongoDB backend is measured too (no raw baseline for it). */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "lib/ids.h"
#include "lib/store.h"
#include "lib/timeutil.h"

#define BENCH_WORKSPACES 50
#define BENCH_PAGE 20

static const struct store_index bench_indexes[] = {
	{.name = "bench_apps_workspace_created", .keys = {"workspaceId", "-createdAt"}},
	{.name = NULL},
};
static const struct store_collection bench_colls[] = {
	{.name = "bench_apps", .indexes = bench_indexes},
};
static const struct store_schema bench_schema = {bench_colls, 1};

enum op { OP_INSERT, OP_GET, OP_FIND, OP_UPDATE, OP_COUNT };
static const char *const op_names[] = {"insert", "get by id", "find by index", "update"};

struct worker {
	struct store *s;
	enum op op;
	int thread, nthreads, count;
	char (*ids)[ID_HEX_LEN + 1]; /* shared: ids[thread * count + i] */
	int failures;
};

static void die(const char *what, const struct err *e)
{
	fprintf(stderr, "store-bench: %s: %s\n", what, e ? e->msg : "");
	exit(1);
}

static json_t *make_doc(const char *id, int i)
{
	char ws[32], when[TIME_ISO_LEN + 1];

	snprintf(ws, sizeof(ws), "ws-%d", i % BENCH_WORKSPACES);
	time_iso8601(1700000000000 + i, when);
	return json_pack("{s:s, s:s, s:s+, s:s, s:i, s:{s:s, s:b}}", "_id", id, "workspaceId", ws,
			 "name", "app ", ws, "createdAt", when, "counter", 0, "runtime", "id",
			 "claude-code", "published", 0);
}

static int one_op(struct worker *w, int i)
{
	const char *id = w->ids[w->thread * w->count + i];
	struct err e = {0};
	json_t *doc = NULL, *filter = NULL, *upd = NULL;
	int rc = -1;

	switch (w->op) {
	case OP_INSERT:
		doc = make_doc(id, w->thread * w->count + i);
		rc = store_insert(w->s, "bench_apps", doc, &e);
		break;
	case OP_GET:
		rc = store_get(w->s, "bench_apps", id, &doc, &e);
		rc = rc == 0 && doc != NULL ? 0 : -1;
		break;
	case OP_FIND: {
		struct store_sort sort = {"createdAt", -1};
		struct store_find_opts o = {.sort = &sort, .nsort = 1, .limit = BENCH_PAGE};
		char ws[32];

		snprintf(ws, sizeof(ws), "ws-%d", i % BENCH_WORKSPACES);
		filter = json_pack("{s:s}", "workspaceId", ws);
		rc = store_find(w->s, "bench_apps", filter, &o, &doc, NULL, &e);
		break;
	}
	case OP_UPDATE:
		filter = json_pack("{s:s}", "_id", id);
		upd = json_pack("{s:{s:i}}", "$inc", "counter", 1);
		rc = store_update_one(w->s, "bench_apps", filter, upd, NULL, &e);
		break;
	default:
		break;
	}
	json_decref(doc);
	json_decref(filter);
	json_decref(upd);
	return rc;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < w->count; i++)
		if (one_op(w, i) != 0)
			w->failures++;
	return NULL;
}

/* Runs `op` on nthreads threads, `count` operations each; returns operations per second. */
static double run_store(struct store *s, enum op op, int nthreads, int count,
			char (*ids)[ID_HEX_LEN + 1])
{
	pthread_t th[8];
	struct worker w[8];
	int64_t t0 = time_mono_ms(), dt;
	int failures = 0;

	for (int t = 0; t < nthreads; t++) {
		w[t] = (struct worker){s, op, t, nthreads, count, ids, 0};
		if (pthread_create(&th[t], NULL, worker_main, &w[t]) != 0)
			die("pthread_create", NULL);
	}
	for (int t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		failures += w[t].failures;
	}
	dt = time_mono_ms() - t0;
	if (failures > 0) {
		fprintf(stderr, "store-bench: %s: %d operations failed\n", op_names[op], failures);
		exit(1);
	}
	return (double)nthreads * count * 1000.0 / (double)(dt > 0 ? dt : 1);
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "store-bench: %s: %s\n", sql, msg);
		exit(1);
	}
}

static sqlite3_stmt *raw_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "store-bench: %s: %s\n", sql, sqlite3_errmsg(db));
		exit(1);
	}
	return st;
}

/* Steps to the end; rows are parsed as documents, as any caller of a read needs them. */
static void raw_step(sqlite3 *db, sqlite3_stmt *st)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *doc = json_loadb((const char *)sqlite3_column_text(st, 0),
					 (size_t)sqlite3_column_bytes(st, 0), 0, NULL);

		if (doc == NULL)
			die("raw row is not JSON", NULL);
		json_decref(doc);
	}
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "store-bench: raw step: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	sqlite3_reset(st);
}

static const char *const raw_sql[] = {
	[OP_INSERT] = "INSERT INTO apps(id, data) VALUES (?1, ?2)",
	[OP_GET] = "SELECT data FROM apps WHERE id = ?1",
	[OP_FIND] = "SELECT data FROM apps WHERE json_extract(data,'$.workspaceId') = ?1 "
		    "ORDER BY json_extract(data,'$.createdAt') DESC, id LIMIT 21",
	[OP_UPDATE] = "UPDATE apps SET data = json_set(data, '$.counter', "
		      "json_extract(data,'$.counter') + 1) WHERE id = ?1",
};

/* The baseline: the same operations as plain prepared statements on one connection. */
static double run_raw(sqlite3 *db, enum op op, int count, char (*ids)[ID_HEX_LEN + 1])
{
	sqlite3_stmt *st = raw_prepare(db, raw_sql[op]);
	int64_t t0 = time_mono_ms(), dt;

	for (int i = 0; i < count; i++) {
		char ws[32];

		if (op == OP_FIND) {
			snprintf(ws, sizeof(ws), "ws-%d", i % BENCH_WORKSPACES);
			sqlite3_bind_text(st, 1, ws, -1, SQLITE_TRANSIENT);
		} else {
			sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_TRANSIENT);
		}
		if (op == OP_INSERT) {
			json_t *doc = make_doc(ids[i], i);
			char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

			sqlite3_bind_text(st, 2, text, -1, free);
			json_decref(doc);
		}
		if (op == OP_UPDATE)
			raw_exec(db, "BEGIN IMMEDIATE");
		raw_step(db, st);
		if (op == OP_UPDATE)
			raw_exec(db, "COMMIT");
	}
	dt = time_mono_ms() - t0;
	sqlite3_finalize(st);
	return count * 1000.0 / (double)(dt > 0 ? dt : 1);
}

static double baseline(const char *dir, enum op op, int count, char (*ids)[ID_HEX_LEN + 1])
{
	static sqlite3 *db;
	char path[1024];

	if (db == NULL) {
		snprintf(path, sizeof(path), "%s/raw.db", dir);
		if (sqlite3_open(path, &db) != SQLITE_OK)
			die("open raw baseline", NULL);
		raw_exec(db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "CREATE TABLE apps (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
			 " data TEXT NOT NULL);"
			 "CREATE INDEX apps_ws_created ON apps (json_extract(data,'$.workspaceId'),"
			 " json_extract(data,'$.createdAt') DESC);");
	}
	return run_raw(db, op, count, ids);
}

static void bench_backend(const char *label, const char *uri, const char *dir, int count,
			  int with_baseline)
{
	static const int threads[] = {1, 2, 8};
	double base[OP_COUNT] = {0};
	char(*ids)[ID_HEX_LEN + 1] = calloc((size_t)8 * count, sizeof(*ids));

	if (ids == NULL)
		abort();
	for (int i = 0; i < 8 * count; i++)
		id_new(ids[i]);
	if (with_baseline) {
		for (int op = 0; op < OP_COUNT; op++)
			base[op] = baseline(dir, (enum op)op, count, ids);
		printf("%-8s %-14s %7s %12s\n", "raw", "operation", "threads", "ops/s");
		for (int op = 0; op < OP_COUNT; op++)
			printf("%-8s %-14s %7d %12.0f\n", "sqlite3", op_names[op], 1, base[op]);
		printf("\n");
	}
	printf("%-8s %-14s %7s %12s %10s\n", "store", "operation", "threads", "ops/s",
	       with_baseline ? "vs raw" : "");
	for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
		struct store *s = NULL;
		struct err e = {0};
		char turi[1200];

		/* A fresh store per thread count, so inserts always start from empty. */
		if (strncmp(uri, "sqlite:", 7) == 0)
			snprintf(turi, sizeof(turi), "%s-%d.db", uri, threads[t]);
		else
			snprintf(turi, sizeof(turi), "%s", uri);
		if (store_open(turi, &bench_schema, &s, &e) != 0)
			die("store_open", &e);
		if (strncmp(uri, "sqlite:", 7) != 0) {
			json_t *all = json_object();
			size_t n;

			if (store_delete_many(s, "bench_apps", all, &n, &e) != 0)
				die("clear", &e);
			json_decref(all);
		}
		for (int op = 0; op < OP_COUNT; op++) {
			double r = run_store(s, (enum op)op, threads[t], count, ids);

			if (with_baseline)
				printf("%-8s %-14s %7d %12.0f %9.2fx\n", label, op_names[op],
				       threads[t], r, r / base[op]);
			else
				printf("%-8s %-14s %7d %12.0f\n", label, op_names[op], threads[t],
				       r);
		}
		store_close(s);
	}
	printf("\n");
	free(ids);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : NULL;
	const char *mongo = getenv("SECOND_TEST_MONGODB_URI");
	int count = argc > 2 ? atoi(argv[2]) : 5000;
	char uri[1100];

	if (dir == NULL || count < 1 || count > 1000000) {
		fprintf(stderr, "usage: store-bench DIR [OPS_PER_THREAD]\n");
		return 2;
	}
	printf("store-bench: %d operations per thread, ratios against raw sqlite3 statements "
	       "(1 thread) measured in this run\n\n",
	       count);
	snprintf(uri, sizeof(uri), "sqlite:%s/store", dir);
	bench_backend("sqlite", uri, dir, count, 1);
	if (mongo != NULL && *mongo != '\0')
		bench_backend("mongodb", mongo, dir, count, 0);
	else
		printf("mongodb: not measured (set SECOND_TEST_MONGODB_URI)\n");
	return 0;
}
