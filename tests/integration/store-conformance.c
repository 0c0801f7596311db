/* The store conformance suite: one set of tests that every backend must pass unchanged.
 *
 * Built twice, with -DCONFORMANCE_BACKEND_SQLITE (a fresh database file in a temp dir per
 * test) and -DCONFORMANCE_BACKEND_MONGODB (a fresh database with a random name per test on the
 * server of $SECOND_TEST_MONGODB_URI, dropped afterwards; without that variable the program
 * reports SKIP and exits 77). Each test opens the store in the suite's .init and closes it in
 * .fini, against the schema below: "people" holds the filter fixtures (array paths, embedded
 * objects, mixed types, null versus missing), "items" the sort and pagination data, "accounts"
 * the unique indexes (every account has all indexed keys, see store-sqlite.c on null keys),
 * "counters" the concurrency tests. The last few tests are SQLite's own (URI options, a pool
 * smaller than the thread count, the busy timeout) and are compiled for that backend only. */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/ids.h"
#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/store.h"
#include "tests/harness.h"

#ifdef CONFORMANCE_BACKEND_MONGODB
#include <mongoc/mongoc.h>
#elif defined(CONFORMANCE_BACKEND_SQLITE)
#include <sqlite3.h>
#else
#error "define CONFORMANCE_BACKEND_SQLITE or CONFORMANCE_BACKEND_MONGODB"
#endif

#define NTHREADS 8
#define NINCREMENTS 1000
#define CAS_ROUNDS 20
#define NITEMS 61

static const char *const people_arrays[] = {"tags", "meta.teamIds", NULL};
static const struct store_index people_indexes[] = {
	{.name = "conf_people_name", .keys = {"name"}},
	{.name = "conf_people_addr_city_age", .keys = {"addr.city", "-age"}},
	{.name = "conf_people_tags", .keys = {"tags"}},
	{.name = NULL},
};
static const struct store_index items_indexes[] = {
	{.name = "conf_items_grp_n", .keys = {"grp", "-n"}},
	{.name = NULL},
};
static const struct store_index accounts_indexes[] = {
	{.name = "conf_accounts_email_unique", .keys = {"email"}, .unique = true},
	{.name = "conf_accounts_ws_slug_unique", .keys = {"ws", "slug"}, .unique = true},
	{.name = "conf_accounts_ext_unique", .keys = {"extId"}, .unique = true, .sparse = true},
	{.name = NULL},
};
static const struct store_collection conf_collections[] = {
	{"people", people_arrays, people_indexes},
	{"items", NULL, items_indexes},
	{"accounts", NULL, accounts_indexes},
	{"counters", NULL, NULL},
};
static const struct store_schema conf_schema = {conf_collections, 4};

static struct store *S;
static char uri[1024];

#define J harness_json

#ifdef CONFORMANCE_BACKEND_MONGODB
/* $SECOND_TEST_MONGODB_URI with its database replaced by a fresh random one. */
static void make_uri(void)
{
	const char *base = getenv("SECOND_TEST_MONGODB_URI");
	const char *query = strchr(base, '?');
	const char *hosts = strstr(base, "://");
	size_t head = query ? (size_t)(query - base) : strlen(base);
	const char *slash = memchr(hosts + 3, '/', head - (size_t)(hosts + 3 - base));
	char id[ID_HEX_LEN + 1];

	if (slash != NULL)
		head = (size_t)(slash - base);
	id_new(id);
	snprintf(uri, sizeof(uri), "%.*s/second_conf_%s%s", (int)head, base, id,
		 query ? query : "");
}

static void drop_database(void)
{
	mongoc_client_t *client = mongoc_client_new(uri);
	mongoc_database_t *db = NULL;
	bson_error_t berr;

	if (client == NULL)
		return;
	db = mongoc_client_get_database(client,
					mongoc_uri_get_database(mongoc_client_get_uri(client)));
	if (!mongoc_database_drop(db, &berr))
		fprintf(stderr, "conformance: dropping the test database: %s\n", berr.message);
	mongoc_database_destroy(db);
	mongoc_client_destroy(client);
}
#else
static void make_uri(void)
{
	snprintf(uri, sizeof(uri), "sqlite:%s/conformance.db", harness_tmpdir());
}

static void drop_database(void)
{
}
#endif

static void setup(void)
{
	struct err e = {0};

	make_uri();
	cr_assert_eq(store_open(uri, &conf_schema, &S, &e), 0, "store_open: %s", e.msg);
}

static void teardown(void)
{
	store_close(S);
	S = NULL;
	drop_database();
}

TestSuite(store, .init = setup, .fini = teardown);

static void insert_text(const char *coll, const char *text)
{
	json_t *doc = J(text);
	struct err e = {0};

	cr_assert_eq(store_insert(S, coll, doc, &e), 0, "insert %s: %s", text, e.msg);
	json_decref(doc);
}

static size_t count_of(const char *coll, const char *filter)
{
	json_t *f = filter ? J(filter) : NULL;
	struct err e = {0};
	size_t n = 0;

	cr_assert_eq(store_count(S, coll, f, &n, &e), 0, "count %s: %s", filter, e.msg);
	json_decref(f);
	return n;
}

/* "id1,id2,..." of an array of documents; malloc'd. */
static char *ids_of(const json_t *docs)
{
	size_t i, len = 1;
	json_t *d;
	char *out;

	json_array_foreach (docs, i, d)
		len += strlen(jsonx_str(d, "_id")) + 1;
	out = calloc(1, len);
	cr_assert_not_null(out);
	json_array_foreach (docs, i, d) {
		if (i > 0)
			strcat(out, ",");
		strcat(out, jsonx_str(d, "_id"));
	}
	return out;
}

static json_t *get(const char *coll, const char *id)
{
	json_t *doc = NULL;
	struct err e = {0};

	cr_assert_eq(store_get(S, coll, id, &doc, &e), 0, "get %s: %s", id, e.msg);
	return doc;
}

/* The stored document equals `text` (compared with json_equal after dropping nothing). */
static void expect_doc(const char *coll, const char *id, const char *text)
{
	json_t *doc = get(coll, id), *want = J(text);
	char *got = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	cr_expect(json_equal(doc, want), "%s: got %s, want %s", id, got ? got : "(none)", text);
	free(got);
	json_decref(doc);
	json_decref(want);
}

static const char *const people[] = {
	"{'_id':'p1','name':'ann','age':30,'score':1.5,'active':true,'tags':['a','b'],"
	"'addr':{'city':'paris','zip':'75001'},'nick':null,'meta':{'teamIds':['t1']}}",
	"{'_id':'p2','name':'bob','age':25,'score':2,'active':false,'tags':['b'],"
	"'addr':{'city':'london'}}",
	"{'_id':'p3','name':'cid','age':'30','active':1,'tags':[],'addr':{'city':'paris'},"
	"'nick':'c'}",
	"{'_id':'p4','name':'dan','age':40.5,'active':0,'tags':'a','nick':null}",
	"{'_id':'p5','name':'eve','age':null,'tags':['c',null],'meta':{'teamIds':['t1','t2']}}",
	"{'_id':'p6','name':'fay','addr':{'city':'rome','zip':75001},'score':-1}",
	"{'_id':'p7','name':'gus','age':1,'active':true,'tags':['A']}",
};

static void insert_people(void)
{
	for (size_t i = 0; i < sizeof(people) / sizeof(people[0]); i++)
		insert_text("people", people[i]);
}

