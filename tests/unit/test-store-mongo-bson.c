/* Unit tests of the MongoDB backend's JSON <-> BSON converter; no server needed.
 *
 * Round trips are data-driven: each case is a JSON text that must come back from BSON with the
 * same values, the same types (integers stay integers, reals reals) and the same key order,
 * which comparing compact dumps in insertion order checks at once. The one-way mappings (BSON
 * int32 and dates in, refused BSON types) and the limits are tested from hand-built BSON. */
#include <config.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <bson/bson.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jansson.h>

#include "lib/err.h"
#include "lib/store-mongo-bson.h"

/* Criterion runs each parameter in a new process image: cases hold their text, not pointers. */
struct round_trip {
	char name[32];
	char json[320];
	size_t load_flags;
};

static const struct round_trip round_trips[] = {
	{"empty", "{}", 0},
	{"scalars", "{\"s\":\"x\",\"i\":1,\"r\":1.5,\"t\":true,\"f\":false,\"n\":null}", 0},
	{"key order",
	 "{\"b\":1,\"a\":2,\"_id\":\"x\",\"c\":{\"z\":1,\"y\":2,\"x\":{\"q\":0,\"p\":0}}}", 0},
	{"nested", "{\"z\":{\"y\":{\"x\":[1,[2,[3,{}]],{\"k\":\"v\"}]}},\"a\":[],\"o\":{}}", 0},
	{"mixed array", "{\"a\":[1,\"a\",null,true,false,1.5,{\"a\":[]},[[]]]}", 0},
	{"int64 extremes",
	 "{\"max\":9223372036854775807,\"min\":-9223372036854775808,\"i32max\":2147483647,"
	 "\"i32min\":-2147483648,\"over\":2147483648,\"under\":-2147483649,\"zero\":0,\"neg\":-1}",
	 0},
	{"reals",
	 "{\"tenth\":0.1,\"tiny\":-2.5e-300,\"max\":1.7976931348623157e308,\"negzero\":-0.0,"
	 "\"min\":5e-324,\"whole\":3.0}",
	 0},
	{"unicode",
	 "{\"caf\\u00e9\":\"na\\u00efve \\u2603 \\ud834\\udd1e\",\"\\u65e5\\u672c\":\"\\u8a9e\","
	 "\"ctl\":\"a\\tb\\nc\\u0001\"}",
	 0},
	{"embedded nul", "{\"k\":\"a\\u0000b\"}", JSON_ALLOW_NUL},
	{"long array", "{\"a\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22]}", 0},
	{"dotted keys stay keys", "{\"a\":{\"b.c\":1,\"$d\":2,\"\":3}}", 0},
};

ParameterizedTestParameters(mongo_bson, round_trip)
{
	return cr_make_param_array(struct round_trip, round_trips,
				   sizeof(round_trips) / sizeof(round_trips[0]));
}

