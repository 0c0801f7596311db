/* Unit tests of the filter parser: every accepted shape and every rejection, from tables.
 *
 * Filters are written with single quotes for readability ("{'a':1}") and turned into JSON by
 * J(); each table row is a filter and the error code filter_parse must give (ERR_OK to accept).
 * Shape tests then check the tree a few filters parse into. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/limits.h"
#include "lib/store-internal.h"
#include "tests/harness.h"

static const char *const array_paths[] = {"tags", "actor.teamIds", NULL};
static const struct store_collection coll = {"things", array_paths, NULL};

#define J harness_json

static enum err_code parse_code(const json_t *filter, struct filter_node **out)
{
	struct err e = {0};
	int rc = filter_parse(&coll, filter, out, &e);

	if (rc == 0)
		return ERR_OK;
	cr_expect_neq(e.code, ERR_OK, "failure without a code");
	cr_expect_neq(e.msg[0], '\0', "failure without a message");
	cr_expect_null(*out);
	return e.code;
}

static const struct {
	const char *filter;
	enum err_code code;
} cases[] = {
	/* accepted */
	{"{}", ERR_OK},
	{"{'a':1}", ERR_OK},
	{"{'a':'x','b':2.5,'c':true,'d':false,'e':null}", ERR_OK},
	{"{'a.b.c':1}", ERR_OK},
	{"{'_id':'abc'}", ERR_OK},
	{"{'a':{'$eq':1}}", ERR_OK},
	{"{'a':{'$eq':null}}", ERR_OK},
	{"{'a':{'$ne':'x'}}", ERR_OK},
	{"{'a':{'$in':[1,'x',null,true]}}", ERR_OK},
	{"{'a':{'$in':[]}}", ERR_OK},
	{"{'a':{'$nin':['x']}}", ERR_OK},
	{"{'a':{'$gt':1,'$lt':5}}", ERR_OK},
	{"{'a':{'$gte':'a','$lte':'z'}}", ERR_OK},
	{"{'a':{'$exists':true}}", ERR_OK},
	{"{'a':{'$exists':false}}", ERR_OK},
	{"{'$and':[{'a':1},{'b':2}]}", ERR_OK},
	{"{'$or':[{'a':1},{'b':{'$gt':2}}]}", ERR_OK},
	{"{'$or':[{'$and':[{'a':1},{'b':1}]},{'c':1}],'d':1}", ERR_OK},
	{"{'$and':[{}]}", ERR_OK},
	{"{'a b':1, 'c-d.e\\u00e9':2}", ERR_OK},
	/* unknown operators */
	{"{'a':{'$foo':1}}", ERR_INVALID},
	{"{'a':{'$regex':'x'}}", ERR_INVALID},
	{"{'a':{'$not':{'$eq':1}}}", ERR_INVALID},
	{"{'$where':'1'}", ERR_INVALID},
	{"{'$nor':[{'a':1}]}", ERR_INVALID},
	{"{'$eq':1}", ERR_INVALID},
	/* objects and arrays as values */
	{"{'a':{'b':1}}", ERR_UNSUPPORTED},
	{"{'a':{}}", ERR_UNSUPPORTED},
	{"{'a':[1,2]}", ERR_UNSUPPORTED},
	{"{'a':{'$eq':{'b':1}}}", ERR_UNSUPPORTED},
	{"{'a':{'$ne':[1]}}", ERR_UNSUPPORTED},
	{"{'a':{'$in':[{'b':1}]}}", ERR_UNSUPPORTED},
	{"{'a':{'$in':[[1]]}}", ERR_UNSUPPORTED},
	{"{'a':{'$gt':{'b':1}}}", ERR_UNSUPPORTED},
	/* operator arguments */
	{"{'a':{'$in':1}}", ERR_INVALID},
	{"{'a':{'$nin':'x'}}", ERR_INVALID},
	{"{'a':{'$exists':1}}", ERR_INVALID},
	{"{'a':{'$exists':null}}", ERR_INVALID},
	{"{'a':{'$gt':true}}", ERR_INVALID},
	{"{'a':{'$lt':null}}", ERR_INVALID},
	{"{'a':{'$gt':1,'b':2}}", ERR_INVALID},
	/* logical operators */
	{"{'$and':[]}", ERR_INVALID},
	{"{'$or':[]}", ERR_INVALID},
	{"{'$and':{'a':1}}", ERR_INVALID},
	{"{'$or':[1]}", ERR_INVALID},
	{"{'$or':[{'a':{'$bad':1}}]}", ERR_INVALID},
	/* paths */
	{"{'':1}", ERR_INVALID},
	{"{'a..b':1}", ERR_INVALID},
	{"{'.a':1}", ERR_INVALID},
	{"{'a.':1}", ERR_INVALID},
	{"{'a.$b':1}", ERR_INVALID},
	{"{'a$':1}", ERR_INVALID},
	{"{'a.0':1}", ERR_INVALID},
	{"{'a\\u0022b':1}", ERR_INVALID},
	{"{'a\\\\b':1}", ERR_INVALID},
	{"{'a\\tb':1}", ERR_INVALID},
	{"{'a.b.c.d.e.f.g.h':1}", ERR_OK},
	{"{'a.b.c.d.e.f.g.h.i':1}", ERR_INVALID},
	/* not an object */
	{"[]", ERR_INVALID},
	{"1", ERR_INVALID},
	{"null", ERR_INVALID},
};

