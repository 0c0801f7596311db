/* The store's common layer: URI dispatch, schema checks, validation, ids, sorting and cursors.
 *
 * A `struct store` pairs a backend vtable with the schema it was opened with. Every public call
 * resolves its collection against that schema and turns its raw arguments into a
 * `struct prepared` (parsed filter and its JSON, complete sort, parsed update) before the
 * backend sees anything, so a refused request never touches storage. Pagination is keyset
 * based: a cursor is base64url of the compact JSON array of the last returned document's sort
 * values, ending with its "_id"; the next page is the same query ANDed with "comes after those
 * values in sort order", built here as ordinary filter terms, so backends never see cursors. */
#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/codec.h"
#include "lib/ids.h"
#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/store-internal.h"
#include "lib/store.h"

static const struct {
	const char *prefix;
	const struct store_backend *backend;
} uri_schemes[] = {
	{"sqlite:", &store_backend_sqlite},
	{"mongodb://", &store_backend_mongo},
	{"mongodb+srv://", &store_backend_mongo},
};

/* A sort as the backends get it: the caller's keys, then {"_id", 1} unless "_id" was one. */
struct sort_spec {
	struct store_sort keys[STORE_MAX_SORT_KEYS + 1];
	size_t n;
};

/* One validated request; everything owned is released by prepared_free. */
struct prepared {
	const struct store_collection *coll;
	json_t *filter_json;        /* owned reference */
	struct filter_node *filter; /* owned */
	struct sort_spec sort;
	struct update *update; /* owned, NULL for reads */
};

bool store_key_has_nul(const char *key)
{
#if JANSSON_VERSION_HEX >= 0x020e00
	return json_object_iter_key_len(json_object_key_to_iter(key)) != strlen(key);
#else
	/* Before 2.14 jansson cannot hold a NUL in a key at all. */
	(void)key;
	return false;
#endif
}

/* Names end up quoted in SQL and in MongoDB namespaces: a conservative alphabet. */
static bool name_ok(const char *name, size_t max)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];

		if (!(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9')))
			return false;
	}
	return true;
}

static bool is_array_path(const struct store_collection *c, const char *path)
{
	if (c->array_paths == NULL)
		return false;
	for (const char *const *p = c->array_paths; *p != NULL; p++)
		if (strcmp(*p, path) == 0)
			return true;
	return false;
}

static int check_index(const struct store_index *ix, struct err *e)
{
	size_t k;

	if (!name_ok(ix->name, STORE_MAX_INDEX_NAME))
		return err_set(e, ERR_INVALID, "schema: bad index name '%.64s'", ix->name);
	for (k = 0; k < STORE_MAX_INDEX_KEYS && ix->keys[k] != NULL; k++) {
		const char *path = ix->keys[k][0] == '-' ? ix->keys[k] + 1 : ix->keys[k];

		if (store_check_path(path, e) != 0)
			return -1;
	}
	if (k == 0)
		return err_set(e, ERR_INVALID, "schema: index %.64s has no key", ix->name);
	return 0;
}

/* Index names share one namespace in SQLite, so they must be unique across collections. */
static int check_index_names_unique(const struct store_schema *schema, const char *name,
				    struct err *e)
{
	size_t seen = 0;

	for (size_t i = 0; i < schema->ncollections; i++) {
		const struct store_index *ix = schema->collections[i].indexes;

		for (; ix != NULL && ix->name != NULL; ix++)
			seen += strcmp(ix->name, name) == 0;
	}
	if (seen != 1)
		return err_set(e, ERR_INVALID, "schema: index name %.64s is used twice", name);
	return 0;
}

static int check_collection(const struct store_schema *schema, size_t i, struct err *e)
{
	const struct store_collection *c = &schema->collections[i];

	if (!name_ok(c->name, STORE_MAX_COLLECTION_NAME))
		return err_set(e, ERR_INVALID, "schema: bad collection name '%.64s'", c->name);
	for (size_t j = 0; j < i; j++)
		if (strcmp(schema->collections[j].name, c->name) == 0)
			return err_set(e, ERR_INVALID, "schema: collection %s declared twice",
				       c->name);
	for (const char *const *p = c->array_paths; p != NULL && *p != NULL; p++)
		if (store_check_path(*p, e) != 0)
			return -1;
	for (const struct store_index *ix = c->indexes; ix != NULL && ix->name != NULL; ix++)
		if (check_index(ix, e) != 0 || check_index_names_unique(schema, ix->name, e) != 0)
			return -1;
	return 0;
}

