/* Unit tests of update parsing and application, upsert documents and the document checks.
 *
 * JSON is written with single quotes ("{'a':1}") and converted by J(). Parsing is a table of
 * update -> expected code; application is a table of (document, update) -> expected document
 * or code, compared with json_equal, which is type-strict (3 is not 3.0), so integer versus
 * real results are checked too. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/ids.h"
#include "lib/limits.h"
#include "lib/store-internal.h"
#include "tests/harness.h"

static const struct store_collection coll = {"things", NULL, NULL};

#define J harness_json

static enum err_code parse_code(const json_t *update, struct update **out)
{
	struct err e = {0};

	if (update_parse(&coll, update, out, &e) == 0)
		return ERR_OK;
	cr_expect_neq(e.msg[0], '\0', "failure without a message");
	cr_expect_null(*out);
	return e.code;
}

static const struct {
	const char *update;
	enum err_code code;
} parse_cases[] = {
	{"{'$set':{'a':1}}", ERR_OK},
	{"{'$set':{'a.b':{'c':[1,{'d':null}]}}}", ERR_OK},
	{"{'$set':{'_idx':1,'x._id':2}}", ERR_OK},
	{"{'$unset':{'a':''}}", ERR_OK},
	{"{'$unset':{'a':{'$ignored':1}}}", ERR_OK},
	{"{'$inc':{'n':1,'m':-2.5}}", ERR_OK},
	{"{'$push':{'l':{'x':1}}}", ERR_OK},
	{"{'$pull':{'l':'x'}}", ERR_OK},
	{"{'$pull':{'l':[1]}}", ERR_OK},
	{"{'$set':{'a':1},'$inc':{'b':1},'$unset':{'c':1},'$push':{'d':1},'$pull':{'e':1}}",
	 ERR_OK},
	/* shape */
	{"{}", ERR_INVALID},
	{"[]", ERR_INVALID},
	{"null", ERR_INVALID},
	{"{'a':1}", ERR_INVALID},
	{"{'$foo':{'a':1}}", ERR_INVALID},
	{"{'$rename':{'a':'b'}}", ERR_INVALID},
	{"{'$set':{}}", ERR_INVALID},
	{"{'$set':1}", ERR_INVALID},
	{"{'$set':[['a',1]]}", ERR_INVALID},
	/* _id */
	{"{'$set':{'_id':'x'}}", ERR_INVALID},
	{"{'$unset':{'_id':1}}", ERR_INVALID},
	{"{'$set':{'_id.x':1}}", ERR_INVALID},
	{"{'$inc':{'_id':1}}", ERR_INVALID},
	/* conflicts */
	{"{'$set':{'a':1},'$inc':{'a':1}}", ERR_INVALID},
	{"{'$set':{'a':1,'a.b':2}}", ERR_INVALID},
	{"{'$set':{'a.b':1},'$unset':{'a':1}}", ERR_INVALID},
	{"{'$push':{'a.b.c':1},'$pull':{'a.b':1}}", ERR_INVALID},
	{"{'$set':{'ab':1,'a':2,'a_b':3}}", ERR_OK},
	/* operands */
	{"{'$inc':{'n':'1'}}", ERR_INVALID},
	{"{'$inc':{'n':null}}", ERR_INVALID},
	{"{'$inc':{'n':true}}", ERR_INVALID},
	{"{'$set':{'a':{'$x':1}}}", ERR_INVALID},
	{"{'$set':{'a':{'b.c':1}}}", ERR_INVALID},
	{"{'$set':{'a':[{'':1}]}}", ERR_INVALID},
	{"{'$push':{'l':{'$each':[1,2]}}}", ERR_INVALID},
	{"{'$pull':{'l':{'a':1}}}", ERR_UNSUPPORTED},
	{"{'$pull':{'l':{'$in':[1]}}}", ERR_UNSUPPORTED},
	/* paths */
	{"{'$set':{'':1}}", ERR_INVALID},
	{"{'$set':{'a..b':1}}", ERR_INVALID},
	{"{'$set':{'$a':1}}", ERR_INVALID},
	{"{'$set':{'a.0':1}}", ERR_INVALID},
	{"{'$set':{'a.b.c.d.e.f.g.h.i':1}}", ERR_INVALID},
};

