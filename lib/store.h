/* The document store: collections of JSON documents behind one narrow interface.
 *
 * A store is opened from a URI ("sqlite:PATH", "sqlite:///ABS/PATH", "mongodb://...") with a
 * schema that declares every collection, the paths in it that hold arrays, and its indexes.
 * Opening creates what is missing (tables, indexes) and is safe to run from many processes.
 * One `struct store` is shared by all threads of a process.
 *
 * Documents are JSON objects with a string "_id". Dates are ISO-8601 UTC strings of fixed width
 * ("2026-11-23T04:17:00.123Z"), so string order is time order on both backends.
 *
 * Filters are a MongoDB query subset: {"path": value} (implicit $eq), and the operators $eq,
 * $ne, $in, $nin, $gt, $gte, $lt, $lte, $exists, $and, $or. Values compared are scalars
 * (string, number, boolean, null). A path is dotted ("source.appId") and walks embedded objects;
 * equality on a path declared as an array in the schema matches any element. Comparisons are
 * type-bracketed as in MongoDB: {$gt: 5} never matches a string. Anything else (an unknown
 * operator, an object value, a path with "$", nesting over STORE_MAX_FILTER_DEPTH) is refused
 * with ERR_INVALID or ERR_UNSUPPORTED (ERR_TOO_DEEP / ERR_TOO_LARGE past a limit) before
 * anything is read or written.
 *
 * Sorting puts null and missing values first ascending and last descending. A sort key should
 * hold values of one type (plus null or missing) across the documents it orders: backends
 * order mixed types differently, and cursors assume one type.
 *
 * Updates use $set, $unset, $inc, $push and $pull; "_id" cannot change. A write that would break
 * a unique index fails with ERR_DUPLICATE and changes nothing. */
#ifndef SECOND_STORE_H
#define SECOND_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/limits.h"

struct store;

struct store_index {
	const char *name; /* unique in the database */
	/* "path" ascending, "-path" descending; NULL ends */
	const char *keys[STORE_MAX_INDEX_KEYS];
	/* Backends differ on documents that miss a key of a unique index (SQLite lets several
	 * in, MongoDB one): give every document all its keys, or make the index sparse. */
	bool unique;
	bool sparse; /* only documents that have the first key */
};

struct store_collection {
	const char *name;
	const char *const *array_paths;    /* NULL-terminated; may be NULL */
	const struct store_index *indexes; /* terminated by an entry whose name is NULL */
};

struct store_schema {
	const struct store_collection *collections;
	size_t ncollections;
};

/* The data model of governance-auth-api.md §6, declared in lib/store-schema.c. */
extern const struct store_schema store_schema_second;

/* Opens a store and creates missing collections and indexes. *out is a new handle. */
int store_open(const char *uri, const struct store_schema *schema, struct store **out,
	       struct err *e) __attribute__((warn_unused_result));
void store_close(struct store *s);                     /* accepts NULL */
const char *store_backend_name(const struct store *s); /* "sqlite" or "mongodb" */

/* Round-trip to the backend: the health check. */
int store_ping(struct store *s, struct err *e) __attribute__((warn_unused_result));
/* Deep consistency check (SQLite: PRAGMA integrity_check). */
int store_verify(struct store *s, struct err *e) __attribute__((warn_unused_result));
/* A number that changes whenever any write, by this process or another, has been committed
 * since the last call: a reply computed from reads made after a call that returned R is still
 * current while later calls return R. It never repeats within a process. ERR_UNSUPPORTED when
 * the backend cannot tell (MongoDB), so callers must not cache. */
int store_revision(struct store *s, uint64_t *rev, struct err *e)
	__attribute__((warn_unused_result));

/* Inserts `doc` (borrowed). When it has no "_id", a new 96-bit hex id is set into it. */
int store_insert(struct store *s, const char *coll, json_t *doc, struct err *e)
	__attribute__((warn_unused_result));

/* *doc is a new reference, or NULL when no document has that id. */
int store_get(struct store *s, const char *coll, const char *id, json_t **doc, struct err *e)
	__attribute__((warn_unused_result));

struct store_sort {
	const char *path;
	int dir; /* 1 ascending, -1 descending */
};

struct store_find_opts {
	const struct store_sort *sort; /* "_id" ascending is always the last tie-breaker */
	size_t nsort;                  /* at most STORE_MAX_SORT_KEYS */
	size_t limit;                  /* 0 means STORE_MAX_PAGE; more is ERR_INVALID */
	const char *cursor;            /* next_cursor of the previous page, or NULL */
	/* Top-level fields to return ([A-Za-z_][A-Za-z0-9_]*, at most STORE_MAX_FIELDS,
	 * NULL-terminated), or NULL for whole documents. "_id" and the first segment of each
	 * sort path are always included; a field the document lacks comes back as null. */
	const char *const *fields;
};

/* *docs is a new array. When next_cursor is not NULL it receives a malloc'd opaque cursor for
 * the following page, or NULL when this page is the last. A cursor is only valid with the same
 * filter and sort. */
int store_find(struct store *s, const char *coll, const json_t *filter,
	       const struct store_find_opts *opts, json_t **docs, char **next_cursor, struct err *e)
	__attribute__((warn_unused_result));

/* *doc is a new reference to the first match in sort order, or NULL. */
int store_find_one(struct store *s, const char *coll, const json_t *filter,
		   const struct store_sort *sort, size_t nsort, json_t **doc, struct err *e)
	__attribute__((warn_unused_result));

enum {
	STORE_RETURN_OLD = 1 << 0, /* default returns the document after the update */
	STORE_UPSERT = 1 << 1,     /* insert when nothing matches (see below) */
};

/* Atomically finds the first match (in sort order) and applies `update`: the filter is the
 * compare-and-set guard. *doc is a new reference, or NULL when nothing matched. With
 * STORE_UPSERT a missing document is created from the filter's top-level equality terms plus
 * the update, with a new "_id". */
int store_find_one_and_update(struct store *s, const char *coll, const json_t *filter,
			      const json_t *update, const struct store_sort *sort, size_t nsort,
			      unsigned flags, json_t **doc, struct err *e)
	__attribute__((warn_unused_result));

/* Update the first match, or every match. *matched may be NULL. Each document is updated
 * atomically; update_many is not one transaction across documents on MongoDB. */
int store_update_one(struct store *s, const char *coll, const json_t *filter, const json_t *update,
		     size_t *matched, struct err *e) __attribute__((warn_unused_result));
int store_update_many(struct store *s, const char *coll, const json_t *filter, const json_t *update,
		      size_t *matched, struct err *e) __attribute__((warn_unused_result));

int store_delete_one(struct store *s, const char *coll, const json_t *filter, size_t *deleted,
		     struct err *e) __attribute__((warn_unused_result));
int store_delete_many(struct store *s, const char *coll, const json_t *filter, size_t *deleted,
		      struct err *e) __attribute__((warn_unused_result));

int store_count(struct store *s, const char *coll, const json_t *filter, size_t *n, struct err *e)
	__attribute__((warn_unused_result));

#endif
