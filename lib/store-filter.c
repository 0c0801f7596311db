/* The filter parser: a MongoDB query subset in JSON becomes a validated filter_node tree.
 *
 * A filter object is a conjunction of its members. A member is either a logical operator
 * ("$and"/"$or" over a non-empty array of filter objects) or a dotted path with a condition:
 * a scalar (implicit $eq) or an object of operators, all ANDed. Every leaf of the tree holds an
 * owned copy of its path and an owned reference to its value, so the tree outlives the JSON it
 * came from. An object with a single condition yields that leaf itself rather than a one-child
 * AND, and {} yields FILTER_TRUE. Limits (depth, leaf count, $in size, path shape) are checked
 * here so that backends translate only valid trees. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "lib/limits.h"
#include "lib/store-internal.h"

enum arg_kind {
	ARG_ANY_SCALAR,  /* $eq, $ne: string, number, boolean or null */
	ARG_SCALAR_LIST, /* $in, $nin: an array of scalars */
	ARG_ORDERED,     /* $gt and friends: a string or a number */
	ARG_BOOL,        /* $exists */
};

static const struct {
	const char *name;
	enum filter_op op;
	enum arg_kind arg;
} operators[] = {
	{"$eq", FILTER_EQ, ARG_ANY_SCALAR},   {"$ne", FILTER_NE, ARG_ANY_SCALAR},
	{"$in", FILTER_IN, ARG_SCALAR_LIST},  {"$nin", FILTER_NIN, ARG_SCALAR_LIST},
	{"$gt", FILTER_GT, ARG_ORDERED},      {"$gte", FILTER_GTE, ARG_ORDERED},
	{"$lt", FILTER_LT, ARG_ORDERED},      {"$lte", FILTER_LTE, ARG_ORDERED},
	{"$exists", FILTER_EXISTS, ARG_BOOL},
};

struct parse_ctx {
	const struct store_collection *coll;
	size_t nterms; /* leaves so far, against STORE_MAX_FILTER_TERMS */
	struct err *e;
};

/* A growable array of nodes that becomes the kids of an AND/OR node. */
struct node_list {
	struct filter_node *v;
	size_t n, cap;
};

static void node_clear(struct filter_node *f)
{
	free(f->path);
	json_decref(f->value);
	for (size_t i = 0; i < f->nkids; i++)
		node_clear(&f->kids[i]);
	free(f->kids);
	memset(f, 0, sizeof(*f));
}

void filter_free(struct filter_node *f)
{
	if (f == NULL)
		return;
	node_clear(f);
	free(f);
}

static void list_clear(struct node_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		node_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Appends a zeroed node and returns it; the list owns it. */
static struct filter_node *list_push(struct node_list *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (l->v == NULL)
			abort();
	}
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	return &l->v[l->n++];
}

/* Moves the list into *out: its only node, or a node of type `op` over all of them. */
static void list_take(struct node_list *l, enum filter_op op, struct filter_node *out)
{
	memset(out, 0, sizeof(*out));
	if (l->n == 0) {
		out->op = FILTER_TRUE;
		free(l->v);
	} else if (l->n == 1) {
		*out = l->v[0];
		free(l->v);
	} else {
		out->op = op;
		out->kids = l->v;
		out->nkids = l->n;
	}
	memset(l, 0, sizeof(*l));
}

static bool segment_ok(const char *seg, size_t len)
{
	bool all_digits = true;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)seg[i];

		if (c < 0x20 || c == 0x7f || c == '$' || c == '"' || c == '\\')
			return false;
		if (c < '0' || c > '9')
			all_digits = false;
	}
	/* "a.0" means "element 0" to MongoDB but "key 0" to SQLite's JSON paths. */
	return !all_digits;
}