Test(update, parse_table)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		json_t *u = J(parse_cases[i].update);
		struct update *parsed = NULL;
		enum err_code got = parse_code(u, &parsed);

		cr_expect_eq(got, parse_cases[i].code, "%s: got %s, want %s", parse_cases[i].update,
			     err_code_name(got), err_code_name(parse_cases[i].code));
		update_free(parsed);
		json_decref(u);
	}
}

Test(update, parse_items)
{
	json_t *u = J("{'$set':{'a':1,'b.c':'x'},'$inc':{'n':2}}");
	struct update *p = NULL;

	cr_assert_eq(parse_code(u, &p), ERR_OK);
	json_decref(u);
	cr_assert_eq(p->n, 3);
	cr_expect_eq(p->items[0].op, UPDATE_SET);
	cr_expect_str_eq(p->items[1].path, "b.c");
	cr_expect_str_eq(json_string_value(p->items[1].value), "x");
	cr_expect_eq(p->items[2].op, UPDATE_INC);
	update_free(p);
	update_free(NULL);
}

Test(update, field_limit)
{
	json_t *fields = json_object(), *u;
	struct update *p = NULL;
	char key[16];

	for (int i = 0; i < STORE_MAX_UPDATE_FIELDS; i++) {
		snprintf(key, sizeof(key), "f%d", i);
		json_object_set_new(fields, key, json_integer(i));
	}
	u = json_pack("{s:O}", "$set", fields);
	cr_expect_eq(parse_code(u, &p), ERR_OK);
	update_free(p);
	p = NULL;
	json_decref(u);
	u = json_pack("{s:O,s:{s:i}}", "$set", fields, "$inc", "extra", 1);
	cr_expect_eq(parse_code(u, &p), ERR_TOO_LARGE);
	json_decref(u);
	json_decref(fields);
}

/* {"a":{"a":...{}}} with `depth` levels of objects. */
static json_t *deep(int depth)
{
	json_t *v = json_object();

	for (int i = 1; i < depth; i++)
		v = json_pack("{s:o}", "a", v);
	return v;
}

Test(update, value_depth_limit)
{
	struct update *p = NULL;
	json_t *u = json_pack("{s:{s:o}}", "$set", "v", deep(STORE_MAX_DEPTH));

	cr_expect_eq(parse_code(u, &p), ERR_OK);
	update_free(p);
	p = NULL;
	json_decref(u);
	u = json_pack("{s:{s:o}}", "$push", "v", deep(STORE_MAX_DEPTH + 1));
	cr_expect_eq(parse_code(u, &p), ERR_TOO_DEEP);
	json_decref(u);
}

