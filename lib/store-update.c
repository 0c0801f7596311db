/* Update documents ($set, $unset, $inc, $push, $pull): parsing, and applying them in memory.
 *
 * A parsed `struct update` is a flat list of items, one per touched path, each with its
 * operator, an owned copy of the dotted path and an owned reference to the operand. No two
 * items touch the same path or a path and its prefix ("a" and "a.b"), so the order in which
 * items are applied cannot change the result, which is what lets the SQLite backend apply
 * them in C and MongoDB on the server with the same outcome. Applying never shares the update's
 * values with the document: operands are deep-copied in. */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ids.h"
#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/store-internal.h"

static const struct {
	const char *name;
	enum update_op op;
} update_ops[] = {
	{"$set", UPDATE_SET},   {"$unset", UPDATE_UNSET}, {"$inc", UPDATE_INC},
	{"$push", UPDATE_PUSH}, {"$pull", UPDATE_PULL},
};

void update_free(struct update *u)
{
	if (u == NULL)
		return;
	for (size_t i = 0; i < u->n; i++) {
		free(u->items[i].path);
		json_decref(u->items[i].value);
	}
	free(u->items);
	free(u);
}

/* The operand rules of each operator; paths are checked by the caller. */
static int check_operand(const char *opname, enum update_op op, const char *path, const json_t *v,
			 struct err *e)
{
	switch (op) {
	case UPDATE_SET:
	case UPDATE_PUSH:
		return store_check_value(v, e);
	case UPDATE_UNSET:
		return 0; /* MongoDB ignores the operand of $unset; so do we. */
	case UPDATE_INC:
		if (!json_is_number(v))
			return err_set(e, ERR_INVALID, "$inc '%.64s' needs a number", path);
		return 0;
	case UPDATE_PULL:
		/* MongoDB reads an object operand of $pull as a query on the elements. */
		if (json_is_object(v))
			return err_set(e, ERR_UNSUPPORTED,
				       "$pull '%.64s': only scalars and arrays are supported",
				       path);
		return store_check_value(v, e);
	}
	return err_set(e, ERR_INTERNAL, "%s: unknown update operator", opname);
}

static int add_item(struct update *u, const char *opname, enum update_op op, const char *path,
		    json_t *value, struct err *e)
{
	struct update_item *it = NULL;

	if (store_key_has_nul(path))
		return err_set(e, ERR_INVALID, "update path contains a NUL byte");
	if (store_check_path(path, e) != 0)
		return -1;
	if (strcmp(path, "_id") == 0 || strncmp(path, "_id.", 4) == 0)
		return err_set(e, ERR_INVALID, "an update cannot change _id");
	if (u->n == STORE_MAX_UPDATE_FIELDS)
		return err_set(e, ERR_TOO_LARGE, "update touches over %d paths",
			       STORE_MAX_UPDATE_FIELDS);
	if (check_operand(opname, op, path, value, e) != 0)
		return -1;
	it = &u->items[u->n++];
	it->op = op;
	it->path = strdup(path);
	if (it->path == NULL)
		abort();
	it->value = json_incref(value);
	return 0;
}

static bool paths_conflict(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > lb)
		return paths_conflict(b, a);
	return strncmp(a, b, la) == 0 && (b[la] == '\0' || b[la] == '.');
}

static int check_conflicts(const struct update *u, struct err *e)
{
	for (size_t i = 0; i < u->n; i++)
		for (size_t j = i + 1; j < u->n; j++)
			if (paths_conflict(u->items[i].path, u->items[j].path))
				return err_set(e, ERR_INVALID,
					       "update paths '%.64s' and '%.64s' conflict",
					       u->items[i].path, u->items[j].path);
	return 0;
}

static int parse_operator(struct update *u, const char *opname, const json_t *fields, struct err *e)
{
	enum update_op op = UPDATE_SET;
	bool known = false;
	const char *path;
	json_t *value;

	for (size_t i = 0; i < sizeof(update_ops) / sizeof(update_ops[0]); i++) {
		if (strcmp(update_ops[i].name, opname) == 0) {
			op = update_ops[i].op;
			known = true;
		}
	}
	if (!known)
		return err_set(e, ERR_INVALID, "unknown update operator %.32s", opname);
	if (!json_is_object(fields) || json_object_size(fields) == 0)
		return err_set(e, ERR_INVALID, "%s needs a non-empty object of paths", opname);
	json_object_foreach ((json_t *)fields, path, value) {
		if (add_item(u, opname, op, path, value, e) != 0)
			return -1;
	}
	return 0;
}

int update_parse(const struct store_collection *c, const json_t *update, struct update **out,
		 struct err *e)
{
	struct update *u = NULL;
	const char *opname;
	json_t *fields;