static int check_schema(const struct store_schema *schema, struct err *e)
{
	if (schema == NULL || (schema->ncollections > 0 && schema->collections == NULL))
		return err_set(e, ERR_INVALID, "schema: no collections");
	for (size_t i = 0; i < schema->ncollections; i++)
		if (check_collection(schema, i, e) != 0)
			return -1;
	return 0;
}

int store_open(const char *uri, const struct store_schema *schema, struct store **out,
	       struct err *e)
{
	const struct store_backend *backend = NULL;
	struct store *s = NULL;

	*out = NULL;
	for (size_t i = 0; uri != NULL && i < sizeof(uri_schemes) / sizeof(uri_schemes[0]); i++)
		if (strncmp(uri, uri_schemes[i].prefix, strlen(uri_schemes[i].prefix)) == 0)
			backend = uri_schemes[i].backend;
	/* The URI is not quoted back: it may carry a password. */
	if (backend == NULL)
		return err_set(e, ERR_INVALID, "store URI must start with sqlite: or mongodb://");
	if (check_schema(schema, e) != 0)
		return -1;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		abort();
	s->backend = backend;
	s->schema = schema;
	if (backend->open(s, uri, e) != 0) {
		free(s);
		return -1;
	}
	for (size_t i = 0; i < schema->ncollections; i++) {
		if (backend->ensure_collection(s, &schema->collections[i], e) != 0) {
			store_close(s);
			return -1;
		}
	}
	*out = s;
	return 0;
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	s->backend->close(s);
	free(s);
}

const char *store_backend_name(const struct store *s)
{
	return s->backend->name;
}

int store_ping(struct store *s, struct err *e)
{
	return s->backend->ping(s, e);
}

int store_revision(struct store *s, uint64_t *rev, struct err *e)
{
	*rev = 0;
	if (s->backend->revision == NULL)
		return err_set(e, ERR_UNSUPPORTED, "%s: no revision", s->backend->name);
	return s->backend->revision(s, rev, e);
}

int store_verify(struct store *s, struct err *e)
{
	return s->backend->verify(s, e);
}

/* Keys and strings of a value whose depth is already bounded. */
static int check_keys(const json_t *v, struct err *e)
{
	const char *key;
	json_t *child;
	size_t i;

	if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v))
		return err_set(e, ERR_INVALID, "document strings cannot contain a NUL byte");
	json_array_foreach (v, i, child) {
		if (check_keys(child, e) != 0)
			return -1;
	}
	json_object_foreach ((json_t *)v, key, child) {
		if (key[0] == '\0' || key[0] == '$' || strchr(key, '.') != NULL ||
		    store_key_has_nul(key))
			return err_set(e, ERR_INVALID,
				       "document keys cannot be empty, start with '$' or contain "
				       "'.' or NUL");
		if (check_keys(child, e) != 0)
			return -1;
	}
	return 0;
}

static int check_size(const json_t *v, struct err *e)
{
	size_t len = 0;
	char *text = jsonx_dumps_compact(v, &len);

	free(text);
	if (len > STORE_MAX_DOC_BYTES)
		return err_set(e, ERR_TOO_LARGE, "document is %zu bytes, over the limit of %d", len,
			       STORE_MAX_DOC_BYTES);
	return 0;
}

int store_check_value(const json_t *v, struct err *e)
{
	if (jsonx_depth(v, STORE_MAX_DEPTH) > STORE_MAX_DEPTH)
		return err_set(e, ERR_TOO_DEEP, "value nesting is deeper than %d", STORE_MAX_DEPTH);
	if (check_keys(v, e) != 0)
		return -1;
	return check_size(v, e);
}

