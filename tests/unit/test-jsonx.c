/* Unit tests of lib/jsonx.c: bounded parsing, depth, stable dumps and dotted paths.
 *
 * Parsing cases are a table of {text, code}; depth limits are probed exactly at the limit and
 * one over, for arrays and objects, and far past jansson's own parser limit. Path tests start
 * from a small document parsed fresh for each test. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/jsonx.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static json_t *parse(const char *text)
{
	struct err e = {0};
	json_t *v = jsonx_loadb(text, strlen(text), JSON_MAX_BYTES, JSON_MAX_DEPTH, &e);

	cr_assert_not_null(v, "%s: %s", text, e.msg);
	return v;
}

/* depth nested arrays (or objects under key "k") around 1. malloc'd. */
static char *nested(int depth, bool objects)
{
	char *s = malloc((size_t)depth * 6 + 2), *p = s;

	cr_assert_not_null(s);
	for (int i = 0; i < depth; i++)
		p = stpcpy(p, objects ? "{\"k\":" : "[");
	*p++ = '1';
	for (int i = 0; i < depth; i++)
		*p++ = objects ? '}' : ']';
	*p = '\0';
	return s;
}

Test(jsonx, loadb_table)
{
	static const struct {
		const char *text;
		enum err_code code;
	} cases[] = {
		{"{}", ERR_OK},
		{"[]", ERR_OK},
		{"{\"a\":[1,2,{\"b\":null}],\"c\":\"\\u00e9\"}", ERR_OK},
		{"  {\"a\":1}  \n", ERR_OK},
		{"42", ERR_OK},
		{"\"text\"", ERR_OK},
		{"null", ERR_OK},
		{"", ERR_INVALID},
		{"   ", ERR_INVALID},
		{"{", ERR_INVALID},
		{"{\"a\":", ERR_INVALID},
		{"[1,2", ERR_INVALID},
		{"\"unterminated", ERR_INVALID},
		{"{\"a\":1}x", ERR_INVALID},
		{"{\"a\":1}{}", ERR_INVALID},
		{"[] []", ERR_INVALID},
		{"{\"a\":1,\"a\":2}", ERR_INVALID},
		{"{\"x\":{\"a\":1,\"a\":1}}", ERR_INVALID},
		{"\"nul\\u0000inside\"", ERR_INVALID},
		{"{'a':1}", ERR_INVALID},
		{"[1,]", ERR_INVALID},
		{"NaN", ERR_INVALID},
		{"\"\xff\"", ERR_INVALID},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct err e = {0};
		json_t *v = jsonx_loadb(cases[i].text, strlen(cases[i].text), JSON_MAX_BYTES,
					JSON_MAX_DEPTH, &e);

		if (cases[i].code == ERR_OK) {
			cr_expect_not_null(v, "'%s': %s", cases[i].text, e.msg);
		} else {
			cr_expect_null(v, "'%s' accepted", cases[i].text);
			cr_expect_eq(e.code, cases[i].code, "'%s': %s", cases[i].text, e.msg);
		}
		json_decref(v);
	}
}

Test(jsonx, loadb_uses_only_len_bytes)
{
	static const char text[] = "{\"a\":1}garbage";
	json_t *v = jsonx_loadb(text, 7, JSON_MAX_BYTES, JSON_MAX_DEPTH, NULL);

	cr_assert_not_null(v);
	json_decref(v);
}

Test(jsonx, loadb_size_limit)
{
	static const char text[] = "[1,2,3]"; /* 7 bytes */
	struct err e = {0};
	json_t *v = jsonx_loadb(text, 7, 7, JSON_MAX_DEPTH, &e);

	cr_assert_not_null(v, "%s", e.msg);
	json_decref(v);
	cr_expect_null(jsonx_loadb(text, 7, 6, JSON_MAX_DEPTH, &e));
	cr_expect_eq(e.code, ERR_TOO_LARGE);
}

Test(jsonx, loadb_depth_limit)
{
	for (int objects = 0; objects <= 1; objects++) {
		char *at = nested(JSON_MAX_DEPTH, objects),
		     *over = nested(JSON_MAX_DEPTH + 1, objects);
		struct err e = {0};
		json_t *v = jsonx_loadb(at, strlen(at), JSON_MAX_BYTES, JSON_MAX_DEPTH, &e);

		cr_expect_not_null(v, "exactly at the limit: %s", e.msg);
		cr_expect_eq(jsonx_depth(v, JSON_MAX_DEPTH), JSON_MAX_DEPTH);
		json_decref(v);
		v = jsonx_loadb(over, strlen(over), JSON_MAX_BYTES, JSON_MAX_DEPTH, &e);
		cr_expect_null(v, "one over the limit");
		cr_expect_eq(e.code, ERR_TOO_DEEP, "%s", e.msg);
		json_decref(v);
		free(at);
		free(over);
	}
}

