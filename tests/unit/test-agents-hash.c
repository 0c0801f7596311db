/* agents.json approval hash (GOV-11): canonical text and hash equal to what JavaScript
 * computes for the cases in tests/fixtures/agents-hash/v1.jsonl, and the staleness rule. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/agents-hash.h"

static json_t *cases(void)
{
	char path[1024];
	const char *top = getenv("top_srcdir");
	cr_assert_not_null(top, "top_srcdir is not set");
	snprintf(path, sizeof(path), "%s/tests/fixtures/agents-hash/v1.jsonl", top);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	json_t *all = json_array();
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		json_error_t je;
		json_t *c = json_loads(line, 0, &je);
		cr_assert_not_null(c, "bad fixture line: %s", je.text);
		json_array_append_new(all, c);
	}
	free(line);
	fclose(f);
	cr_assert_gt(json_array_size(all), 5);
	return all;
}

Test(agents_hash, matches_javascript)
{
	json_t *all = cases();
	size_t i;
	json_t *c;
	json_array_foreach (all, i, c) {
		const char *in = json_string_value(json_object_get(c, "in"));
		char hash[AGENTS_HASH_LEN + 1];
		json_t *payload = NULL;
		struct err e = {0};
		cr_assert_eq(agents_hash(in, strlen(in), hash, &payload, &e), AGENTS_HASH_OK,
			     "%s: %s", in, e.msg);
		char *canon = agents_hash_canonical(payload);
		cr_expect_str_eq(canon, json_string_value(json_object_get(c, "canon")), "case %zu",
				 i);
		cr_expect_str_eq(hash, json_string_value(json_object_get(c, "hash")), "case %zu",
				 i);
		free(canon);
		json_decref(payload);
	}
	json_decref(all);
}

Test(agents_hash, absent_and_invalid)
{
	char hash[AGENTS_HASH_LEN + 1];
	struct err e = {0};
	cr_expect_eq(agents_hash("", 0, hash, NULL, &e), AGENTS_HASH_ABSENT);
	cr_expect_eq(agents_hash(" \n\t", 3, hash, NULL, &e), AGENTS_HASH_ABSENT);
	cr_expect_eq(agents_hash("{", 1, hash, NULL, &e), AGENTS_HASH_INVALID);
	cr_expect_str_eq(e.msg, "agents.json is not valid JSON");
	const char *empty = "{\"agents\":[],\"appTools\":[]}";
	cr_expect_eq(agents_hash(empty, strlen(empty), hash, NULL, &e), AGENTS_HASH_INVALID);
	cr_expect_str_eq(e.msg, "agents.json must contain a non-empty agents or appTools array");
	cr_expect_eq(agents_hash("[1]", 3, hash, NULL, &e), AGENTS_HASH_INVALID);
}

Test(agents_hash, stale)
{
	const char *a = "{\"agents\":[{\"id\":\"a\",\"tools\":[]}]}";
	const char *same = "{ \"agents\": [ { \"tools\": [], \"id\": \"a\" } ] }";
	const char *other = "{\"agents\":[{\"id\":\"b\"}]}";
	char hash[AGENTS_HASH_LEN + 1];
	struct err e = {0};
	cr_assert_eq(agents_hash(a, strlen(a), hash, NULL, &e), AGENTS_HASH_OK);
	cr_expect_not(agents_hash_stale(NULL, a, strlen(a)), "no approval: nothing is stale");
	cr_expect_not(agents_hash_stale(NULL, NULL, 0));
	cr_expect_not(agents_hash_stale(hash, same, strlen(same)), "formatting is not a change");
	cr_expect(agents_hash_stale(hash, other, strlen(other)));
	cr_expect(agents_hash_stale(hash, NULL, 0), "removed");
	cr_expect(agents_hash_stale(hash, "{oops", 5), "invalid");
}