int store_check_doc(const json_t *doc, struct err *e)
{
	const json_t *id = json_object_get(doc, "_id");

	if (!json_is_object(doc))
		return err_set(e, ERR_INVALID, "a document must be a JSON object");
	if (jsonx_depth(doc, STORE_MAX_DEPTH) > STORE_MAX_DEPTH)
		return err_set(e, ERR_TOO_DEEP, "document nesting is deeper than %d",
			       STORE_MAX_DEPTH);
	if (!json_is_string(id) || json_string_length(id) == 0 ||
	    json_string_length(id) > STORE_MAX_ID_BYTES)
		return err_set(e, ERR_INVALID, "_id must be a string of 1 to %d bytes",
			       STORE_MAX_ID_BYTES);
	if (check_keys(doc, e) != 0)
		return -1;
	return check_size(doc, e);
}

static const struct store_collection *find_coll(const struct store *s, const char *name,
						struct err *e)
{
	for (size_t i = 0; name != NULL && i < s->schema->ncollections; i++)
		if (strcmp(s->schema->collections[i].name, name) == 0)
			return &s->schema->collections[i];
	err_set(e, ERR_INVALID, "unknown collection '%.64s'", name ? name : "(null)");
	return NULL;
}

static int resolve_sort(const struct store_collection *c, const struct store_sort *sort,
			size_t nsort, struct sort_spec *out, struct err *e)
{
	out->n = 0;
	if (nsort > STORE_MAX_SORT_KEYS || (nsort > 0 && sort == NULL))
		return err_set(e, ERR_INVALID, "a sort has 0 to %d keys", STORE_MAX_SORT_KEYS);
	for (size_t i = 0; i < nsort; i++) {
		if (store_check_path(sort[i].path, e) != 0)
			return -1;
		if (sort[i].dir != 1 && sort[i].dir != -1)
			return err_set(e, ERR_INVALID, "sort direction must be 1 or -1");
		/* MongoDB sorts arrays by their least or greatest element; we do not. */
		if (is_array_path(c, sort[i].path))
			return err_set(e, ERR_UNSUPPORTED, "cannot sort on array path %s",
				       sort[i].path);
		for (size_t j = 0; j < i; j++)
			if (strcmp(sort[j].path, sort[i].path) == 0)
				return err_set(e, ERR_INVALID, "sort key %s given twice",
					       sort[i].path);
		out->keys[out->n++] = sort[i];
		/* _id is unique: keys after it never matter, and it needs no tie-breaker. */
		if (strcmp(sort[i].path, "_id") == 0)
			return 0;
	}
	out->keys[out->n++] = (struct store_sort){"_id", 1};
	return 0;
}

static int resolve_limit(size_t limit, size_t *out, struct err *e)
{
	if (limit > STORE_MAX_PAGE)
		return err_set(e, ERR_INVALID, "limit is over %d", STORE_MAX_PAGE);
	*out = limit == 0 ? STORE_MAX_PAGE : limit;
	return 0;
}

/* {path: {op: v}}: one keyset condition. Steals v. */
static json_t *cond_new(const char *path, const char *op, json_t *v)
{
	json_t *c = json_pack("{s:{s:o}}", path, op, v);

	if (c == NULL)
		abort();
	return c;
}

/* "Comes after v in this direction" for one key, or NULL when nothing can. Null and missing
 * sort before every other value: ascending nothing but non-null values follows a null, and
 * descending they follow every non-null v. Other types are not mixed (see store.h). */
static json_t *keyset_after(const char *path, const json_t *v, int dir)
{
	json_t *same_type = NULL;

	if (json_is_null(v))
		return dir > 0 ? cond_new(path, "$ne", json_null()) : NULL;
	if (json_is_boolean(v)) {
		/* $gt is undefined on booleans; false sorts before true. */
		if (json_is_true(v) != (dir > 0))
			same_type = cond_new(path, "$eq", json_boolean(dir > 0));
	} else {
		same_type = cond_new(path, dir > 0 ? "$gt" : "$lt", json_copy((json_t *)v));
	}
	if (dir > 0)
		return same_type;
	if (same_type == NULL)
		return cond_new(path, "$eq", json_null());
	return json_pack("{s:[o,o]}", "$or", same_type, cond_new(path, "$eq", json_null()));
}