static const struct {
	const char *doc;
	const char *update;
	const char *want; /* NULL when `code` is expected */
	enum err_code code;
} apply_cases[] = {
	{"{}", "{'$set':{'a':1}}", "{'a':1}", ERR_OK},
	{"{'a':0}", "{'$set':{'a':'x'}}", "{'a':'x'}", ERR_OK},
	{"{}", "{'$set':{'a.b.c':1}}", "{'a':{'b':{'c':1}}}", ERR_OK},
	{"{'a':{'x':1}}", "{'$set':{'a.b':2}}", "{'a':{'x':1,'b':2}}", ERR_OK},
	{"{}", "{'$set':{'a':{'b':[1,{'c':null}]}}}", "{'a':{'b':[1,{'c':null}]}}", ERR_OK},
	{"{'a':1}", "{'$set':{'a.b':2}}", NULL, ERR_INVALID},
	{"{'a':[1]}", "{'$set':{'a.b':2}}", NULL, ERR_INVALID},
	{"{'a':'s'}", "{'$set':{'a.b.c':2}}", NULL, ERR_INVALID},
	{"{'a':1,'b':2}", "{'$unset':{'a':''}}", "{'b':2}", ERR_OK},
	{"{'a':{'b':1,'c':2}}", "{'$unset':{'a.b':1}}", "{'a':{'c':2}}", ERR_OK},
	{"{'a':1}", "{'$unset':{'x.y':1}}", "{'a':1}", ERR_OK},
	{"{'a':1}", "{'$unset':{'a.y':1}}", "{'a':1}", ERR_OK},
	{"{}", "{'$inc':{'n':5}}", "{'n':5}", ERR_OK},
	{"{}", "{'$inc':{'n':0.5}}", "{'n':0.5}", ERR_OK},
	{"{}", "{'$inc':{'a.b':1}}", "{'a':{'b':1}}", ERR_OK},
	{"{'n':1}", "{'$inc':{'n':2}}", "{'n':3}", ERR_OK},
	{"{'n':1}", "{'$inc':{'n':-3}}", "{'n':-2}", ERR_OK},
	{"{'n':1}", "{'$inc':{'n':0.5}}", "{'n':1.5}", ERR_OK},
	{"{'n':1.5}", "{'$inc':{'n':1}}", "{'n':2.5}", ERR_OK},
	{"{'n':2.0}", "{'$inc':{'n':1}}", "{'n':3.0}", ERR_OK},
	{"{'n':'x'}", "{'$inc':{'n':1}}", NULL, ERR_INVALID},
	{"{'n':null}", "{'$inc':{'n':1}}", NULL, ERR_INVALID},
	{"{'n':true}", "{'$inc':{'n':1}}", NULL, ERR_INVALID},
	{"{'n':[1]}", "{'$inc':{'n':1}}", NULL, ERR_INVALID},
	{"{'n':9223372036854775807}", "{'$inc':{'n':1}}", NULL, ERR_INVALID},
	{"{'n':-9223372036854775808}", "{'$inc':{'n':-1}}", NULL, ERR_INVALID},
	{"{'n':1e308}", "{'$inc':{'n':1e308}}", NULL, ERR_INVALID},
	{"{'a':1}", "{'$inc':{'a.b':1}}", NULL, ERR_INVALID},
	{"{}", "{'$push':{'l':1}}", "{'l':[1]}", ERR_OK},
	{"{}", "{'$push':{'a.l':'x'}}", "{'a':{'l':['x']}}", ERR_OK},
	{"{'l':[1]}", "{'$push':{'l':{'x':1}}}", "{'l':[1,{'x':1}]}", ERR_OK},
	{"{'l':[]}", "{'$push':{'l':[2]}}", "{'l':[[2]]}", ERR_OK},
	{"{'l':1}", "{'$push':{'l':1}}", NULL, ERR_INVALID},
	{"{'l':{'a':1}}", "{'$push':{'l':1}}", NULL, ERR_INVALID},
	{"{'l':[1,2,1,'1',1.0,true]}", "{'$pull':{'l':1}}", "{'l':[2,'1',true]}", ERR_OK},
	{"{'l':['a','b','a']}", "{'$pull':{'l':'a'}}", "{'l':['b']}", ERR_OK},
	{"{'l':[null,1]}", "{'$pull':{'l':null}}", "{'l':[1]}", ERR_OK},
	{"{'l':[[1],[2],1]}", "{'$pull':{'l':[1]}}", "{'l':[[2],1]}", ERR_OK},
	{"{'l':[2]}", "{'$pull':{'l':1}}", "{'l':[2]}", ERR_OK},
	{"{}", "{'$pull':{'l':1}}", "{}", ERR_OK},
	{"{'l':'x'}", "{'$pull':{'l':'x'}}", NULL, ERR_INVALID},
	{"{'a':1,'n':1,'z':0}", "{'$set':{'a':2},'$inc':{'n':1},'$unset':{'z':1}}", "{'a':2,'n':2}",
	 ERR_OK},
};

Test(update, apply_table)
{
	for (size_t i = 0; i < sizeof(apply_cases) / sizeof(apply_cases[0]); i++) {
		json_t *doc = J(apply_cases[i].doc), *u = J(apply_cases[i].update);
		struct update *p = NULL;
		struct err e = {0};
		int rc;

		cr_assert_eq(parse_code(u, &p), ERR_OK, "%s does not parse", apply_cases[i].update);
		rc = update_apply(p, doc, &e);
		if (apply_cases[i].want == NULL) {
			cr_expect_eq(rc, -1, "%s on %s: should fail", apply_cases[i].update,
				     apply_cases[i].doc);
			cr_expect_eq(e.code, apply_cases[i].code, "%s on %s: got %s",
				     apply_cases[i].update, apply_cases[i].doc,
				     err_code_name(e.code));
		} else {
			json_t *want = J(apply_cases[i].want);
			char *got = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);

			cr_expect_eq(rc, 0, "%s on %s: %s", apply_cases[i].update,
				     apply_cases[i].doc, e.msg);
			cr_expect(json_equal(doc, want), "%s on %s: got %s, want %s",
				  apply_cases[i].update, apply_cases[i].doc, got,
				  apply_cases[i].want);
			free(got);
			json_decref(want);
		}
		update_free(p);
		json_decref(u);
		json_decref(doc);
	}
}

/* Operands are copied in: applying twice, then changing the update, leaves two independent
 * copies in the document. */