	/* Updates are not constrained per collection (yet): array paths may be $set whole. */
	(void)c;
	*out = NULL;
	if (!json_is_object(update) || json_object_size(update) == 0)
		return err_set(e, ERR_INVALID, "an update needs at least one operator");
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		abort();
	u->items = calloc(STORE_MAX_UPDATE_FIELDS, sizeof(*u->items));
	if (u->items == NULL)
		abort();
	json_object_foreach ((json_t *)update, opname, fields) {
		if (store_key_has_nul(opname)) {
			err_set(e, ERR_INVALID, "update operator contains a NUL byte");
			goto fail;
		}
		if (parse_operator(u, opname, fields, e) != 0)
			goto fail;
	}
	if (check_conflicts(u, e) != 0)
		goto fail;
	*out = u;
	return 0;
fail:
	update_free(u);
	return -1;
}

static int apply_inc(json_t *doc, const char *path, const json_t *by, struct err *e)
{
	json_t *cur = jsonx_path_get(doc, path);
	json_int_t sum;
	double r;

	if (cur == NULL)
		return jsonx_path_set_new(doc, path, json_copy((json_t *)by), e);
	if (!json_is_number(cur))
		return err_set(e, ERR_INVALID, "$inc '%.64s': the field is not a number", path);
	if (json_is_integer(cur) && json_is_integer(by)) {
		if (__builtin_add_overflow(json_integer_value(cur), json_integer_value(by), &sum))
			return err_set(e, ERR_INVALID, "$inc '%.64s' overflows", path);
		return jsonx_path_set_new(doc, path, json_integer(sum), e);
	}
	r = json_number_value(cur) + json_number_value(by);
	if (!isfinite(r))
		return err_set(e, ERR_INVALID, "$inc '%.64s' overflows", path);
	return jsonx_path_set_new(doc, path, json_real(r), e);
}

static int apply_push(json_t *doc, const char *path, const json_t *v, struct err *e)
{
	json_t *cur = jsonx_path_get(doc, path);

	if (cur == NULL)
		return jsonx_path_set_new(doc, path, json_pack("[o]", json_deep_copy(v)), e);
	if (!json_is_array(cur))
		return err_set(e, ERR_INVALID, "$push '%.64s': the field is not an array", path);
	if (json_array_append_new(cur, json_deep_copy(v)) != 0)
		abort();
	return 0;
}

/* Numbers compare by value as in MongoDB (1 equals 1.0); everything else structurally. */
static bool value_equal(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return json_number_value(a) == json_number_value(b);
	}
	return json_equal((json_t *)a, (json_t *)b) != 0;
}

static int apply_pull(json_t *doc, const char *path, const json_t *v, struct err *e)
{
	json_t *cur = jsonx_path_get(doc, path);
	size_t i;

	if (cur == NULL)
		return 0;
	if (!json_is_array(cur))
		return err_set(e, ERR_INVALID, "$pull '%.64s': the field is not an array", path);
	for (i = json_array_size(cur); i > 0; i--) {
		if (!value_equal(json_array_get(cur, i - 1), v))
			continue;
		if (json_array_remove(cur, i - 1) != 0)
			abort();
	}
	return 0;
}

int update_apply(const struct update *u, json_t *doc, struct err *e)
{
	const struct update_item *it;
	int rc = 0;

	if (!json_is_object(doc))
		return err_set(e, ERR_INVALID, "an update applies to an object");
	for (size_t i = 0; i < u->n && rc == 0; i++) {
		it = &u->items[i];
		switch (it->op) {
		case UPDATE_SET:
			rc = jsonx_path_set_new(doc, it->path, json_deep_copy(it->value), e);
			break;
		case UPDATE_UNSET:
			rc = jsonx_path_del(doc, it->path);
			break;
		case UPDATE_INC:
			rc = apply_inc(doc, it->path, it->value, e);
			break;
		case UPDATE_PUSH:
			rc = apply_push(doc, it->path, it->value, e);
			break;
		case UPDATE_PULL:
			rc = apply_pull(doc, it->path, it->value, e);
			break;
		}
	}
	return rc;
}

/* Copies the equality terms that every match must satisfy: top level and under $and. */
static int seed_from_filter(const struct filter_node *f, json_t *doc, struct err *e)
{
	if (f->op == FILTER_AND) {
		for (size_t i = 0; i < f->nkids; i++)
			if (seed_from_filter(&f->kids[i], doc, e) != 0)
				return -1;
		return 0;
	}
	if (f->op != FILTER_EQ)
		return 0;
	if (jsonx_path_get(doc, f->path) != NULL)
		return err_set(e, ERR_INVALID, "upsert: '%.64s' is fixed twice by the filter",
			       f->path);
	return jsonx_path_set_new(doc, f->path, json_deep_copy(f->value), e);
}

int update_upsert_doc(const struct filter_node *f, const struct update *u, json_t **doc,
		      struct err *e)
{
	char id[ID_HEX_LEN + 1];
	json_t *d = json_object();

	*doc = NULL;
	if (d == NULL)
		abort();
	if (f != NULL && seed_from_filter(f, d, e) != 0)
		goto fail;
	if (update_apply(u, d, e) != 0)
		goto fail;
	if (json_object_get(d, "_id") == NULL) {
		id_new(id);
		json_object_set_new(d, "_id", json_string(id));
	}
	if (store_check_doc(d, e) != 0)
		goto fail;
	*doc = d;
	return 0;
fail:
	json_decref(d);
	return -1;
}