int store_check_path(const char *path, struct err *e)
{
	size_t len, nseg = 0;
	const char *seg, *dot;

	if (path == NULL || path[0] == '\0')
		return err_set(e, ERR_INVALID, "empty field path");
	len = strlen(path);
	if (len > STORE_MAX_PATH_LEN)
		return err_set(e, ERR_INVALID, "field path is over %d bytes", STORE_MAX_PATH_LEN);
	for (seg = path;; seg = dot + 1) {
		dot = strchr(seg, '.');
		if (++nseg > STORE_MAX_PATH_SEGMENTS)
			return err_set(e, ERR_INVALID, "field path has over %d segments",
				       STORE_MAX_PATH_SEGMENTS);
		if (!segment_ok(seg, dot ? (size_t)(dot - seg) : strlen(seg)))
			return err_set(
				e, ERR_INVALID,
				"bad field path '%.64s': empty or numeric segment, '$', quote, "
				"backslash or control character",
				path);
		if (dot == NULL)
			break;
	}
	return 0;
}

static bool is_array_path(const struct store_collection *c, const char *path)
{
	if (c == NULL || c->array_paths == NULL)
		return false;
	for (const char *const *p = c->array_paths; *p != NULL; p++)
		if (strcmp(*p, path) == 0)
			return true;
	return false;
}

/* Objects and arrays as values would mean whole-document equality, which we do not offer. */
static int check_scalar(const char *op, const json_t *v, struct err *e)
{
	if (json_is_object(v) || json_is_array(v))
		return err_set(e, ERR_UNSUPPORTED,
			       "%.64s: object and array values are not supported, only strings, "
			       "numbers, booleans and null",
			       op);
	return 0;
}

static int check_arg(const char *op, enum arg_kind kind, const json_t *v, struct err *e)
{
	size_t i;
	json_t *item;

	switch (kind) {
	case ARG_ANY_SCALAR:
		return check_scalar(op, v, e);
	case ARG_SCALAR_LIST:
		if (!json_is_array(v))
			return err_set(e, ERR_INVALID, "%s needs an array", op);
		if (json_array_size(v) > STORE_MAX_IN_VALUES)
			return err_set(e, ERR_TOO_LARGE, "%s has over %d values", op,
				       STORE_MAX_IN_VALUES);
		json_array_foreach (v, i, item) {
			if (check_scalar(op, item, e) != 0)
				return -1;
		}
		return 0;
	case ARG_ORDERED:
		if (check_scalar(op, v, e) != 0)
			return -1;
		if (!json_is_string(v) && !json_is_number(v))
			return err_set(e, ERR_INVALID, "%s needs a string or a number", op);
		return 0;
	case ARG_BOOL:
		if (!json_is_boolean(v))
			return err_set(e, ERR_INVALID, "%s needs true or false", op);
		return 0;
	}
	return err_set(e, ERR_INTERNAL, "unknown argument kind");
}

static int add_leaf(struct parse_ctx *ctx, struct node_list *l, enum filter_op op, const char *path,
		    json_t *value)
{
	struct filter_node *n = NULL;

	if (++ctx->nterms > STORE_MAX_FILTER_TERMS)
		return err_set(ctx->e, ERR_TOO_LARGE, "filter has over %d conditions",
			       STORE_MAX_FILTER_TERMS);
	n = list_push(l);
	n->op = op;
	n->path = strdup(path);
	if (n->path == NULL)
		abort();
	n->path_is_array = is_array_path(ctx->coll, path);
	n->value = json_incref(value);
	return 0;
}

static int parse_operator(struct parse_ctx *ctx, struct node_list *l, const char *path,
			  const char *name, json_t *value)
{
	for (size_t i = 0; i < sizeof(operators) / sizeof(operators[0]); i++) {
		if (strcmp(operators[i].name, name) != 0)
			continue;
		if (check_arg(name, operators[i].arg, value, ctx->e) != 0)
			return -1;
		return add_leaf(ctx, l, operators[i].op, path, value);
	}
	return err_set(ctx->e, ERR_INVALID, "unknown operator %.32s", name);
}