Test(filter, table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *f = J(cases[i].filter);
		struct filter_node *node = NULL;
		enum err_code got = parse_code(f, &node);

		cr_expect_eq(got, cases[i].code, "%s: got %s, want %s", cases[i].filter,
			     err_code_name(got), err_code_name(cases[i].code));
		cr_expect((got == ERR_OK) == (node != NULL), "%s: tree iff success",
			  cases[i].filter);
		filter_free(node);
		json_decref(f);
	}
}

Test(filter, unknown_operator_message)
{
	json_t *f = J("{'a':{'$foo':1}}");
	struct filter_node *node = NULL;
	struct err e = {0};

	cr_assert_eq(filter_parse(&coll, f, &node, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
	cr_expect_str_eq(e.msg, "unknown operator $foo");
	json_decref(f);
}

Test(filter, null_filter_free)
{
	filter_free(NULL);
}

Test(filter, shapes)
{
	struct filter_node *n = NULL;
	json_t *f = J("{}");

	cr_assert_eq(parse_code(f, &n), ERR_OK);
	cr_expect_eq(n->op, FILTER_TRUE);
	filter_free(n);
	json_decref(f);

	f = J("{'a.b':'x'}");
	cr_assert_eq(parse_code(f, &n), ERR_OK);
	cr_expect_eq(n->op, FILTER_EQ);
	cr_expect_str_eq(n->path, "a.b");
	cr_expect_str_eq(json_string_value(n->value), "x");
	cr_expect_not(n->path_is_array);
	filter_free(n);
	json_decref(f);

	f = J("{'a':{'$gt':1,'$lt':5},'tags':'x'}");
	cr_assert_eq(parse_code(f, &n), ERR_OK);
	cr_assert_eq(n->op, FILTER_AND);
	cr_assert_eq(n->nkids, 3);
	cr_expect_eq(n->kids[0].op, FILTER_GT);
	cr_expect_eq(n->kids[1].op, FILTER_LT);
	cr_expect_eq(n->kids[2].op, FILTER_EQ);
	cr_expect(n->kids[2].path_is_array);
	filter_free(n);
	json_decref(f);

	f = J("{'$or':[{'actor.teamIds':{'$in':['t']}},{'$and':[{'b':1},{'c':{'$exists':false}}]}]"
	      "}");
	cr_assert_eq(parse_code(f, &n), ERR_OK);
	cr_assert_eq(n->op, FILTER_OR);
	cr_assert_eq(n->nkids, 2);
	cr_expect_eq(n->kids[0].op, FILTER_IN);
	cr_expect(n->kids[0].path_is_array);
	cr_expect(json_is_array(n->kids[0].value));
	cr_assert_eq(n->kids[1].op, FILTER_AND);
	cr_assert_eq(n->kids[1].nkids, 2);
	cr_expect_eq(n->kids[1].kids[1].op, FILTER_EXISTS);
	cr_expect(json_is_false(n->kids[1].kids[1].value));
	filter_free(n);
	json_decref(f);
}

/* The tree must not borrow from the JSON it was parsed from. */
Test(filter, tree_outlives_json)
{
	struct filter_node *n = NULL;
	json_t *f = J("{'name':{'$in':['a','b']}}");

	cr_assert_eq(parse_code(f, &n), ERR_OK);
	json_decref(f);
	cr_expect_str_eq(n->path, "name");
	cr_expect_eq(json_array_size(n->value), 2);
	filter_free(n);
}

/* {"$and":[{"$and":[ ... {"a":1} ... ]}]} with `levels` logical levels. */
static json_t *nested(int levels)
{
	json_t *f = json_pack("{s:i}", "a", 1);

	for (int i = 0; i < levels; i++)
		f = json_pack("{s:[o]}", i % 2 ? "$or" : "$and", f);
	return f;
}

Test(filter, depth_limit)
{
	struct filter_node *n = NULL;
	json_t *f = nested(STORE_MAX_FILTER_DEPTH);

	cr_expect_eq(parse_code(f, &n), ERR_OK);
	filter_free(n);
	n = NULL;
	json_decref(f);
	f = nested(STORE_MAX_FILTER_DEPTH + 1);
	cr_expect_eq(parse_code(f, &n), ERR_TOO_DEEP);
	json_decref(f);
}

static json_t *many_terms(int nterms)
{
	json_t *f = json_object();
	char key[16];

	for (int i = 0; i < nterms; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		json_object_set_new(f, key, json_integer(i));
	}
	return f;
}

Test(filter, term_limit)
{
	struct filter_node *n = NULL;
	json_t *f = many_terms(STORE_MAX_FILTER_TERMS);

	cr_expect_eq(parse_code(f, &n), ERR_OK);
	cr_expect_eq(n->nkids, STORE_MAX_FILTER_TERMS);
	filter_free(n);
	n = NULL;
	json_decref(f);
	f = many_terms(STORE_MAX_FILTER_TERMS + 1);
	cr_expect_eq(parse_code(f, &n), ERR_TOO_LARGE);
	json_decref(f);
	/* Operators on one path count one each. */
	f = many_terms(STORE_MAX_FILTER_TERMS - 1);
	json_object_set_new(f, "a", json_pack("{s:i,s:i}", "$gt", 1, "$lt", 2));
	cr_expect_eq(parse_code(f, &n), ERR_TOO_LARGE);
	json_decref(f);
}

Test(filter, in_limit)
{
	struct filter_node *n = NULL;
	json_t *vals = json_array(), *f;

	for (int i = 0; i < STORE_MAX_IN_VALUES; i++)
		json_array_append_new(vals, json_integer(i));
	f = json_pack("{s:{s:O}}", "a", "$in", vals);
	cr_expect_eq(parse_code(f, &n), ERR_OK);
	filter_free(n);
	n = NULL;
	json_decref(f);
	json_array_append_new(vals, json_integer(-1));
	f = json_pack("{s:{s:O}}", "a", "$nin", vals);
	cr_expect_eq(parse_code(f, &n), ERR_TOO_LARGE);
	json_decref(f);
	json_decref(vals);
}

Test(filter, path_length_limit)
{
	char path[STORE_MAX_PATH_LEN + 2];
	struct filter_node *n = NULL;
	json_t *f;

	memset(path, 'p', sizeof(path));
	path[STORE_MAX_PATH_LEN] = '\0';
	f = json_pack("{s:i}", path, 1);
	cr_expect_eq(parse_code(f, &n), ERR_OK);
	filter_free(n);
	n = NULL;
	json_decref(f);
	path[STORE_MAX_PATH_LEN] = 'p';
	path[STORE_MAX_PATH_LEN + 1] = '\0';
	f = json_pack("{s:i}", path, 1);
	cr_expect_eq(parse_code(f, &n), ERR_INVALID);
	json_decref(f);
}

#if JANSSON_VERSION_HEX >= 0x020e00
Test(filter, nul_in_key)
{
	struct filter_node *n = NULL;
	json_t *f = json_object();

	json_object_setn_new(f, "a\0b", 3, json_integer(1));
	cr_expect_eq(parse_code(f, &n), ERR_INVALID);
	json_decref(f);
}
#endif

static const struct {
	const char *path;
	bool ok;
} paths[] = {
	{"a", true},      {"a.b", true},   {"_id", true},   {"a1.b_2", true}, {"x y", true},
	{"it's", true},   {"a-b.c", true}, {"0a", true},    {"", false},      {".", false},
	{"a.", false},    {".a", false},   {"a..b", false}, {"$a", false},    {"a.$", false},
	{"a.1", false},   {"1", false},    {"a\"b", false}, {"a\\b", false},  {"a\nb", false},
	{"a\x7f", false},
};

Test(filter, check_path_table)
{
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct err e = {0};
		int rc = store_check_path(paths[i].path, &e);

		cr_expect_eq(rc == 0, paths[i].ok, "path '%s': rc %d (%s)", paths[i].path, rc,
			     e.msg);
		if (rc != 0)
			cr_expect_eq(e.code, ERR_INVALID);
	}
	cr_expect_eq(store_check_path(NULL, NULL), -1);
}