Test(update, apply_copies_operands)
{
	json_t *u = J("{'$push':{'l':{'x':1}},'$set':{'o':{'y':1}}}");
	json_t *doc = json_object();
	struct update *p = NULL;

	cr_assert_eq(parse_code(u, &p), ERR_OK);
	cr_assert_eq(update_apply(p, doc, NULL), 0);
	cr_assert_eq(update_apply(p, doc, NULL), 0);
	json_object_set_new(p->items[0].value, "x", json_integer(99));
	json_object_set_new(json_array_get(json_object_get(doc, "l"), 0), "x", json_integer(5));
	cr_expect_eq(json_integer_value(
			     json_object_get(json_array_get(json_object_get(doc, "l"), 1), "x")),
		     1);
	cr_expect_eq(json_array_size(json_object_get(doc, "l")), 2);
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(doc, "o"), "y")), 1);
	update_free(p);
	json_decref(u);
	json_decref(doc);
}

static json_t *upsert_of(const char *filter, const char *update, enum err_code *code)
{
	const struct store_collection *c = &coll;
	json_t *f = J(filter), *u = J(update), *doc = NULL;
	struct filter_node *fn = NULL;
	struct update *up = NULL;
	struct err e = {0};

	cr_assert_eq(filter_parse(c, f, &fn, &e), 0, "%s: %s", filter, e.msg);
	cr_assert_eq(update_parse(c, u, &up, &e), 0, "%s: %s", update, e.msg);
	*code = update_upsert_doc(fn, up, &doc, &e) == 0 ? ERR_OK : e.code;
	filter_free(fn);
	update_free(up);
	json_decref(f);
	json_decref(u);
	return doc;
}

Test(update, upsert_doc)
{
	enum err_code code;
	json_t *doc = upsert_of("{'a':1,'b.c':'x','n':{'$gt':1},'$or':[{'z':1},{'z':2}],"
				"'$and':[{'k':{'$eq':true}},{'m':null}]}",
				"{'$set':{'d':1},'$inc':{'a2':2}}", &code);
	json_t *want = J("{'a':1,'b':{'c':'x'},'k':true,'m':null,'d':1,'a2':2}");

	cr_assert_eq(code, ERR_OK);
	cr_expect(id_valid(json_string_value(json_object_get(doc, "_id"))));
	json_object_del(doc, "_id");
	cr_expect(json_equal(doc, want));
	json_decref(doc);
	json_decref(want);

	doc = upsert_of("{'_id':'fixed','n':1}", "{'$inc':{'n':2}}", &code);
	cr_assert_eq(code, ERR_OK);
	want = J("{'_id':'fixed','n':3}");
	cr_expect(json_equal(doc, want));
	json_decref(doc);
	json_decref(want);
}

Test(update, upsert_doc_rejections)
{
	static const struct {
		const char *filter, *update;
		enum err_code code;
	} cases[] = {
		{"{'$and':[{'a':1},{'a':2}]}", "{'$set':{'b':1}}", ERR_INVALID},
		{"{'a':1}", "{'$set':{'a.b':1}}", ERR_INVALID},
		{"{'a':'x'}", "{'$inc':{'a':1}}", ERR_INVALID},
		{"{'_id':5}", "{'$set':{'b':1}}", ERR_INVALID},
		{"{'_id.x':'y'}", "{'$set':{'b':1}}", ERR_INVALID},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum err_code code = ERR_OK;
		json_t *doc = upsert_of(cases[i].filter, cases[i].update, &code);

		cr_expect_null(doc, "%s", cases[i].filter);
		cr_expect_eq(code, cases[i].code, "%s + %s: got %s", cases[i].filter,
			     cases[i].update, err_code_name(code));
	}
}

static const struct {
	const char *doc;
	enum err_code code;
} doc_cases[] = {
	{"{'_id':'x'}", ERR_OK},
	{"{'_id':'x','a':{'b':[1,{'c':'d'}]},'e':null}", ERR_OK},
	{"{'_id':'x','a b':1,'c-d':2,'é':3,'a$':4}", ERR_OK},
	{"{}", ERR_INVALID},
	{"{'a':1}", ERR_INVALID},
	{"{'_id':1}", ERR_INVALID},
	{"{'_id':''}", ERR_INVALID},
	{"{'_id':null}", ERR_INVALID},
	{"{'_id':{'a':1}}", ERR_INVALID},
	{"{'_id':'x','$a':1}", ERR_INVALID},
	{"{'_id':'x','a.b':1}", ERR_INVALID},
	{"{'_id':'x','':1}", ERR_INVALID},
	{"{'_id':'x','a':{'$b':1}}", ERR_INVALID},
	{"{'_id':'x','a':[{'b.c':1}]}", ERR_INVALID},
	{"{'_id':'x','a':[[{'':1}]]}", ERR_INVALID},
	{"[]", ERR_INVALID},
	{"'x'", ERR_INVALID},
};