/* $or over i of (k1 == v1 AND ... AND k(i-1) == v(i-1) AND ki after vi). New reference. */
static json_t *keyset_filter(const struct sort_spec *sort, const json_t *values)
{
	json_t *branches = json_array(), *terms = NULL, *after = NULL;

	for (size_t i = 0; i < sort->n; i++) {
		after = keyset_after(sort->keys[i].path, json_array_get(values, i),
				     sort->keys[i].dir);
		if (after == NULL)
			continue;
		terms = json_array();
		for (size_t j = 0; j < i; j++)
			json_array_append_new(terms,
					      cond_new(sort->keys[j].path, "$eq",
						       json_copy(json_array_get(values, j))));
		json_array_append_new(terms, after);
		json_array_append_new(branches, json_pack("{s:o}", "$and", terms));
	}
	if (json_array_size(branches) == 0) {
		json_decref(branches);
		return json_pack("{s:{s:[]}}", "_id", "$in");
	}
	return json_pack("{s:o}", "$or", branches);
}

/* Checks a cursor against the sort; *values gets the decoded array. */
static int cursor_decode(const char *cursor, const struct sort_spec *sort, json_t **values,
			 struct err *e)
{
	uint8_t buf[STORE_MAX_CURSOR_BYTES];
	size_t len = strnlen(cursor, STORE_MAX_CURSOR_BYTES + 1), n = 0, i;
	json_t *v = NULL, *item;

	*values = NULL;
	if (len == 0 || len > STORE_MAX_CURSOR_BYTES ||
	    codec_b64url_decode(cursor, len, buf, sizeof(buf), &n) != 0)
		goto bad;
	v = jsonx_loadb((const char *)buf, n, sizeof(buf), 1, NULL);
	if (!json_is_array(v) || json_array_size(v) != sort->n ||
	    !json_is_string(json_array_get(v, sort->n - 1)))
		goto bad;
	json_array_foreach (v, i, item) {
		if (json_is_object(item) || json_is_array(item))
			goto bad;
	}
	*values = v;
	return 0;
bad:
	json_decref(v);
	return err_set(e, ERR_INVALID, "bad cursor: not from this query's previous page");
}

static int cursor_encode(const json_t *doc, const struct sort_spec *sort, char **out, struct err *e)
{
	json_t *values = json_array(), *v;
	char *text = NULL;
	size_t len = 0;
	int rc = -1;

	*out = NULL;
	for (size_t i = 0; i < sort->n; i++) {
		v = jsonx_path_get(doc, sort->keys[i].path);
		if (json_is_object(v) || json_is_array(v)) {
			err_set(e, ERR_UNSUPPORTED, "cannot page past an object or array in %s",
				sort->keys[i].path);
			goto done;
		}
		json_array_append_new(values, v ? json_copy(v) : json_null());
	}
	text = jsonx_dumps_compact(values, &len);
	if (codec_b64url_len(len) > STORE_MAX_CURSOR_BYTES) {
		err_set(e, ERR_TOO_LARGE, "sort values are too long for a cursor");
		goto done;
	}
	*out = malloc(codec_b64url_len(len) + 1);
	if (*out == NULL)
		abort();
	codec_b64url_encode(text, len, *out);
	rc = 0;
done:
	free(text);
	json_decref(values);
	return rc;
}

/* Moves *a and *b under a new AND node, which *a then points to. */
static void filter_and(struct filter_node **a, struct filter_node *b)
{
	struct filter_node *root = calloc(1, sizeof(*root));

	if (root == NULL)
		abort();
	root->op = FILTER_AND;
	root->nkids = 2;
	root->kids = calloc(2, sizeof(*root->kids));
	if (root->kids == NULL)
		abort();
	root->kids[0] = **a;
	root->kids[1] = *b;
	free(*a);
	free(b);
	*a = root;
}

