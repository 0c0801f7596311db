/* What the store's common layer (store.c) hands its backends (store-sqlite.c, store-mongo.c).
 *
 * The common layer validates everything first: collection names against the schema, documents
 * against size and depth limits, filters into a `filter_node` tree, updates into an `update`
 * list, cursors into extra filter terms. A backend therefore only ever sees valid input and
 * translates it: SQLite into SQL over json_extract(), MongoDB into BSON. Both receive the
 * validated JSON too, since MongoDB can take it nearly as is. */
#ifndef SECOND_STORE_INTERNAL_H
#define SECOND_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/store.h"

enum filter_op {
	FILTER_AND,
	FILTER_OR,
	FILTER_EQ,
	FILTER_NE,
	FILTER_IN,
	FILTER_NIN,
	FILTER_GT,
	FILTER_GTE,
	FILTER_LT,
	FILTER_LTE,
	FILTER_EXISTS,
	FILTER_TRUE, /* the empty filter {} */
};

struct filter_node {
	enum filter_op op;
	char *path;         /* leaves: owned copy of the dotted path */
	bool path_is_array; /* the path is in the collection's array_paths */
	/* leaves: owned reference; an array for IN/NIN, true/false for EXISTS */
	json_t *value;
	struct filter_node *kids; /* AND/OR: owned array of nkids nodes */
	size_t nkids;
};

/* Parses and validates `filter` for collection `c`. *out is owned by the caller. */
int filter_parse(const struct store_collection *c, const json_t *filter, struct filter_node **out,
		 struct err *e) __attribute__((warn_unused_result));
void filter_free(struct filter_node *f); /* accepts NULL */

enum update_op {
	UPDATE_SET,
	UPDATE_UNSET,
	UPDATE_INC,
	UPDATE_PUSH,
	UPDATE_PULL,
};

struct update_item {
	enum update_op op;
	char *path;    /* owned */
	json_t *value; /* owned reference */
};

struct update {
	struct update_item *items;
	size_t n;
};

/* Parses and validates an update document: known operators only, at least one path, no path
 * touched twice or as a prefix of another, never "_id", values within the document limits. */
int update_parse(const struct store_collection *c, const json_t *update, struct update **out,
		 struct err *e) __attribute__((warn_unused_result));
void update_free(struct update *u); /* accepts NULL */
/* Applies `u` to `doc` in place; on error `doc` may be partly changed, so callers apply to a
 * copy. ERR_INVALID for $inc on a non-number, $push/$pull on a non-array, a path through a
 * scalar. */
int update_apply(const struct update *u, json_t *doc, struct err *e)
	__attribute__((warn_unused_result));
/* The document an upsert inserts: top-level $eq terms of `f`, then `u`, then a new "_id". */
int update_upsert_doc(const struct filter_node *f, const struct update *u, json_t **doc,
		      struct err *e) __attribute__((warn_unused_result));

/* Size and depth limits, key rules ("$" prefix, ".", NUL), "_id" type: one check for
 * inserts, updated documents and upserts. */
int store_check_doc(const json_t *doc, struct err *e) __attribute__((warn_unused_result));
/* The same depth, size and key rules for one value placed inside a document ($set, $push). */
int store_check_value(const json_t *v, struct err *e) __attribute__((warn_unused_result));
/* A dotted path usable in filters, sorts and updates: at most STORE_MAX_PATH_LEN bytes and
 * STORE_MAX_PATH_SEGMENTS segments, no empty segment, no '$', double quote, backslash or
 * control character, no all-digit (positional) segment. Backends may quote such a path into
 * their own syntax. */
int store_check_path(const char *path, struct err *e) __attribute__((warn_unused_result));
/* Whether `key`, a key of some jansson object, holds an embedded NUL (jansson 2.14 can store
 * such keys through json_object_setn), which a C string would silently truncate. */
bool store_key_has_nul(const char *key);

/* One resolved query: the validated filter (user filter AND cursor terms), with its JSON. */
struct store_query {
	const struct store_collection *coll;
	const struct filter_node *filter;
	const json_t *filter_json;
	const struct store_sort *sort; /* always ends with {"_id", 1} */
	size_t nsort;
	size_t limit;              /* 0: no limit (count, update_many, delete_many) */
	const char *const *fields; /* find: NULL-terminated projection, or NULL */
};

struct store_backend {
	const char *name;
	int (*open)(struct store *s, const char *uri, struct err *e);
	void (*close)(struct store *s);
	int (*ping)(struct store *s, struct err *e);
	int (*verify)(struct store *s, struct err *e);
	/* store_revision(); NULL when the backend cannot detect writes of other processes. */
	int (*revision)(struct store *s, uint64_t *rev, struct err *e);
	/* Creates the collection and its indexes if missing; idempotent, safe across processes. */
	int (*ensure_collection)(struct store *s, const struct store_collection *c, struct err *e);
	/* doc already checked and has a string "_id". */
	int (*insert)(struct store *s, const struct store_collection *c, const json_t *doc,
		      struct err *e);
	/* *docs: new array, at most q->limit documents in q's sort order. */
	int (*find)(struct store *s, const struct store_query *q, json_t **docs, struct err *e);
	/* Atomic. With STORE_UPSERT and no match, insert update_upsert_doc(). */
	int (*find_one_and_update)(struct store *s, const struct store_query *q,
				   const struct update *u, const json_t *update_json,
				   unsigned flags, json_t **doc, struct err *e);
	int (*update)(struct store *s, const struct store_query *q, const struct update *u,
		      const json_t *update_json, bool many, size_t *matched, struct err *e);
	int (*delete)(struct store *s, const struct store_query *q, bool many, size_t *deleted,
		      struct err *e);
	int (*count)(struct store *s, const struct store_query *q, size_t *n, struct err *e);
};

extern const struct store_backend store_backend_sqlite;
extern const struct store_backend store_backend_mongo;

struct store {
	const struct store_backend *backend;
	const struct store_schema *schema;
	void *impl; /* the backend's state */
};

#endif