Test(check_doc, table)
{
	for (size_t i = 0; i < sizeof(doc_cases) / sizeof(doc_cases[0]); i++) {
		json_t *doc = J(doc_cases[i].doc);
		struct err e = {0};
		int rc = store_check_doc(doc, &e);

		cr_expect_eq(rc == 0 ? ERR_OK : e.code, doc_cases[i].code, "%s: got %s (%s)",
			     doc_cases[i].doc, err_code_name(rc == 0 ? ERR_OK : e.code), e.msg);
		json_decref(doc);
	}
}

Test(check_doc, id_length)
{
	char id[STORE_MAX_ID_BYTES + 2];
	json_t *doc;

	memset(id, 'i', sizeof(id));
	id[STORE_MAX_ID_BYTES] = '\0';
	doc = json_pack("{s:s}", "_id", id);
	cr_expect_eq(store_check_doc(doc, NULL), 0);
	json_decref(doc);
	id[STORE_MAX_ID_BYTES] = 'i';
	id[STORE_MAX_ID_BYTES + 1] = '\0';
	doc = json_pack("{s:s}", "_id", id);
	cr_expect_eq(store_check_doc(doc, NULL), -1);
	json_decref(doc);
}

Test(check_doc, depth)
{
	json_t *doc = deep(STORE_MAX_DEPTH);
	struct err e = {0};

	json_object_set_new(doc, "_id", json_string("x"));
	cr_expect_eq(store_check_doc(doc, &e), 0, "%s", e.msg);
	json_decref(doc);
	doc = deep(STORE_MAX_DEPTH + 1);
	json_object_set_new(doc, "_id", json_string("x"));
	cr_expect_eq(store_check_doc(doc, &e), -1);
	cr_expect_eq(e.code, ERR_TOO_DEEP);
	json_decref(doc);
}

/* {"_id":"x","pad":"ppp..."} of exactly `bytes` bytes in compact form. */
static json_t *doc_of_size(size_t bytes)
{
	static const size_t overhead = sizeof("{\"_id\":\"x\",\"pad\":\"\"}") - 1;
	char *pad = malloc(bytes - overhead + 1);
	json_t *doc;

	cr_assert_not_null(pad);
	memset(pad, 'p', bytes - overhead);
	pad[bytes - overhead] = '\0';
	doc = json_pack("{s:s,s:s}", "_id", "x", "pad", pad);
	free(pad);
	return doc;
}

Test(check_doc, size)
{
	json_t *doc = doc_of_size(STORE_MAX_DOC_BYTES);
	struct err e = {0};

	cr_expect_eq(store_check_doc(doc, &e), 0, "%s", e.msg);
	json_decref(doc);
	doc = doc_of_size(STORE_MAX_DOC_BYTES + 1);
	cr_expect_eq(store_check_doc(doc, &e), -1);
	cr_expect_eq(e.code, ERR_TOO_LARGE);
	json_decref(doc);
}

Test(check_doc, nul_bytes)
{
	json_t *doc = json_pack("{s:s}", "_id", "x");

	json_object_set_new(doc, "s", json_stringn("a\0b", 3));
	cr_expect_eq(store_check_doc(doc, NULL), -1);
	json_decref(doc);
#if JANSSON_VERSION_HEX >= 0x020e00
	doc = json_pack("{s:s}", "_id", "x");
	json_object_setn_new(doc, "k\0ey", 4, json_integer(1));
	cr_expect_eq(store_check_doc(doc, NULL), -1);
	json_decref(doc);
#endif
}

Test(check_doc, value)
{
	json_t *v = J("[1,{'a':'b'}]");

	cr_expect_eq(store_check_value(v, NULL), 0);
	json_decref(v);
	v = J("{'a':{'$b':1}}");
	cr_expect_eq(store_check_value(v, NULL), -1);
	json_decref(v);
	v = deep(STORE_MAX_DEPTH + 1);
	cr_expect_eq(store_check_value(v, NULL), -1);
	json_decref(v);
}