/* The user filter ANDed with the cursor's keyset terms. Each part is parsed on its own so the
 * filter limits apply to what the caller wrote, not to terms we add. */
static int add_cursor(struct prepared *p, const char *cursor, struct err *e)
{
	json_t *values = NULL, *keyset = NULL;
	struct filter_node *kf = NULL;
	int rc = -1;

	if (cursor_decode(cursor, &p->sort, &values, e) != 0)
		return -1;
	keyset = keyset_filter(&p->sort, values);
	if (filter_parse(p->coll, keyset, &kf, e) != 0) {
		/* Only a forged cursor can make this fail: values were checked scalars. */
		err_set(e, ERR_INVALID, "bad cursor");
		goto done;
	}
	filter_and(&p->filter, kf);
	p->filter_json = json_pack("{s:[o,O]}", "$and", p->filter_json, keyset);
	if (p->filter_json == NULL)
		abort();
	rc = 0;
done:
	json_decref(keyset);
	json_decref(values);
	return rc;
}

static void prepared_free(struct prepared *p)
{
	json_decref(p->filter_json);
	filter_free(p->filter);
	update_free(p->update);
	memset(p, 0, sizeof(*p));
}

/* Resolves collection, filter (NULL is {}), sort, cursor and update into *p. */
static int prepare(struct store *s, const char *coll, const json_t *filter,
		   const struct store_sort *sort, size_t nsort, const char *cursor,
		   const json_t *update, struct prepared *p, struct err *e)
{
	memset(p, 0, sizeof(*p));
	p->coll = find_coll(s, coll, e);
	if (p->coll == NULL || resolve_sort(p->coll, sort, nsort, &p->sort, e) != 0)
		return -1;
	p->filter_json = filter ? json_incref((json_t *)filter) : json_object();
	if (filter_parse(p->coll, p->filter_json, &p->filter, e) != 0)
		goto fail;
	if (cursor != NULL && add_cursor(p, cursor, e) != 0)
		goto fail;
	if (update != NULL && update_parse(p->coll, update, &p->update, e) != 0)
		goto fail;
	return 0;
fail:
	prepared_free(p);
	return -1;
}

static struct store_query query_of(const struct prepared *p, size_t limit)
{
	return (struct store_query){
		.coll = p->coll,
		.filter = p->filter,
		.filter_json = p->filter_json,
		.sort = p->sort.keys,
		.nsort = p->sort.n,
		.limit = limit,
	};
}

int store_insert(struct store *s, const char *coll, json_t *doc, struct err *e)
{
	const struct store_collection *c = find_coll(s, coll, e);
	char id[ID_HEX_LEN + 1];
	bool added = false;

	if (c == NULL)
		return -1;
	if (!json_is_object(doc))
		return err_set(e, ERR_INVALID, "a document must be a JSON object");
	if (json_object_get(doc, "_id") == NULL) {
		id_new(id);
		json_object_set_new(doc, "_id", json_string(id));
		added = true;
	}
	if (store_check_doc(doc, e) == 0 && s->backend->insert(s, c, doc, e) == 0)
		return 0;
	/* The caller's document is left as it came when nothing was stored. */
	if (added && json_object_del(doc, "_id") != 0)
		abort();
	return -1;
}

int store_get(struct store *s, const char *coll, const char *id, json_t **doc, struct err *e)
{
	json_t *filter = NULL;
	int rc;

	*doc = NULL;
	if (id == NULL || id[0] == '\0' || strlen(id) > STORE_MAX_ID_BYTES)
		return err_set(e, ERR_INVALID, "_id must be a string of 1 to %d bytes",
			       STORE_MAX_ID_BYTES);
	filter = json_pack("{s:s}", "_id", id);
	if (filter == NULL)
		return err_set(e, ERR_INVALID, "_id must be UTF-8");
	rc = store_find_one(s, coll, filter, NULL, 0, doc, e);
	json_decref(filter);
	return rc;
}

/* A find's projection: the caller's fields, "_id", and the top-level field of each sort path
 * (so the page's cursor can be read from the projected documents), without repeats. */