static const struct {
	const char *filter;
	const char *ids; /* in _id order */
} filter_cases[] = {
	{"{}", "p1,p2,p3,p4,p5,p6,p7"},
	/* implicit $eq, several fields */
	{"{'name':'ann'}", "p1"},
	{"{'name':'ann','age':30}", "p1"},
	{"{'name':'ann','age':31}", ""},
	{"{'_id':'p3'}", "p3"},
	/* $eq and type bracketing: number vs string, boolean vs 1/0, 1 == 1.0 */
	{"{'age':{'$eq':30}}", "p1"},
	{"{'age':30.0}", "p1"},
	{"{'age':'30'}", "p3"},
	{"{'active':true}", "p1,p7"},
	{"{'active':1}", "p3"},
	{"{'active':false}", "p2"},
	{"{'active':0}", "p4"},
	{"{'score':2.0}", "p2"},
	/* null matches null and missing */
	{"{'age':null}", "p5,p6"},
	{"{'nick':{'$eq':null}}", "p1,p2,p4,p5,p6,p7"},
	{"{'addr':null}", "p4,p5,p7"},
	/* dotted paths into embedded objects */
	{"{'addr.city':'paris'}", "p1,p3"},
	{"{'addr.zip':'75001'}", "p1"},
	{"{'addr.zip':75001}", "p6"},
	{"{'addr.city':{'$eq':'rome'}}", "p6"},
	{"{'addr.city.x':'paris'}", ""},
	/* array paths: any element; a scalar there is its own element */
	{"{'tags':'a'}", "p1,p4"},
	{"{'tags':'b'}", "p1,p2"},
	{"{'tags':null}", "p5,p6"},
	{"{'meta.teamIds':'t2'}", "p5"},
	{"{'meta.teamIds':'t1'}", "p1,p5"},
	{"{'tags':{'$in':['c','A']}}", "p5,p7"},
	{"{'tags':{'$nin':['a','b']}}", "p3,p5,p6,p7"},
	{"{'tags':{'$ne':'b'}}", "p3,p4,p5,p6,p7"},
	{"{'tags':{'$gt':'a'}}", "p1,p2,p5"},
	{"{'tags':{'$exists':false}}", "p6"},
	{"{'tags':{'$exists':true}}", "p1,p2,p3,p4,p5,p7"},
	/* $ne: missing fields match */
	{"{'name':{'$ne':'ann'}}", "p2,p3,p4,p5,p6,p7"},
	{"{'age':{'$ne':30}}", "p2,p3,p4,p5,p6,p7"},
	{"{'nick':{'$ne':null}}", "p3"},
	{"{'active':{'$ne':true}}", "p2,p3,p4,p5,p6"},
	/* $in / $nin */
	{"{'name':{'$in':['ann','bob','zed']}}", "p1,p2"},
	{"{'age':{'$in':[30,'30']}}", "p1,p3"},
	{"{'age':{'$in':[null,25]}}", "p2,p5,p6"},
	{"{'active':{'$in':[true,0]}}", "p1,p4,p7"},
	{"{'name':{'$in':[]}}", ""},
	{"{'name':{'$nin':[]}}", "p1,p2,p3,p4,p5,p6,p7"},
	{"{'age':{'$nin':[30,25,null]}}", "p3,p4,p7"},
	{"{'_id':{'$in':['p1','p9']}}", "p1"},
	/* ranges are type-bracketed */
	{"{'age':{'$gt':25}}", "p1,p4"},
	{"{'age':{'$gte':25}}", "p1,p2,p4"},
	{"{'age':{'$lt':30}}", "p2,p7"},
	{"{'age':{'$lte':30}}", "p1,p2,p7"},
	{"{'age':{'$gt':'2'}}", "p3"},
	{"{'score':{'$gt':-5,'$lt':2}}", "p1,p6"},
	{"{'name':{'$gte':'c','$lt':'f'}}", "p3,p4,p5"},
	{"{'addr.zip':{'$gte':'7'}}", "p1"},
	{"{'_id':{'$gt':'p5'}}", "p6,p7"},
	/* $exists: null exists */
	{"{'age':{'$exists':true}}", "p1,p2,p3,p4,p5,p7"},
	{"{'age':{'$exists':false}}", "p6"},
	{"{'nick':{'$exists':true}}", "p1,p3,p4"},
	{"{'addr.zip':{'$exists':true}}", "p1,p6"},
	/* $and / $or, nested */
	{"{'$and':[{'age':{'$gte':25}},{'active':true}]}", "p1"},
	{"{'$or':[{'name':'ann'},{'age':{'$lt':5}}]}", "p1,p7"},
	{"{'$or':[{'$and':[{'addr.city':'paris'},{'age':'30'}]},{'$and':[{'tags':'c'},"
	 "{'age':null}]}]}",
	 "p3,p5"},
	{"{'name':{'$ne':'eve'},'$or':[{'tags':'a'},{'score':{'$lt':0}}]}", "p1,p4,p6"},
	{"{'$and':[{'$or':[{'age':30},{'age':25}]},{'$or':[{'active':false},{'score':1.5}]}]}",
	 "p1,p2"},
	{"{'$or':[{'$or':[{'$and':[{'name':'gus'}]}]}]}", "p7"},
};

Test(store, filter_operators)
{
	insert_people();
	for (size_t i = 0; i < sizeof(filter_cases) / sizeof(filter_cases[0]); i++) {
		json_t *f = J(filter_cases[i].filter), *docs = NULL;
		struct err e = {0};
		char *got;

		cr_assert_eq(store_find(S, "people", f, NULL, &docs, NULL, &e), 0, "%s: %s",
			     filter_cases[i].filter, e.msg);
		got = ids_of(docs);
		cr_expect_str_eq(got, filter_cases[i].ids, "%s: got [%s], want [%s]",
				 filter_cases[i].filter, got, filter_cases[i].ids);
		cr_expect_eq(count_of("people", filter_cases[i].filter), json_array_size(docs),
			     "count of %s", filter_cases[i].filter);
		free(got);
		json_decref(docs);
		json_decref(f);
	}
}

static char *find_ids(const char *coll, const char *filter, const struct store_sort *sort,
		      size_t nsort, size_t limit)
{
	struct store_find_opts opts = {.sort = sort, .nsort = nsort, .limit = limit};
	json_t *f = filter ? J(filter) : NULL, *docs = NULL;
	struct err e = {0};
	char *ids;

	cr_assert_eq(store_find(S, coll, f, &opts, &docs, NULL, &e), 0, "find: %s", e.msg);
	ids = ids_of(docs);
	json_decref(docs);
	json_decref(f);
	return ids;
}

/* Null and missing sort first ascending and last descending; numbers before strings. */
Test(store, sort_missing_and_types)
{
	static const struct store_sort asc[] = {{"age", 1}};
	static const struct store_sort desc[] = {{"age", -1}};
	static const struct store_sort city_name[] = {{"addr.city", -1}, {"name", 1}};
	char *ids;

	insert_people();
	ids = find_ids("people", NULL, asc, 1, 0);
	cr_expect_str_eq(ids, "p5,p6,p7,p2,p1,p4,p3");
	free(ids);
	ids = find_ids("people", NULL, desc, 1, 0);
	cr_expect_str_eq(ids, "p3,p4,p1,p2,p7,p5,p6");
	free(ids);
	ids = find_ids("people", NULL, city_name, 2, 0);
	cr_expect_str_eq(ids, "p6,p1,p3,p2,p4,p5,p7");
	free(ids);
	ids = find_ids("people", "{'age':{'$exists':true}}", desc, 1, 3);
	cr_expect_str_eq(ids, "p3,p4,p1");
	free(ids);
}