Test(jsonx, loadb_far_too_deep_is_too_deep)
{
	/* Past jansson's own parser limit (2048): still a depth error, not a syntax error. */
	char *deep = nested(5000, false);
	struct err e = {0};

	cr_expect_null(jsonx_loadb(deep, strlen(deep), JSON_MAX_BYTES, JSON_MAX_DEPTH, &e));
	cr_expect_eq(e.code, ERR_TOO_DEEP, "%s", e.msg);
	free(deep);
}

Test(jsonx, depth_table)
{
	static const struct {
		const char *text;
		int cap, want;
	} cases[] = {
		{"1", 32, 0},
		{"\"s\"", 32, 0},
		{"[]", 32, 1},
		{"{}", 32, 1},
		{"[1,2,3]", 32, 1},
		{"[[]]", 32, 2},
		{"{\"a\":{\"b\":[1]}}", 32, 3},
		{"[1,[2,[3]],{\"a\":{}}]", 32, 3},
		{"[[[[]]]]", 4, 4},
		{"[[[[]]]]", 3, 4},
		{"[[[[]]]]", 2, 3},
		{"[[[[]]]]", 0, 1},
		{"[[[[[[[[[[]]]]]]]]]]", 5, 6},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		json_t *v = parse(cases[i].text);

		cr_expect_eq(jsonx_depth(v, cases[i].cap), cases[i].want, "%s cap %d",
			     cases[i].text, cases[i].cap);
		json_decref(v);
	}
}

Test(jsonx, dumps_compact_keeps_order)
{
	json_t *v = parse("{ \"b\" : 1, \"a\" : [ true, null ] }");
	size_t len = 0;
	char *s = jsonx_dumps_compact(v, &len);

	cr_expect_str_eq(s, "{\"b\":1,\"a\":[true,null]}");
	cr_expect_eq(len, strlen(s));
	free(s);
	json_decref(v);
	v = json_integer(5);
	s = jsonx_dumps_compact(v, NULL);
	cr_expect_str_eq(s, "5");
	free(s);
	json_decref(v);
}

Test(jsonx, dumps_stable_sorts_recursively)
{
	json_t *a = parse("{\"z\":1,\"a\":{\"y\":[{\"q\":1,\"b\":2}],\"c\":3},\"m\":\"x\"}");
	json_t *b = parse("{\"m\":\"x\",\"a\":{\"c\":3,\"y\":[{\"b\":2,\"q\":1}]},\"z\":1}");
	char *sa = jsonx_dumps_stable(a), *sb = jsonx_dumps_stable(b);

	cr_expect_str_eq(sa, "{\"a\":{\"c\":3,\"y\":[{\"b\":2,\"q\":1}]},\"m\":\"x\",\"z\":1}");
	cr_expect_str_eq(sa, sb);
	free(sa);
	free(sb);
	json_decref(a);
	json_decref(b);
}

Test(jsonx, dumps_stable_differs_for_different_values)
{
	json_t *a = parse("{\"a\":[1,2]}"), *b = parse("{\"a\":[2,1]}");
	char *sa = jsonx_dumps_stable(a), *sb = jsonx_dumps_stable(b);

	/* Arrays keep their order: only object keys are sorted. */
	cr_expect_str_neq(sa, sb);
	free(sa);
	free(sb);
	json_decref(a);
	json_decref(b);
}

Test(jsonx, str_accessor)
{
	json_t *v = parse("{\"s\":\"text\",\"n\":1}");

	cr_expect_str_eq(jsonx_str(v, "s"), "text");
	cr_expect_null(jsonx_str(v, "n"));
	cr_expect_null(jsonx_str(v, "missing"));
	cr_expect_null(jsonx_str(NULL, "s"));
	json_decref(v);
}