static char *dump(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

ParameterizedTest(const struct round_trip *rt, mongo_bson, round_trip)
{
	json_error_t jerr;
	json_t *in = json_loads(rt->json, rt->load_flags, &jerr);
	struct err e = {0};
	bson_t *b;
	json_t *out;
	char *a, *z;

	cr_assert_not_null(in, "%s: fixture does not parse: %s", rt->name, jerr.text);
	b = store_mongo_json_to_bson(in, &e);
	cr_assert_not_null(b, "%s: %s", rt->name, e.msg);
	out = store_mongo_bson_to_json(b, &e);
	cr_assert_not_null(out, "%s: %s", rt->name, e.msg);
	cr_assert(json_equal(in, out), "%s: values differ", rt->name);
	a = dump(in);
	z = dump(out);
	cr_assert_str_eq(z, a, "%s: order or types differ", rt->name);
	free(a);
	free(z);
	json_decref(out);
	json_decref(in);
	bson_destroy(b);
}

Test(mongo_bson, integers_are_int64_and_arrays_keyed_by_index)
{
	json_t *in = json_pack("{s:i, s:[s, s, s]}", "n", 1, "a", "x", "y", "z");
	struct err e = {0};
	bson_t *b = store_mongo_json_to_bson(in, &e);
	bson_iter_t it, child;
	const char *keys[] = {"0", "1", "2"};
	int i = 0;

	cr_assert_not_null(b, "%s", e.msg);
	cr_assert(bson_iter_init_find(&it, b, "n"));
	cr_assert_eq(bson_iter_type(&it), BSON_TYPE_INT64);
	cr_assert(bson_iter_init_find(&it, b, "a"));
	cr_assert(BSON_ITER_HOLDS_ARRAY(&it));
	cr_assert(bson_iter_recurse(&it, &child));
	while (bson_iter_next(&child)) {
		cr_assert_lt(i, 3);
		cr_assert_str_eq(bson_iter_key(&child), keys[i]);
		i++;
	}
	cr_assert_eq(i, 3);
	bson_destroy(b);
	json_decref(in);
}

Test(mongo_bson, bson_key_order_follows_json)
{
	json_t *in = json_loads("{\"zeta\":1,\"alpha\":2,\"mid\":3}", 0, NULL);
	const char *want[] = {"zeta", "alpha", "mid"};
	struct err e = {0};
	bson_t *b = store_mongo_json_to_bson(in, &e);
	bson_iter_t it;
	int i = 0;

	cr_assert_not_null(b, "%s", e.msg);
	cr_assert(bson_iter_init(&it, b));
	while (bson_iter_next(&it))
		cr_assert_str_eq(bson_iter_key(&it), want[i++]);
	cr_assert_eq(i, 3);
	bson_destroy(b);
	json_decref(in);
}

Test(mongo_bson, int32_reads_as_integer)
{
	bson_t b = BSON_INITIALIZER;
	struct err e = {0};
	json_t *out;

	BSON_APPEND_INT32(&b, "small", -7);
	BSON_APPEND_INT32(&b, "max", INT32_MAX);
	out = store_mongo_bson_to_json(&b, &e);
	cr_assert_not_null(out, "%s", e.msg);
	cr_assert(json_is_integer(json_object_get(out, "small")));
	cr_assert_eq(json_integer_value(json_object_get(out, "small")), -7);
	cr_assert_eq(json_integer_value(json_object_get(out, "max")), INT32_MAX);
	json_decref(out);
	bson_destroy(&b);
}

struct date_case {
	int64_t ms;
	char iso[32]; /* "": refused */
};

static const struct date_case date_cases[] = {
	{0, "1970-01-01T00:00:00.000Z"},
	{INT64_C(1795407420123), "2026-11-23T04:17:00.123Z"},
	{INT64_C(253402300799999), "9999-12-31T23:59:59.999Z"},
	{-1, ""},
	{INT64_C(253402300800000), ""},
};

ParameterizedTestParameters(mongo_bson, dates)
{
	return cr_make_param_array(struct date_case, date_cases,
				   sizeof(date_cases) / sizeof(date_cases[0]));
}

ParameterizedTest(const struct date_case *dc, mongo_bson, dates)
{
	bson_t b = BSON_INITIALIZER;
	struct err e = {0};
	json_t *out;

	BSON_APPEND_DATE_TIME(&b, "at", dc->ms);
	out = store_mongo_bson_to_json(&b, &e);
	if (dc->iso[0] == '\0') {
		cr_assert_null(out);
		cr_assert_eq(e.code, ERR_UNSUPPORTED);
	} else {
		cr_assert_not_null(out, "%s", e.msg);
		cr_assert_str_eq(json_string_value(json_object_get(out, "at")), dc->iso);
		json_decref(out);
	}
	bson_destroy(&b);
}

enum bad_kind {
	BAD_OID,
	BAD_BINARY,
	BAD_DECIMAL,
	BAD_REGEX,
	BAD_TIMESTAMP,
	BAD_NAN,
	BAD_INF,
	BAD_UTF8,
	BAD_NESTED_OID,
};

static const enum bad_kind bad_kinds[] = {
	BAD_OID, BAD_BINARY, BAD_DECIMAL, BAD_REGEX,      BAD_TIMESTAMP,
	BAD_NAN, BAD_INF,    BAD_UTF8,    BAD_NESTED_OID,
};

ParameterizedTestParameters(mongo_bson, refused_bson)
{
	return cr_make_param_array(enum bad_kind, bad_kinds,
				   sizeof(bad_kinds) / sizeof(bad_kinds[0]));
}

static void append_bad(bson_t *b, enum bad_kind k)
{
	static const uint8_t bytes[] = {1, 2, 3};
	bson_decimal128_t dec;
	bson_oid_t oid;
	bson_t child;

	bson_oid_init_from_string(&oid, "0123456789abcdef01234567");
	switch (k) {
	case BAD_OID:
		BSON_APPEND_OID(b, "_id", &oid);
		break;
	case BAD_BINARY:
		BSON_APPEND_BINARY(b, "bin", BSON_SUBTYPE_BINARY, bytes, sizeof(bytes));
		break;
	case BAD_DECIMAL:
		cr_assert(bson_decimal128_from_string("1.5", &dec));
		BSON_APPEND_DECIMAL128(b, "dec", &dec);
		break;
	case BAD_REGEX:
		BSON_APPEND_REGEX(b, "re", "^a", "i");
		break;
	case BAD_TIMESTAMP:
		BSON_APPEND_TIMESTAMP(b, "ts", 1, 1);
		break;
	case BAD_NAN:
		BSON_APPEND_DOUBLE(b, "d", NAN);
		break;
	case BAD_INF:
		BSON_APPEND_DOUBLE(b, "d", -INFINITY);
		break;
	case BAD_UTF8:
		bson_append_utf8(b, "s", -1, "a\xff", 2);
		break;
	case BAD_NESTED_OID:
		BSON_APPEND_ARRAY_BEGIN(b, "a", &child);
		BSON_APPEND_OID(&child, "0", &oid);
		bson_append_array_end(b, &child);
		break;
	}
}

ParameterizedTest(const enum bad_kind *k, mongo_bson, refused_bson)
{
	bson_t b = BSON_INITIALIZER;
	struct err e = {0};

	BSON_APPEND_UTF8(&b, "ok", "before");
	append_bad(&b, *k);
	cr_assert_null(store_mongo_bson_to_json(&b, &e));
	cr_assert_eq(e.code, ERR_UNSUPPORTED, "kind %d: %s", (int)*k, e.msg);
	bson_destroy(&b);
}

Test(mongo_bson, non_object_is_invalid)
{
	json_t *arr = json_array();
	struct err e = {0};

	cr_assert_null(store_mongo_json_to_bson(arr, &e));
	cr_assert_eq(e.code, ERR_INVALID);
	json_decref(arr);
}

static json_t *nest_json(int levels)
{
	json_t *v = json_object();
	int i;

	for (i = 1; i < levels; i++)
		v = json_pack("{s:o}", "k", v);
	return v;
}

Test(mongo_bson, depth_is_bounded_both_ways)
{
	struct err e = {0};
	json_t *ok = nest_json(64), *deep = nest_json(65), *out;
	bson_t *b;

	b = store_mongo_json_to_bson(ok, &e);
	cr_assert_not_null(b, "%s", e.msg);
	out = store_mongo_bson_to_json(b, &e);
	cr_assert_not_null(out, "%s", e.msg);
	cr_assert(json_equal(ok, out));
	json_decref(out);
	bson_destroy(b);
	cr_assert_null(store_mongo_json_to_bson(deep, &e));
	cr_assert_eq(e.code, ERR_TOO_DEEP);
	json_decref(deep);
	json_decref(ok);
}

static bson_t *nest_bson(int levels)
{
	bson_t *inner = bson_new(), *outer;
	int i;

	for (i = 1; i < levels; i++) {
		outer = bson_new();
		BSON_APPEND_DOCUMENT(outer, "k", inner);
		bson_destroy(inner);
		inner = outer;
	}
	return inner;
}

Test(mongo_bson, deep_bson_is_refused)
{
	struct err e = {0};
	bson_t *b = nest_bson(65);

	cr_assert_null(store_mongo_bson_to_json(b, &e));
	cr_assert_eq(e.code, ERR_TOO_DEEP);
	bson_destroy(b);
}

Test(mongo_bson, corrupt_bson_is_io)
{
	/* {"a": <string claiming 100 bytes>}: the length runs past the document's end. */
	static const uint8_t bytes[] = {16, 0, 0, 0,   0x02, 'a', 0, 100,
					0,  0, 0, 'x', 'y',  'z', 0, 0};
	struct err e = {0};
	bson_t b;

	cr_assert(bson_init_static(&b, bytes, sizeof(bytes)));
	cr_assert_null(store_mongo_bson_to_json(&b, &e));
	cr_assert_eq(e.code, ERR_IO);
}