Test(store, find_one_and_get)
{
	static const struct store_sort by_name_desc[] = {{"name", -1}};
	json_t *f = J("{'addr.city':'paris'}"), *doc = NULL;
	struct err e = {0};

	insert_people();
	cr_assert_eq(store_find_one(S, "people", f, by_name_desc, 1, &doc, &e), 0, "%s", e.msg);
	cr_expect_str_eq(jsonx_str(doc, "_id"), "p3");
	json_decref(doc);
	json_decref(f);
	f = J("{'name':'nobody'}");
	cr_assert_eq(store_find_one(S, "people", f, NULL, 0, &doc, &e), 0, "%s", e.msg);
	cr_expect_null(doc);
	json_decref(f);
	doc = get("people", "p2");
	cr_assert_not_null(doc);
	cr_expect_str_eq(jsonx_str(doc, "name"), "bob");
	json_decref(doc);
	cr_expect_null(get("people", "p9"));
	cr_expect_eq(store_get(S, "people", "", &doc, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
}

/* items: grp in {"a","b","c", missing}, n in 0..3 or missing, many ties. */
static void insert_items(void)
{
	static const char *const groups[] = {"b", "a", "c"};
	char id[16];

	for (int i = 0; i < NITEMS; i++) {
		json_t *doc = json_object();
		struct err e = {0};

		snprintf(id, sizeof(id), "i%02d", (i * 37) % NITEMS);
		json_object_set_new(doc, "_id", json_string(id));
		if (i % 5 != 4)
			json_object_set_new(doc, "grp", json_string(groups[i % 3]));
		if (i % 7 != 6)
			json_object_set_new(doc, "n", json_integer(i % 4));
		json_object_set_new(doc, "i", json_integer(i));
		cr_assert_eq(store_insert(S, "items", doc, &e), 0, "%s", e.msg);
		json_decref(doc);
	}
}

/* The order the store promises: missing/null < numbers < strings, per direction, then _id. */
static int value_rank(const json_t *v)
{
	return v == NULL || json_is_null(v) ? 0 : json_is_number(v) ? 1 : 2;
}

static int compare_values(const json_t *a, const json_t *b)
{
	int ra = value_rank(a), rb = value_rank(b);
	double x, y;

	if (ra != rb || ra == 0)
		return ra - rb;
	if (ra == 2)
		return strcmp(json_string_value(a), json_string_value(b));
	x = json_number_value(a);
	y = json_number_value(b);
	return (x > y) - (x < y);
}

static const struct store_sort *cmp_sort;
static size_t cmp_nsort;

static int compare_docs(const void *pa, const void *pb)
{
	const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	int c;

	for (size_t i = 0; i < cmp_nsort; i++) {
		c = compare_values(jsonx_path_get(a, cmp_sort[i].path),
				   jsonx_path_get(b, cmp_sort[i].path));
		if (c != 0)
			return c * cmp_sort[i].dir;
	}
	return strcmp(jsonx_str(a, "_id"), jsonx_str(b, "_id"));
}

/* The ids of the matching items in the order computed here, comma-joined. */
static char *expected_order(const char *filter, const struct store_sort *sort, size_t nsort)
{
	json_t *all = NULL, *sorted = json_array();
	json_t *f = filter ? J(filter) : NULL;
	struct err e = {0};
	json_t **v;
	size_t n;
	char *ids;

	cr_assert_eq(store_find(S, "items", f, NULL, &all, NULL, &e), 0, "%s", e.msg);
	n = json_array_size(all);
	v = calloc(n + 1, sizeof(*v));
	cr_assert_not_null(v);
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(all, i);
	cmp_sort = sort;
	cmp_nsort = nsort;
	qsort(v, n, sizeof(*v), compare_docs);
	for (size_t i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	ids = ids_of(sorted);
	free(v);
	json_decref(sorted);
	json_decref(all);
	json_decref(f);
	return ids;
}

/* Walks every page; returns the ids seen, in order, and checks the page sizes. */
static char *walk_pages(const char *filter, const struct store_sort *sort, size_t nsort,
			size_t limit)
{
	struct store_find_opts opts = {.sort = sort, .nsort = nsort, .limit = limit};
	json_t *f = filter ? J(filter) : NULL, *all = json_array(), *page = NULL;
	char *cursor = NULL, *ids;
	struct err e = {0};
	int pages = 0;

	do {
		opts.cursor = cursor;
		cr_assert_eq(store_find(S, "items", f, &opts, &page, &cursor, &e), 0, "page %d: %s",
			     pages, e.msg);
		free((char *)opts.cursor);
		cr_assert_leq(json_array_size(page), limit);
		if (cursor != NULL)
			cr_assert_eq(json_array_size(page), limit, "a short page before the end");
		json_array_extend(all, page);
		json_decref(page);
		cr_assert_lt(++pages, NITEMS + 2, "pagination does not end");
	} while (cursor != NULL);
	ids = ids_of(all);
	json_decref(all);
	json_decref(f);
	return ids;
}

Test(store, multi_key_sort_mixed_directions)
{
	static const struct store_sort sorts[][2] = {
		{{"grp", 1}, {"n", -1}},
		{{"grp", -1}, {"n", 1}},
		{{"n", 1}, {"grp", 1}},
		{{"n", -1}, {"grp", -1}},
	};

	insert_items();
	for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
		char *want = expected_order(NULL, sorts[i], 2);
		char *got = find_ids("items", NULL, sorts[i], 2, 0);

		cr_expect_str_eq(got, want, "sort %zu", i);
		free(got);
		free(want);
	}
}

Test(store, cursor_pagination_walks_everything_once)
{
	static const struct store_sort sorts[][2] = {
		{{"grp", 1}, {"n", -1}},
		{{"n", -1}, {"grp", 1}},
		{{"grp", -1}, {"i", 1}},
		{{"_id", -1}, {"n", 1}},
	};
	static const size_t nsorts[] = {2, 2, 1, 1};
	static const size_t limits[] = {1, 2, 7, NITEMS - 1, NITEMS, 100};
	static const char *const filters[] = {NULL, "{'n':{'$gte':1}}", "{'grp':{'$ne':'b'}}"};

	insert_items();
	for (size_t f = 0; f < sizeof(filters) / sizeof(filters[0]); f++) {
		for (size_t s = 0; s < sizeof(sorts) / sizeof(sorts[0]); s++) {
			char *want = expected_order(filters[f], sorts[s], nsorts[s]);

			for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
				char *got = walk_pages(filters[f], sorts[s], nsorts[s], limits[l]);

				cr_expect_str_eq(got, want, "filter %s sort %zu limit %zu",
						 filters[f] ? filters[f] : "{}", s, limits[l]);
				free(got);
			}
			free(want);
		}
	}
}

Test(store, limit)
{
	struct store_find_opts opts = {.limit = 3};
	json_t *docs = NULL;
	char *cursor = NULL;
	struct err e = {0};

	insert_items();
	cr_assert_eq(store_find(S, "items", NULL, &opts, &docs, &cursor, &e), 0, "%s", e.msg);
	cr_expect_eq(json_array_size(docs), 3);
	cr_expect_not_null(cursor);
	free(cursor);
	json_decref(docs);
	opts.limit = 0;
	cr_assert_eq(store_find(S, "items", NULL, &opts, &docs, &cursor, &e), 0, "%s", e.msg);
	cr_expect_eq(json_array_size(docs), NITEMS);
	cr_expect_null(cursor);
	json_decref(docs);
	opts.limit = NITEMS;
	cr_assert_eq(store_find(S, "items", NULL, &opts, &docs, &cursor, &e), 0, "%s", e.msg);
	cr_expect_eq(json_array_size(docs), NITEMS);
	cr_expect_null(cursor, "an exactly full last page has no next cursor");
	json_decref(docs);
	opts.limit = STORE_MAX_PAGE + 1;
	cr_expect_eq(store_find(S, "items", NULL, &opts, &docs, &cursor, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
	cr_expect_null(docs);
}

Test(store, bad_cursor_rejected)
{
	static const struct store_sort one[] = {{"n", 1}};
	static const struct store_sort two[] = {{"n", 1}, {"grp", 1}};
	struct store_find_opts opts = {.sort = one, .nsort = 1, .limit = 2};
	/* base64url of [1,"x"], ["x"], {"a":1}, [[1],"x"], [1,2] */
	static const char *const bad[] = {
		"!!!", "", "WzEsIngiXQ=", "WyJ4Il0", "eyJhIjoxfQ", "W1sxXSwieCJd", "WzEsMl0",
	};
	char long_cursor[STORE_MAX_CURSOR_BYTES + 2];
	json_t *docs = NULL;
	char *cursor = NULL;
	struct err e = {0};

	insert_items();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		opts.cursor = bad[i];
		cr_expect_eq(store_find(S, "items", NULL, &opts, &docs, &cursor, &e), -1,
			     "cursor %s accepted", bad[i]);
		cr_expect_eq(e.code, ERR_INVALID, "cursor %s", bad[i]);
	}
	memset(long_cursor, 'A', sizeof(long_cursor) - 1);
	long_cursor[sizeof(long_cursor) - 1] = '\0';
	opts.cursor = long_cursor;
	cr_expect_eq(store_find(S, "items", NULL, &opts, &docs, &cursor, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
	/* A real cursor used with a different sort. */
	opts.cursor = NULL;
	cr_assert_eq(store_find(S, "items", NULL, &opts, &docs, &cursor, &e), 0, "%s", e.msg);
	json_decref(docs);
	cr_assert_not_null(cursor);
	opts.sort = two;
	opts.nsort = 2;
	opts.cursor = cursor;
	cr_expect_eq(store_find(S, "items", NULL, &opts, &docs, NULL, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
	free(cursor);
}

static void expect_dup(int rc, const struct err *e, const char *index)
{
	cr_expect_eq(rc, -1, "a duplicate was accepted (%s)", index);
	cr_expect_eq(e->code, ERR_DUPLICATE, "%s: got %s: %s", index, err_code_name(e->code),
		     e->msg);
#ifdef CONFORMANCE_BACKEND_SQLITE
	cr_expect(strstr(e->msg, index) != NULL, "message '%s' does not name %s", e->msg, index);
#endif
}

Test(store, unique_indexes)
{
	json_t *doc = J("{'email':'a@x','ws':'w2','slug':'s9'}"), *f, *u, *out = NULL;
	struct err e = {0};
	size_t n = 0;

	insert_text("accounts", "{'_id':'a1','email':'a@x','ws':'w1','slug':'s1','extId':'e1'}");
	insert_text("accounts", "{'_id':'a2','email':'b@x','ws':'w1','slug':'s2'}");
	insert_text("accounts", "{'_id':'a3','email':'c@x','ws':'w2','slug':'s1'}");
	/* A generated _id is taken back when the insert fails. */
	expect_dup(store_insert(S, "accounts", doc, &e), &e, "conf_accounts_email_unique");
	cr_expect_null(json_object_get(doc, "_id"));
	json_decref(doc);
	doc = J("{'email':'d@x','ws':'w1','slug':'s1'}");
	expect_dup(store_insert(S, "accounts", doc, &e), &e, "conf_accounts_ws_slug_unique");
	json_decref(doc);
	doc = J("{'_id':'a1','email':'e@x','ws':'w3','slug':'s3'}");
	expect_dup(store_insert(S, "accounts", doc, &e), &e, "_id");
	json_decref(doc);
	doc = J("{'email':'f@x','ws':'w4','slug':'s4','extId':'e1'}");
	expect_dup(store_insert(S, "accounts", doc, &e), &e, "conf_accounts_ext_unique");
	json_decref(doc);
	cr_expect_eq(count_of("accounts", NULL), 3);

	f = J("{'_id':'a2'}");
	u = J("{'$set':{'email':'a@x','note':'changed'}}");
	expect_dup(store_update_one(S, "accounts", f, u, &n, &e), &e, "conf_accounts_email_unique");
	json_decref(u);
	u = J("{'$set':{'slug':'s1'}}");
	expect_dup(store_find_one_and_update(S, "accounts", f, u, NULL, 0, 0, &out, &e), &e,
		   "conf_accounts_ws_slug_unique");
	cr_expect_null(out);
	json_decref(u);
	json_decref(f);
	expect_doc("accounts", "a2", "{'_id':'a2','email':'b@x','ws':'w1','slug':'s2'}");
	/* Same slug in another workspace is fine. */
	f = J("{'_id':'a3'}");
	u = J("{'$set':{'slug':'s2','ws':'w9'}}");
	cr_expect_eq(store_update_one(S, "accounts", f, u, &n, &e), 0, "%s", e.msg);
	json_decref(u);
	json_decref(f);
}

struct cas_arg {
	pthread_barrier_t *start;
	const char *name;
	json_t *result;
	struct err e;
	int rc;
};

static void *cas_thread(void *p)
{
	struct cas_arg *a = p;
	json_t *f = json_pack("{s:s,s:s}", "_id", "job", "state", "open");
	json_t *u = json_pack("{s:{s:s,s:s}}", "$set", "state", "taken", "owner", a->name);

	pthread_barrier_wait(a->start);
	a->rc = store_find_one_and_update(S, "counters", f, u, NULL, 0, 0, &a->result, &a->e);
	json_decref(f);
	json_decref(u);
	return NULL;
}

Test(store, find_one_and_update_is_compare_and_set)
{
	json_t *reset = J("{'$set':{'state':'open','owner':null}}"), *idf = J("{'_id':'job'}");
	pthread_barrier_t start;
	struct err e = {0};

	insert_text("counters", "{'_id':'job','state':'open','owner':null}");
	for (int round = 0; round < CAS_ROUNDS; round++) {
		struct cas_arg args[2] = {{.start = &start, .name = "t0"},
					  {.start = &start, .name = "t1"}};
		pthread_t th[2];
		json_t *doc = NULL;
		int winners = 0, w = 0;

		cr_assert_eq(pthread_barrier_init(&start, NULL, 2), 0);
		for (int i = 0; i < 2; i++)
			cr_assert_eq(pthread_create(&th[i], NULL, cas_thread, &args[i]), 0);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&start);
		for (int i = 0; i < 2; i++) {
			cr_expect_eq(args[i].rc, 0, "%s: %s", args[i].name, args[i].e.msg);
			if (args[i].result != NULL) {
				winners++;
				w = i;
			}
		}
		cr_assert_eq(winners, 1, "round %d: %d winners", round, winners);
		cr_expect_str_eq(jsonx_str(args[w].result, "owner"), args[w].name);
		cr_expect_str_eq(jsonx_str(args[w].result, "state"), "taken");
		doc = get("counters", "job");
		cr_expect_str_eq(jsonx_str(doc, "owner"), args[w].name);
		json_decref(doc);
		json_decref(args[w].result);
		cr_assert_eq(store_update_one(S, "counters", idf, reset, NULL, &e), 0, "%s", e.msg);
	}
	json_decref(reset);
	json_decref(idf);
}

struct inc_arg {
	int index;
	int failures;
	struct err e;
};

static void *inc_thread(void *p)
{
	struct inc_arg *a = p;
	json_t *f = json_pack("{s:s}", "_id", "c"), *u = json_pack("{s:{s:i}}", "$inc", "n", 1);
	json_t *doc = NULL;

	for (int i = 0; i < NINCREMENTS; i++) {
		/* Half the threads go through find_one_and_update, half through update_one. */
		if (a->index % 2 == 0) {
			if (store_update_one(S, "counters", f, u, NULL, &a->e) != 0)
				a->failures++;
		} else if (store_find_one_and_update(S, "counters", f, u, NULL, 0, 0, &doc,
						     &a->e) != 0) {
			a->failures++;
		} else {
			json_decref(doc);
		}
	}
	json_decref(f);
	json_decref(u);
	return NULL;
}

Test(store, concurrent_inc_is_exact)
{
	struct inc_arg args[NTHREADS];
	pthread_t th[NTHREADS];
	json_t *doc;

	insert_text("counters", "{'_id':'c','n':0}");
	for (int i = 0; i < NTHREADS; i++) {
		args[i] = (struct inc_arg){.index = i};
		cr_assert_eq(pthread_create(&th[i], NULL, inc_thread, &args[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NTHREADS; i++)
		cr_expect_eq(args[i].failures, 0, "thread %d: %d failures, last: %s", i,
			     args[i].failures, args[i].e.msg);
	doc = get("counters", "c");
	cr_expect_eq(json_integer_value(json_object_get(doc, "n")), NTHREADS * NINCREMENTS);
	cr_expect(json_is_integer(json_object_get(doc, "n")));
	json_decref(doc);
}

/* Applies `update` to the document `id` of "counters", expecting `code`. */
static void update_id(const char *id, const char *update, enum err_code code)
{
	json_t *f = json_pack("{s:s}", "_id", id), *u = J(update);
	struct err e = {0};
	size_t n = 0;
	int rc = store_update_one(S, "counters", f, u, &n, &e);

	if (code == ERR_OK) {
		cr_expect_eq(rc, 0, "%s: %s", update, e.msg);
		cr_expect_eq(n, 1, "%s: matched %zu", update, n);
	} else {
		cr_expect_eq(rc, -1, "%s: accepted", update);
		cr_expect_eq(e.code, code, "%s: got %s: %s", update, err_code_name(e.code), e.msg);
	}
	json_decref(f);
	json_decref(u);
}

Test(store, push_and_pull)
{
	insert_text("counters", "{'_id':'l','tags':['a'],'s':'x'}");
	update_id("l", "{'$push':{'tags':'b'}}", ERR_OK);
	update_id("l", "{'$push':{'tags':{'x':1}}}", ERR_OK);
	update_id("l", "{'$push':{'tags':'a'}}", ERR_OK);
	expect_doc("counters", "l", "{'_id':'l','tags':['a','b',{'x':1},'a'],'s':'x'}");
	update_id("l", "{'$pull':{'tags':'a'}}", ERR_OK);
	expect_doc("counters", "l", "{'_id':'l','tags':['b',{'x':1}],'s':'x'}");
	update_id("l", "{'$push':{'new.list':1},'$pull':{'none':1}}", ERR_OK);
	expect_doc("counters", "l", "{'_id':'l','tags':['b',{'x':1}],'s':'x','new':{'list':[1]}}");
	update_id("l", "{'$push':{'s':1}}", ERR_INVALID);
	update_id("l", "{'$pull':{'s':'x'}}", ERR_INVALID);
	update_id("l", "{'$pull':{'tags':{'x':1}}}", ERR_UNSUPPORTED);
	expect_doc("counters", "l", "{'_id':'l','tags':['b',{'x':1}],'s':'x','new':{'list':[1]}}");
}

Test(store, set_and_unset_dotted)
{
	insert_text("counters", "{'_id':'d','a':{'b':1,'k':'v'},'n':5,'s':'str'}");
	update_id("d", "{'$set':{'a.c':2,'x.y.z':3},'$unset':{'a.b':1,'missing.path':1}}", ERR_OK);
	expect_doc("counters", "d",
		   "{'_id':'d','a':{'k':'v','c':2},'n':5,'s':'str',"
		   "'x':{'y':{'z':3}}}");
	update_id("d", "{'$inc':{'n':2.5,'a.c':1}}", ERR_OK);
	update_id("d", "{'$unset':{'x':''}}", ERR_OK);
	expect_doc("counters", "d", "{'_id':'d','a':{'k':'v','c':3},'n':7.5,'s':'str'}");
	/* Failures change nothing, even when another path of the update was fine. */
	update_id("d", "{'$set':{'s.t':1,'ok':1}}", ERR_INVALID);
	update_id("d", "{'$inc':{'s':1},'$set':{'ok':1}}", ERR_INVALID);
	update_id("d", "{'$set':{'_id':'e'}}", ERR_INVALID);
	update_id("d", "{'$set':{'a':1},'$unset':{'a.k':1}}", ERR_INVALID);
	update_id("d", "{'$rename':{'a':'b'}}", ERR_INVALID);
	expect_doc("counters", "d", "{'_id':'d','a':{'k':'v','c':3},'n':7.5,'s':'str'}");
}

Test(store, upsert)
{
	json_t *f = J("{'name':'new','ws':'w','n':{'$gte':0}}"), *u = J("{'$inc':{'n':1}}");
	json_t *doc = NULL;
	struct err e = {0};
	char id[STORE_MAX_ID_BYTES + 1];

	cr_assert_eq(store_find_one_and_update(S, "counters", f, u, NULL, 0, 0, &doc, &e), 0, "%s",
		     e.msg);
	cr_expect_null(doc, "no match and no upsert returns nothing");
	cr_expect_eq(count_of("counters", NULL), 0);
	cr_assert_eq(
		store_find_one_and_update(S, "counters", f, u, NULL, 0, STORE_UPSERT, &doc, &e), 0,
		"%s", e.msg);
	cr_assert_not_null(doc);
	cr_expect_str_eq(jsonx_str(doc, "name"), "new");
	cr_expect_str_eq(jsonx_str(doc, "ws"), "w");
	cr_expect_eq(json_integer_value(json_object_get(doc, "n")), 1);
	cr_expect(id_valid(jsonx_str(doc, "_id")));
	snprintf(id, sizeof(id), "%s", jsonx_str(doc, "_id"));
	json_decref(doc);
	/* Now it matches: updated, not inserted again; RETURN_OLD gives the previous state. */
	cr_assert_eq(store_find_one_and_update(S, "counters", f, u, NULL, 0,
					       STORE_UPSERT | STORE_RETURN_OLD, &doc, &e),
		     0, "%s", e.msg);
	cr_assert_not_null(doc);
	cr_expect_str_eq(jsonx_str(doc, "_id"), id);
	cr_expect_eq(json_integer_value(json_object_get(doc, "n")), 1);
	json_decref(doc);
	cr_expect_eq(count_of("counters", NULL), 1);
	doc = get("counters", id);
	cr_expect_eq(json_integer_value(json_object_get(doc, "n")), 2);
	json_decref(doc);
	json_decref(f);
	/* An upsert that returns the old document returns nothing, but inserts. */
	f = J("{'_id':'fixed'}");
	cr_assert_eq(store_find_one_and_update(S, "counters", f, u, NULL, 0,
					       STORE_UPSERT | STORE_RETURN_OLD, &doc, &e),
		     0, "%s", e.msg);
	cr_expect_null(doc);
	expect_doc("counters", "fixed", "{'_id':'fixed','n':1}");
	cr_expect_eq(store_find_one_and_update(S, "counters", f, u, NULL, 0, 0x80, &doc, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
	json_decref(f);
	json_decref(u);
}

static void insert_numbers(void)
{
	char id[8];

	for (int i = 0; i < 10; i++) {
		struct err e = {0};
		json_t *doc;

		snprintf(id, sizeof(id), "n%d", i);
		doc = json_pack("{s:s,s:i,s:b}", "_id", id, "i", i, "even", i % 2 == 0);

		cr_assert_eq(store_insert(S, "counters", doc, &e), 0, "%s", e.msg);
		json_decref(doc);
	}
}

Test(store, update_many_delete_count)
{
	json_t *f = J("{'even':true}"), *u = J("{'$set':{'tag':'e'}}");
	struct err e = {0};
	size_t n = 0;

	insert_numbers();
	cr_expect_eq(count_of("counters", NULL), 10);
	cr_assert_eq(store_update_many(S, "counters", f, u, &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, 5);
	cr_expect_eq(count_of("counters", "{'tag':'e'}"), 5);
	cr_expect_eq(count_of("counters", "{'tag':'e','even':false}"), 0);
	json_decref(f);
	f = J("{'i':{'$gt':100}}");
	cr_assert_eq(store_update_one(S, "counters", f, u, &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, 0);
	cr_assert_eq(store_update_many(S, "counters", f, u, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(store_delete_one(S, "counters", f, &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, 0);
	json_decref(f);
	f = J("{'even':false}");
	cr_assert_eq(store_delete_one(S, "counters", f, &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, 1);
	cr_expect_eq(count_of("counters", NULL), 9);
	cr_expect_eq(count_of("counters", "{'even':false}"), 4);
	json_decref(f);
	f = J("{'i':{'$gte':5}}");
	/* delete_one took the first odd number in _id order, 1, so 5..9 are all there. */
	cr_assert_eq(store_delete_many(S, "counters", f, &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, 5);
	cr_expect_null(get("counters", "n1"));
	cr_expect_eq(count_of("counters", "{'i':{'$gte':5}}"), 0);
	json_decref(f);
	f = J("{}");
	cr_assert_eq(store_delete_many(S, "counters", f, NULL, &e), 0, "%s", e.msg);
	cr_expect_eq(count_of("counters", NULL), 0);
	json_decref(f);
	json_decref(u);
}

Test(store, insert_generates_ids)
{
	json_t *doc = J("{'v':1}"), *again = NULL;
	struct err e = {0};

	cr_assert_eq(store_insert(S, "counters", doc, &e), 0, "%s", e.msg);
	cr_assert(id_valid(jsonx_str(doc, "_id")));
	again = get("counters", jsonx_str(doc, "_id"));
	cr_expect(json_equal(doc, again));
	json_decref(again);
	json_decref(doc);
	doc = J("{'_id':5}");
	cr_expect_eq(store_insert(S, "counters", doc, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
	json_decref(doc);
	doc = J("{'v':1}");
	cr_expect_eq(store_insert(S, "nope", doc, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
	cr_expect_null(json_object_get(doc, "_id"));
	json_decref(doc);
	cr_expect_eq(count_of("counters", NULL), 1);
}

/* {"_id": id, "pad": "ppp..."} whose compact JSON is exactly `bytes` long. */
static json_t *doc_of_size(const char *id, size_t bytes)
{
	json_t *doc = json_pack("{s:s,s:s}", "_id", id, "pad", "");
	char *text = jsonx_dumps_compact(doc, NULL), *pad;
	size_t overhead = strlen(text);

	free(text);
	pad = malloc(bytes - overhead + 1);
	cr_assert_not_null(pad);
	memset(pad, 'p', bytes - overhead);
	pad[bytes - overhead] = '\0';
	json_object_set_new(doc, "pad", json_string(pad));
	free(pad);
	return doc;
}

Test(store, document_size_limit)
{
	json_t *doc = doc_of_size("max", STORE_MAX_DOC_BYTES), *got;
	json_t *f = J("{'_id':'max'}"), *u = J("{'$set':{'one':1}}");
	struct err e = {0};
	size_t len = 0;
	char *text;

	cr_assert_eq(store_insert(S, "counters", doc, &e), 0, "%s", e.msg);
	got = get("counters", "max");
	cr_assert_not_null(got);
	text = jsonx_dumps_compact(got, &len);
	cr_expect_eq(len, STORE_MAX_DOC_BYTES);
	free(text);
	json_decref(got);
	json_decref(doc);
	doc = doc_of_size("over", STORE_MAX_DOC_BYTES + 1);
	cr_expect_eq(store_insert(S, "counters", doc, &e), -1);
	cr_expect_eq(e.code, ERR_TOO_LARGE);
	cr_expect_null(get("counters", "over"));
	json_decref(doc);
	/* Growing the largest document by an update is refused too, and changes nothing. */
	cr_expect_eq(store_update_one(S, "counters", f, u, NULL, &e), -1);
	cr_expect_eq(e.code, ERR_TOO_LARGE);
	got = get("counters", "max");
	cr_expect_null(json_object_get(got, "one"));
	json_decref(got);
	json_decref(f);
	json_decref(u);
}

static json_t *deep_doc(const char *id, int depth)
{
	json_t *v = json_object();

	for (int i = 2; i < depth; i++)
		v = json_pack("{s:o}", "a", v);
	return json_pack("{s:s,s:o}", "_id", id, "a", v);
}

Test(store, document_depth_limit)
{
	json_t *doc = deep_doc("ok", STORE_MAX_DEPTH);
	struct err e = {0};

	cr_expect_eq(store_insert(S, "counters", doc, &e), 0, "%s", e.msg);
	json_decref(doc);
	doc = deep_doc("deep", STORE_MAX_DEPTH + 1);
	cr_expect_eq(store_insert(S, "counters", doc, &e), -1);
	cr_expect_eq(e.code, ERR_TOO_DEEP);
	json_decref(doc);
	cr_expect_null(get("counters", "deep"));
	doc = J("{'_id':'k','a':{'$b':1}}");
	cr_expect_eq(store_insert(S, "counters", doc, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
	json_decref(doc);
	cr_expect_eq(count_of("counters", NULL), 1);
}

static const struct {
	const char *filter;
	enum err_code code;
} bad_filters[] = {
	{"{'n':{'$foo':1}}", ERR_INVALID},
	{"{'$where':'true'}", ERR_INVALID},
	{"{'n':{'a':1}}", ERR_UNSUPPORTED},
	{"{'n':[1]}", ERR_UNSUPPORTED},
	{"{'n':{'$in':[{'a':1}]}}", ERR_UNSUPPORTED},
	{"{'a..b':1}", ERR_INVALID},
	{"{'a.$b':1}", ERR_INVALID},
	{"{'':1}", ERR_INVALID},
	{"{'n':{'$gt':null}}", ERR_INVALID},
	{"{'n':{'$in':3}}", ERR_INVALID},
	{"{'$or':[]}", ERR_INVALID},
	{"[1]", ERR_INVALID},
};

Test(store, bad_filters_change_nothing)
{
	json_t *u = J("{'$set':{'n':99}}"), *docs = NULL, *doc = NULL;

	insert_text("counters", "{'_id':'x','n':1}");
	for (size_t i = 0; i < sizeof(bad_filters) / sizeof(bad_filters[0]); i++) {
		json_t *f = J(bad_filters[i].filter);
		const char *what = bad_filters[i].filter;
		enum err_code want = bad_filters[i].code;
		struct err e = {0};
		size_t n = 0;

		cr_expect_eq(store_find(S, "counters", f, NULL, &docs, NULL, &e), -1, "find %s",
			     what);
		cr_expect_eq(e.code, want, "find %s: %s", what, err_code_name(e.code));
		cr_expect_null(docs);
		cr_expect_eq(store_count(S, "counters", f, &n, &e), -1, "count %s", what);
		cr_expect_eq(store_update_many(S, "counters", f, u, &n, &e), -1, "update %s", what);
		cr_expect_eq(e.code, want, "update %s: %s", what, err_code_name(e.code));
		cr_expect_eq(store_find_one_and_update(S, "counters", f, u, NULL, 0, STORE_UPSERT,
						       &doc, &e),
			     -1, "find_one_and_update %s", what);
		cr_expect_eq(store_delete_many(S, "counters", f, &n, &e), -1, "delete %s", what);
		cr_expect_eq(e.code, want, "delete %s: %s", what, err_code_name(e.code));
		json_decref(f);
	}
	expect_doc("counters", "x", "{'_id':'x','n':1}");
	cr_expect_eq(count_of("counters", NULL), 1);
	json_decref(u);
}

/* The ids a sorted find returns, or NULL with *e filled. */
static char *find_ids_or_code(const char *coll, const struct store_sort *sort, size_t nsort,
			      struct err *e)
{
	struct store_find_opts opts = {.sort = sort, .nsort = nsort};
	json_t *docs = NULL;
	char *ids;

	if (store_find(S, coll, NULL, &opts, &docs, NULL, e) != 0) {
		cr_expect_null(docs);
		return NULL;
	}
	ids = ids_of(docs);
	json_decref(docs);
	return ids;
}

Test(store, bad_sorts_and_collections)
{
	static const struct store_sort bad_dir[] = {{"n", 2}};
	static const struct store_sort bad_path[] = {{"a..b", 1}};
	static const struct store_sort on_array[] = {{"tags", 1}};
	static const struct store_sort dup[] = {{"n", 1}, {"n", -1}};
	static const struct store_sort five[] = {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}, {"e", 1}};
	struct err e = {0};
	json_t *docs = NULL;
	size_t n = 0;

	cr_expect_null(find_ids_or_code("people", bad_dir, 1, &e));
	cr_expect_eq(e.code, ERR_INVALID);
	cr_expect_null(find_ids_or_code("people", bad_path, 1, &e));
	cr_expect_eq(e.code, ERR_INVALID);
	cr_expect_null(find_ids_or_code("people", on_array, 1, &e));
	cr_expect_eq(e.code, ERR_UNSUPPORTED);
	cr_expect_null(find_ids_or_code("people", dup, 2, &e));
	cr_expect_eq(e.code, ERR_INVALID);
	cr_expect_null(find_ids_or_code("people", five, 5, &e));
	cr_expect_eq(e.code, ERR_INVALID);
	cr_expect_eq(store_find(S, "nope", NULL, NULL, &docs, NULL, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
	cr_expect_eq(store_count(S, NULL, NULL, &n, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
}

Test(store, ping_verify_name)
{
	struct err e = {0};

	cr_expect_eq(store_ping(S, &e), 0, "%s", e.msg);
	cr_expect_eq(store_verify(S, &e), 0, "%s", e.msg);
#ifdef CONFORMANCE_BACKEND_SQLITE
	cr_expect_str_eq(store_backend_name(S), "sqlite");
#else
	cr_expect_str_eq(store_backend_name(S), "mongodb");
#endif
}

/* Opening twice (a second process would do the same) finds the schema in place. */
Test(store, reopen_is_idempotent)
{
	struct store *again = NULL;
	struct err e = {0};

	insert_text("counters", "{'_id':'keep'}");
	cr_assert_eq(store_open(uri, &conf_schema, &again, &e), 0, "%s", e.msg);
	cr_expect_eq(store_count(again, "counters", NULL, &(size_t){0}, &e), 0, "%s", e.msg);
	store_close(again);
	expect_doc("counters", "keep", "{'_id':'keep'}");
}

#ifdef CONFORMANCE_BACKEND_SQLITE
static uint64_t revision_of(struct store *s)
{
	struct err e = {0};
	uint64_t rev = 0;

	cr_assert_eq(store_revision(s, &rev, &e), 0, "%s", e.msg);
	cr_assert_neq(rev, 0);
	return rev;
}

/* Backend-specific: store_revision() moves with every commit, whoever makes it (this
 * handle, another handle, another process), and only then. */
Test(store, sqlite_revision_moves_with_every_commit)
{
	struct store *other = NULL;
	struct err e = {0};
	uint64_t rev = revision_of(S);
	json_t *doc;
	pid_t pid;
	int status = 0;

	cr_expect_eq(revision_of(S), rev, "no write, same revision");
	cr_assert_eq(store_open(uri, &conf_schema, &other, &e), 0, "%s", e.msg);
	cr_expect_neq(revision_of(other), rev, "two stores never share a revision");
	insert_text("counters", "{'_id':'mine'}");
	cr_expect_neq(revision_of(S), rev);
	rev = revision_of(S);
	doc = J("{'_id':'other'}");
	cr_expect_eq(store_insert(other, "counters", doc, &e), 0, "%s", e.msg);
	cr_expect_neq(revision_of(S), rev);
	rev = revision_of(S);
	cr_expect_eq(store_delete_one(other, "counters", doc, NULL, &e), 0, "%s", e.msg);
	cr_expect_neq(revision_of(S), rev);
	json_decref(doc);
	store_close(other);
	rev = revision_of(S);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct store *child = NULL;

		doc = J("{'_id':'child'}");
		_exit(store_open(uri, &conf_schema, &child, &e) == 0 &&
				      store_insert(child, "counters", doc, &e) == 0
			      ? 0
			      : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's insert failed");
	cr_expect_neq(revision_of(S), rev, "a commit of another process moves it");
	rev = revision_of(S);
	cr_expect_eq(revision_of(S), rev);
}

/* Backend-specific: the options of a SQLite URI, documented in store-sqlite.c. */
Test(store, sqlite_uri_options)
{
	static const struct {
		const char *suffix;
		bool ok;
	} cases[] = {
		{"/a.db?busy_timeout_ms=100&synchronous=normal&pool=1", true},
		{"/b.db?synchronous=full", true},
		{"/c.db?pool=64&busy_timeout_ms=0", true},
		{"/d.db?pool=0", false},
		{"/d.db?pool=65", false},
		{"/d.db?pool=2x", false},
		{"/d.db?busy_timeout_ms=-1", false},
		{"/d.db?synchronous=off", false},
		{"/d.db?unknown=1", false},
		{"/d.db?pool", false},
		{"/no/such/dir/d.db", false},
	};
	const char *dir = harness_tmpdir();
	struct store *s = NULL;
	struct err e = {0};
	char u[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		snprintf(u, sizeof(u), "sqlite:%s%s",
			 strncmp(cases[i].suffix, "/no/", 4) ? dir : "", cases[i].suffix);
		rc = store_open(u, &conf_schema, &s, &e);
		cr_expect_eq(rc == 0, cases[i].ok, "%s: %s", cases[i].suffix, e.msg);
		store_close(s);
		s = NULL;
	}
	/* "sqlite:///abs" is the URI form of an absolute path; a host is refused. */
	snprintf(u, sizeof(u), "sqlite://%s/e.db", dir);
	cr_assert_eq(store_open(u, &conf_schema, &s, &e), 0, "%s", e.msg);
	store_close(s);
	snprintf(u, sizeof(u), "sqlite://localhost%s/e.db", dir);
	cr_expect_neq(store_open(u, &conf_schema, &s, &e), 0);
	cr_expect_neq(store_open("sqlite:", &conf_schema, &s, &e), 0);
	cr_expect_neq(store_open("sqlite::memory:", &conf_schema, &s, &e), 0);
	cr_expect_neq(store_open("postgres://x", &conf_schema, &s, &e), 0);
	cr_expect_eq(e.code, ERR_INVALID);
	cr_expect_null(s);
}

/* More threads than pooled connections: callers wait for a connection instead of failing. */
Test(store, sqlite_small_pool)
{
	struct inc_arg args[NTHREADS];
	pthread_t th[NTHREADS];
	struct store *big = S;
	struct err e = {0};
	char u[1100];
	json_t *doc;

	snprintf(u, sizeof(u), "%s?pool=2", uri);
	cr_assert_eq(store_open(u, &conf_schema, &S, &e), 0, "%s", e.msg);
	insert_text("counters", "{'_id':'c','n':0}");
	for (int i = 0; i < NTHREADS; i++) {
		args[i] = (struct inc_arg){.index = i};
		cr_assert_eq(pthread_create(&th[i], NULL, inc_thread, &args[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	doc = get("counters", "c");
	cr_expect_eq(json_integer_value(json_object_get(doc, "n")), NTHREADS * NINCREMENTS);
	json_decref(doc);
	store_close(S);
	S = big;
}

/* Another process holding the write lock: writers wait busy_timeout_ms and then report
 * ERR_TIMEOUT with nothing written; readers are not blocked (WAL). */
Test(store, sqlite_busy_timeout)
{
	struct store *quick = NULL;
	sqlite3 *other = NULL;
	json_t *doc = J("{'_id':'late'}");
	struct err e = {0};
	size_t n = 0;
	char u[1100];

	snprintf(u, sizeof(u), "%s?busy_timeout_ms=50", uri);
	cr_assert_eq(store_open(u, &conf_schema, &quick, &e), 0, "%s", e.msg);
	cr_assert_eq(sqlite3_open(uri + strlen("sqlite:"), &other), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	cr_expect_eq(store_insert(quick, "counters", doc, &e), -1);
	cr_expect_eq(e.code, ERR_TIMEOUT, "got %s: %s", err_code_name(e.code), e.msg);
	cr_expect_eq(store_count(quick, "counters", NULL, &n, &e), 0, "%s", e.msg);
	cr_assert_eq(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	cr_expect_eq(store_insert(quick, "counters", doc, &e), 0, "%s", e.msg);
	store_close(quick);
	json_decref(doc);
	expect_doc("counters", "late", "{'_id':'late'}");
}
#endif

int main(int argc, char *argv[])
{
	struct criterion_test_set *tests = NULL;
	int result = 0;

#ifdef CONFORMANCE_BACKEND_MONGODB
	const char *mongo = getenv("SECOND_TEST_MONGODB_URI");

	if (mongo == NULL || mongo[0] == '\0') {
		printf("SKIP: SECOND_TEST_MONGODB_URI is not set; MongoDB conformance not run\n");
		return 77;
	}
	mongoc_init();
#endif
	tests = criterion_initialize();
	if (criterion_handle_args(argc, argv, true))
		result = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	return result;
}

/* A projection returns the asked fields, "_id" and the sort field, with their types intact,
 * null for what a document lacks, and pages with cursors like a whole-document find. */
Test(store, projection)
{
	static const char *const fields[] = {"flag", "tags", "meta", "missing", NULL};
	static const struct store_sort by_n[] = {{"n", -1}};
	struct store_find_opts opts = {.sort = by_n, .nsort = 1, .limit = 2, .fields = fields};
	json_t *docs = NULL, *want = NULL, *doc;
	char *cursor = NULL, *got;
	struct err e = {0};
	size_t seen = 0, i;

	for (int n = 0; n < 5; n++) {
		char text[256];

		snprintf(text, sizeof(text),
			 "{'_id':'p%d','n':%d,'flag':%s,'tags':['a',%d],'meta':{'x':null,'y':1.5},"
			 "'secret':'not asked'}",
			 n, n, n % 2 ? "true" : "false", n);
		insert_text("items", text);
	}
	do {
		opts.cursor = cursor;
		cr_assert_eq(store_find(S, "items", NULL, &opts, &docs, &cursor, &e), 0, "%s",
			     e.msg);
		free((char *)opts.cursor);
		json_array_foreach (docs, i, doc) {
			int n = 4 - (int)seen;
			char text[256];

			snprintf(text, sizeof(text),
				 "{'_id':'p%d','n':%d,'flag':%s,'tags':['a',%d],"
				 "'meta':{'x':null,'y':1.5},'missing':null}",
				 n, n, n % 2 ? "true" : "false", n);
			want = J(text);
			got = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
			cr_expect(json_equal(doc, want), "page item %zu: %s", seen, got);
			free(got);
			json_decref(want);
			seen++;
		}
		json_decref(docs);
	} while (cursor != NULL);
	cr_expect_eq(seen, 5);
}

Test(store, projection_refuses_bad_fields)
{
	static const char *const dotted[] = {"a.b", NULL}, *const dollar[] = {"$x", NULL},
				 *const empty[] = {"", NULL}, *const digit[] = {"1a", NULL};
	const char *const *bad[] = {dotted, dollar, empty, digit};
	const char *many[STORE_MAX_FIELDS + 2];
	struct store_find_opts opts = {0};
	struct err e = {0};
	json_t *docs = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		opts.fields = bad[i];
		cr_expect_eq(store_find(S, "items", NULL, &opts, &docs, NULL, &e), -1, "%s",
			     bad[i][0]);
		cr_expect_eq(e.code, ERR_INVALID);
	}
	for (size_t i = 0; i <= STORE_MAX_FIELDS; i++)
		many[i] = "f";
	many[STORE_MAX_FIELDS + 1] = NULL;
	opts.fields = many;
	cr_expect_eq(store_find(S, "items", NULL, &opts, &docs, NULL, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
}