Test(jsonx, path_get)
{
	static const struct {
		const char *path, *want; /* want: compact JSON, or NULL for no value */
	} cases[] = {
		{"a", "{\"b\":{\"c\":1},\"s\":\"x\",\"arr\":[{\"d\":2}]}"},
		{"a.b", "{\"c\":1}"},
		{"a.b.c", "1"},
		{"a.s", "\"x\""},
		{"a.s.t", NULL},   /* through a scalar */
		{"a.arr.0", NULL}, /* paths walk objects only */
		{"a.arr.0.d", NULL},
		{"a.nope", NULL},
		{"nope.b", NULL},
		{"top", "true"},
	};
	json_t *doc = parse(
		"{\"a\":{\"b\":{\"c\":1},\"s\":\"x\",\"arr\":[{\"d\":2}]},\"top\":true}");

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		json_t *v = jsonx_path_get(doc, cases[i].path);

		if (cases[i].want == NULL) {
			cr_expect_null(v, "%s", cases[i].path);
		} else {
			char *s = NULL;

			cr_assert_not_null(v, "%s", cases[i].path);
			s = jsonx_dumps_compact(v, NULL);
			cr_expect_str_eq(s, cases[i].want, "%s", cases[i].path);
			free(s);
		}
	}
	json_decref(doc);
	doc = json_array();
	cr_expect_null(jsonx_path_get(doc, "a"));
	json_decref(doc);
}

Test(jsonx, path_set_creates_intermediates)
{
	json_t *doc = parse("{\"a\":{\"keep\":1}}");
	struct err e = {0};
	char *s = NULL;

	cr_assert_eq(jsonx_path_set_new(doc, "a.b.c.d", json_integer(4), &e), 0, "%s", e.msg);
	cr_assert_eq(jsonx_path_set_new(doc, "top", json_string("t"), &e), 0, "%s", e.msg);
	cr_assert_eq(jsonx_path_set_new(doc, "a.keep", json_integer(2), &e), 0, "%s", e.msg);
	s = jsonx_dumps_compact(doc, NULL);
	cr_expect_str_eq(s, "{\"a\":{\"keep\":2,\"b\":{\"c\":{\"d\":4}}},\"top\":\"t\"}");
	free(s);
	json_decref(doc);
}

Test(jsonx, path_set_refuses_walking_through_scalar)
{
	static const char *const paths[] = {"a.s.x", "a.n.x.y", "a.arr.x", "top.x"};
	json_t *doc = parse("{\"a\":{\"s\":\"x\",\"n\":null,\"arr\":[]},\"top\":1}");
	char *before = jsonx_dumps_compact(doc, NULL), *after = NULL;

	for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
		struct err e = {0};
		json_t *value = json_string("stolen");

		cr_expect_eq(jsonx_path_set_new(doc, paths[i], value, &e), -1, "%s", paths[i]);
		cr_expect_eq(e.code, ERR_INVALID, "%s", paths[i]);
	}
	after = jsonx_dumps_compact(doc, NULL);
	cr_expect_str_eq(after, before);
	free(before);
	free(after);
	json_decref(doc);
}

Test(jsonx, path_set_on_non_object_root)
{
	json_t *arr = json_array();
	struct err e = {0};

	cr_expect_eq(jsonx_path_set_new(arr, "a", json_true(), &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
	json_decref(arr);
}

Test(jsonx, path_set_refuses_bad_segment)
{
	json_t *doc = json_object();
	struct err e = {0};
	char *s = NULL;

	/* A key that is not UTF-8 cannot be stored; nothing may be left half-made. */
	cr_expect_eq(jsonx_path_set_new(doc, "\xff.b", json_true(), &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
	cr_expect_eq(jsonx_path_set_new(doc, "a.\xff", json_true(), &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
	s = jsonx_dumps_compact(doc, NULL);
	cr_expect(strcmp(s, "{}") == 0 || strcmp(s, "{\"a\":{}}") == 0, "%s", s);
	free(s);
	json_decref(doc);
}

Test(jsonx, path_del)
{
	json_t *doc = parse("{\"a\":{\"b\":{\"c\":1,\"d\":2},\"s\":\"x\"},\"top\":1}");
	char *s = NULL;

	cr_expect_eq(jsonx_path_del(doc, "a.b.c"), 0);
	cr_expect_eq(jsonx_path_del(doc, "top"), 0);
	cr_expect_eq(jsonx_path_del(doc, "a.missing"), 0);
	cr_expect_eq(jsonx_path_del(doc, "missing.x.y"), 0);
	cr_expect_eq(jsonx_path_del(doc, "a.s.x"), 0);
	s = jsonx_dumps_compact(doc, NULL);
	cr_expect_str_eq(s, "{\"a\":{\"b\":{\"d\":2},\"s\":\"x\"}}");
	free(s);
	cr_expect_eq(jsonx_path_del(doc, "a"), 0);
	s = jsonx_dumps_compact(doc, NULL);
	cr_expect_str_eq(s, "{}");
	free(s);
	json_decref(doc);
}