/* {"path": scalar} or {"path": {"$op": arg, ...}}. */
static int parse_condition(struct parse_ctx *ctx, struct node_list *l, const char *path,
			   json_t *cond)
{
	const char *name;
	json_t *arg;
	void *it = json_object_iter(cond);

	if (store_check_path(path, ctx->e) != 0)
		return -1;
	if (!json_is_object(cond) || it == NULL || json_object_iter_key(it)[0] != '$') {
		if (check_scalar(path, cond, ctx->e) != 0)
			return -1;
		return add_leaf(ctx, l, FILTER_EQ, path, cond);
	}
	json_object_foreach (cond, name, arg) {
		if (name[0] != '$')
			return err_set(ctx->e, ERR_INVALID,
				       "'%.64s': operators and fields cannot be mixed", path);
		if (parse_operator(ctx, l, path, name, arg) != 0)
			return -1;
	}
	return 0;
}

static int parse_object(struct parse_ctx *ctx, const json_t *obj, int depth,
			struct filter_node *out);

/* "$and" / "$or": a non-empty array of filter objects, one level deeper. */
static int parse_logical(struct parse_ctx *ctx, struct node_list *l, const char *name,
			 const json_t *arr, int depth)
{
	struct node_list kids = {0};
	struct filter_node *n = NULL;
	enum filter_op op = strcmp(name, "$and") == 0 ? FILTER_AND : FILTER_OR;
	json_t *item;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return err_set(ctx->e, ERR_INVALID, "%s needs a non-empty array of objects", name);
	if (depth + 1 > STORE_MAX_FILTER_DEPTH)
		return err_set(ctx->e, ERR_TOO_DEEP, "filter nesting is deeper than %d",
			       STORE_MAX_FILTER_DEPTH);
	json_array_foreach (arr, i, item) {
		if (!json_is_object(item)) {
			err_set(ctx->e, ERR_INVALID, "%s needs a non-empty array of objects", name);
			goto fail;
		}
		if (parse_object(ctx, item, depth + 1, list_push(&kids)) != 0)
			goto fail;
	}
	n = list_push(l);
	n->op = op;
	n->kids = kids.v;
	n->nkids = kids.n;
	return 0;
fail:
	list_clear(&kids);
	return -1;
}

static int parse_member(struct parse_ctx *ctx, struct node_list *l, const char *key, json_t *value,
			int depth)
{
	if (store_key_has_nul(key))
		return err_set(ctx->e, ERR_INVALID, "field path contains a NUL byte");
	if (strcmp(key, "$and") == 0 || strcmp(key, "$or") == 0)
		return parse_logical(ctx, l, key, value, depth);
	if (key[0] == '$')
		return err_set(ctx->e, ERR_INVALID, "unknown operator %.32s", key);
	return parse_condition(ctx, l, key, value);
}

/* Fills *out (zeroed on failure) with the conjunction of obj's members. */
static int parse_object(struct parse_ctx *ctx, const json_t *obj, int depth,
			struct filter_node *out)
{
	struct node_list l = {0};
	const char *key;
	json_t *value;

	memset(out, 0, sizeof(*out));
	json_object_foreach ((json_t *)obj, key, value) {
		if (parse_member(ctx, &l, key, value, depth) != 0) {
			list_clear(&l);
			return -1;
		}
	}
	list_take(&l, FILTER_AND, out);
	return 0;
}

int filter_parse(const struct store_collection *c, const json_t *filter, struct filter_node **out,
		 struct err *e)
{
	struct parse_ctx ctx = {.coll = c, .nterms = 0, .e = e};
	struct filter_node *root = NULL;

	*out = NULL;
	if (!json_is_object(filter))
		return err_set(e, ERR_INVALID, "a filter must be a JSON object");
	root = calloc(1, sizeof(*root));
	if (root == NULL)
		abort();
	if (parse_object(&ctx, filter, 0, root) != 0) {
		free(root);
		return -1;
	}
	*out = root;
	return 0;
}