struct projection {
	char names[STORE_MAX_FIELDS + STORE_MAX_SORT_KEYS + 1][STORE_MAX_FIELD_NAME + 1];
	const char *ptrs[STORE_MAX_FIELDS + STORE_MAX_SORT_KEYS + 2];
	size_t n;
};

static bool field_name_valid(const char *f)
{
	size_t len = f ? strlen(f) : 0;

	if (len == 0 || len > STORE_MAX_FIELD_NAME ||
	    !(isalpha((unsigned char)f[0]) || f[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!isalnum((unsigned char)f[i]) && f[i] != '_')
			return false;
	return true;
}

static void projection_add(struct projection *pr, const char *name, size_t len)
{
	for (size_t i = 0; i < pr->n; i++)
		if (strlen(pr->names[i]) == len && strncmp(pr->names[i], name, len) == 0)
			return;
	memcpy(pr->names[pr->n], name, len);
	pr->names[pr->n][len] = '\0';
	pr->ptrs[pr->n] = pr->names[pr->n];
	pr->ptrs[++pr->n] = NULL;
}

static int projection_build(const char *const *fields, const struct sort_spec *sort,
			    struct projection *pr, struct err *e)
{
	size_t n = 0;

	pr->n = 0;
	pr->ptrs[0] = NULL;
	if (fields == NULL)
		return 0;
	for (; fields[n] != NULL; n++) {
		if (n >= STORE_MAX_FIELDS)
			return err_set(e, ERR_INVALID, "a find projects at most %d fields",
				       STORE_MAX_FIELDS);
		if (!field_name_valid(fields[n]))
			return err_set(e, ERR_INVALID,
				       "projected field %zu is not a top-level name", n);
	}
	projection_add(pr, "_id", 3);
	for (size_t i = 0; i < n; i++)
		projection_add(pr, fields[i], strlen(fields[i]));
	/* Sort paths were validated: their first segment fits a field name. */
	for (size_t i = 0; i < sort->n; i++)
		projection_add(pr, sort->keys[i].path, strcspn(sort->keys[i].path, "."));
	return 0;
}

/* Drops the look-ahead document of a page, and makes the cursor that follows it. */
static int finish_page(json_t *docs, size_t limit, const struct sort_spec *sort, char **next_cursor,
		       struct err *e)
{
	if (json_array_size(docs) <= limit)
		return 0;
	if (json_array_remove(docs, limit) != 0)
		abort();
	if (next_cursor == NULL)
		return 0;
	return cursor_encode(json_array_get(docs, limit - 1), sort, next_cursor, e);
}

int store_find(struct store *s, const char *coll, const json_t *filter,
	       const struct store_find_opts *opts, json_t **docs, char **next_cursor, struct err *e)
{
	static const struct store_find_opts defaults = {0};
	struct prepared p = {0};
	struct projection pr;
	struct store_query q;
	json_t *page = NULL;
	size_t limit = 0;
	int rc = -1;

	*docs = NULL;
	if (next_cursor != NULL)
		*next_cursor = NULL;
	if (opts == NULL)
		opts = &defaults;
	if (resolve_limit(opts->limit, &limit, e) != 0 ||
	    prepare(s, coll, filter, opts->sort, opts->nsort, opts->cursor, NULL, &p, e) != 0)
		return -1;
	if (projection_build(opts->fields, &p.sort, &pr, e) != 0)
		goto done;
	/* One document more than asked says whether another page follows. */
	q = query_of(&p, limit + 1);
	q.fields = pr.n > 0 ? pr.ptrs : NULL;
	if (s->backend->find(s, &q, &page, e) != 0)
		goto done;
	if (finish_page(page, limit, &p.sort, next_cursor, e) != 0)
		goto done;
	*docs = page;
	page = NULL;
	rc = 0;
done:
	json_decref(page);
	prepared_free(&p);
	return rc;
}

int store_find_one(struct store *s, const char *coll, const json_t *filter,
		   const struct store_sort *sort, size_t nsort, json_t **doc, struct err *e)
{
	struct store_find_opts opts = {.sort = sort, .nsort = nsort, .limit = 1};
	json_t *page = NULL;

	*doc = NULL;
	if (store_find(s, coll, filter, &opts, &page, NULL, e) != 0)
		return -1;
	*doc = json_incref(json_array_get(page, 0));
	json_decref(page);
	return 0;
}

int store_find_one_and_update(struct store *s, const char *coll, const json_t *filter,
			      const json_t *update, const struct store_sort *sort, size_t nsort,
			      unsigned flags, json_t **doc, struct err *e)
{
	struct prepared p = {0};
	struct store_query q;
	json_t *upsert = NULL;
	int rc = -1;

	*doc = NULL;
	if ((flags & ~(unsigned)(STORE_RETURN_OLD | STORE_UPSERT)) != 0)
		return err_set(e, ERR_INVALID, "unknown find_one_and_update flags");
	if (update == NULL)
		return err_set(e, ERR_INVALID, "an update needs at least one operator");
	if (prepare(s, coll, filter, sort, nsort, NULL, update, &p, e) != 0)
		return -1;
	/* An upsert that could not be inserted is refused now, not after a miss. */
	if ((flags & STORE_UPSERT) && update_upsert_doc(p.filter, p.update, &upsert, e) != 0)
		goto done;
	q = query_of(&p, 1);
	rc = s->backend->find_one_and_update(s, &q, p.update, update, flags, doc, e);
done:
	json_decref(upsert);
	prepared_free(&p);
	return rc;
}

static int update_common(struct store *s, const char *coll, const json_t *filter,
			 const json_t *update, bool many, size_t *matched, struct err *e)
{
	struct prepared p = {0};
	struct store_query q;
	size_t n = 0;
	int rc;

	if (matched != NULL)
		*matched = 0;
	if (update == NULL)
		return err_set(e, ERR_INVALID, "an update needs at least one operator");
	if (prepare(s, coll, filter, NULL, 0, NULL, update, &p, e) != 0)
		return -1;
	q = query_of(&p, many ? 0 : 1);
	rc = s->backend->update(s, &q, p.update, update, many, &n, e);
	if (rc == 0 && matched != NULL)
		*matched = n;
	prepared_free(&p);
	return rc;
}

int store_update_one(struct store *s, const char *coll, const json_t *filter, const json_t *update,
		     size_t *matched, struct err *e)
{
	return update_common(s, coll, filter, update, false, matched, e);
}

int store_update_many(struct store *s, const char *coll, const json_t *filter, const json_t *update,
		      size_t *matched, struct err *e)
{
	return update_common(s, coll, filter, update, true, matched, e);
}

static int delete_common(struct store *s, const char *coll, const json_t *filter, bool many,
			 size_t *deleted, struct err *e)
{
	struct prepared p = {0};
	struct store_query q;
	size_t n = 0;
	int rc;

	if (deleted != NULL)
		*deleted = 0;
	if (prepare(s, coll, filter, NULL, 0, NULL, NULL, &p, e) != 0)
		return -1;
	q = query_of(&p, many ? 0 : 1);
	rc = s->backend->delete (s, &q, many, &n, e);
	if (rc == 0 && deleted != NULL)
		*deleted = n;
	prepared_free(&p);
	return rc;
}

int store_delete_one(struct store *s, const char *coll, const json_t *filter, size_t *deleted,
		     struct err *e)
{
	return delete_common(s, coll, filter, false, deleted, e);
}

int store_delete_many(struct store *s, const char *coll, const json_t *filter, size_t *deleted,
		      struct err *e)
{
	return delete_common(s, coll, filter, true, deleted, e);
}

int store_count(struct store *s, const char *coll, const json_t *filter, size_t *n, struct err *e)
{
	struct prepared p = {0};
	struct store_query q;
	int rc;

	*n = 0;
	if (prepare(s, coll, filter, NULL, 0, NULL, NULL, &p, e) != 0)
		return -1;
	q = query_of(&p, 0);
	rc = s->backend->count(s, &q, n, e);
	prepared_free(&p);
	return rc;
}
