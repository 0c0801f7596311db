/* Unit tests of workerd/agents-json.c: data-driven over tests/fixtures/agents-json/.
 *
 * Every valid/NAME.json must validate with no issue. Every invalid/NAME.json must not, and each
 * non-empty line of its sibling .expect file must be a substring of one of its issues. The
 * name classifiers and the placeholder scanner get small tables of their own. */
#include <config.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/limits.h"
#include "workerd/agents-json.h"

/* The file's bytes (malloc'd, NUL-terminated), or NULL when it cannot be opened. */
static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;

	if (fp == NULL)
		return NULL;
	buf = malloc(AGENTS_JSON_MAX_BYTES + 2);
	cr_assert_not_null(buf);
	*len = fread(buf, 1, AGENTS_JSON_MAX_BYTES + 1, fp);
	buf[*len] = '\0';
	fclose(fp);
	return buf;
}

static bool has_issue(const json_t *issues, const char *needle)
{
	size_t i;
	json_t *v;

	json_array_foreach (issues, i, v) {
		if (strstr(json_string_value(v), needle) != NULL)
			return true;
	}
	return false;
}

static char *issues_text(const json_t *issues)
{
	char *s = json_dumps(issues, JSON_INDENT(1));

	cr_assert_not_null(s);
	return s;
}

/* Checks one fixture; returns 1 when it was a .json file. */
static int check_fixture(const char *dir, const char *name, bool valid)
{
	char path[2048], *text, *expect, *line, *save = NULL, *dump;
	size_t len = 0, elen = 0, nlen = strlen(name);
	enum agents_json_status st;
	json_t *doc = NULL, *issues = NULL;

	if (nlen < 5 || strcmp(name + nlen - 5, ".json") != 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	text = slurp(path, &len);
	cr_assert_not_null(text, "%s", path);
	st = agents_json_check_text(text, len, &doc, &issues);
	dump = issues_text(issues);
	if (valid) {
		cr_expect_eq(st, AGENTS_JSON_VALID, "%s: %s", name, dump);
		cr_expect_eq(json_array_size(issues), 0, "%s: %s", name, dump);
	} else {
		cr_expect_neq(st, AGENTS_JSON_VALID, "%s should not validate", name);
		cr_expect_gt(json_array_size(issues), 0, "%s: no issue", name);
		snprintf(path + strlen(path) - 5, 8, ".expect");
		expect = slurp(path, &elen);
		cr_assert_not_null(expect, "%s has no .expect file", name);
		for (line = strtok_r(expect, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save))
			cr_expect(has_issue(issues, line), "%s: no issue contains \"%s\" in %s",
				  name, line, dump);
		free(expect);
	}
	free(dump);
	json_decref(doc);
	json_decref(issues);
	free(text);
	return 1;
}

static void run_dir(const char *kind, bool valid)
{
	const char *top = getenv("top_srcdir");
	char dir[1024];
	struct dirent *de;
	int seen = 0;
	DIR *d;

	cr_assert_not_null(top, "top_srcdir is not set");
	snprintf(dir, sizeof(dir), "%s/tests/fixtures/agents-json/%s", top, kind);
	d = opendir(dir);
	cr_assert_not_null(d, "%s", dir);
	while ((de = readdir(d)) != NULL)
		seen += check_fixture(dir, de->d_name, valid);
	closedir(d);
	cr_assert_gt(seen, 0, "no fixtures in %s", dir);
}

Test(agents_json, valid_fixtures)
{
	run_dir("valid", true);
}

Test(agents_json, invalid_fixtures)
{
	run_dir("invalid", false);
}

Test(agents_json, statuses)
{
	static const struct {
		const char *text;
		enum agents_json_status st;
	} cases[] = {
		{"", AGENTS_JSON_INVALID},
		{"null", AGENTS_JSON_INVALID},
		{"{}", AGENTS_JSON_INVALID},
		{"{\"agents\":[]}", AGENTS_JSON_INVALID},
		{"{\"agents\":[{\"id\":\"a\"}]}", AGENTS_JSON_VALID},
		{"{\"appTools\":[{\"type\":\"builtin\"}]}", AGENTS_JSON_VALID},
		{"{\"agents\":[{\"id\":\"a\",\"tools\":[{\"type\":\"custom\"}]}]}",
		 AGENTS_JSON_CHANGES_REQUIRED},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *doc = NULL, *issues = NULL;

		cr_expect_eq(
			agents_json_check_text(cases[i].text, strlen(cases[i].text), &doc, &issues),
			cases[i].st, "%s", cases[i].text);
		cr_assert(json_is_array(issues));
		json_decref(doc);
		json_decref(issues);
	}
}

Test(agents_json, too_large_and_issue_cap)
{
	size_t len = AGENTS_JSON_MAX_BYTES + 1;
	char *big = malloc(len + 1);
	json_t *doc = NULL, *issues = NULL, *tools, *agents;

	memset(big, ' ', len);
	big[len] = '\0';
	cr_assert_eq(agents_json_check_text(big, len, &doc, &issues), AGENTS_JSON_INVALID);
	cr_assert(has_issue(issues, "larger than"));
	json_decref(issues);
	free(big);

	tools = json_array();
	for (int i = 0; i < AGENTS_JSON_MAX_ISSUES; i++)
		json_array_append_new(tools, json_pack("{ss}", "type", "custom"));
	agents = json_pack("{s[{ssso}]}", "agents", "name", "Many", "tools", tools);
	cr_assert_eq(agents_json_validate(agents, &issues), AGENTS_JSON_CHANGES_REQUIRED);
	cr_assert_eq(json_array_size(issues), AGENTS_JSON_MAX_ISSUES);
	json_decref(issues);
	json_decref(agents);
}

Test(agents_json, label_is_clipped)
{
	char name[AGENTS_JSON_MAX_LABEL * 2 + 1];
	json_t *doc, *issues = NULL;
	const char *issue;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	doc = json_pack("{s[{sss[{ss}]}]}", "agents", "name", name, "tools", "type", "custom");
	cr_assert_eq(agents_json_validate(doc, &issues), AGENTS_JSON_CHANGES_REQUIRED);
	issue = json_string_value(json_array_get(issues, 0));
	cr_assert_lt(strlen(issue), strlen(name));
	json_decref(issues);
	json_decref(doc);
}

Test(agents_json, secret_and_token_names)
{
	static const struct {
		const char *name;
		bool secret, token;
	} cases[] = {
		{"api_key", true, false},
		{"apiKey", true, false},
		{"apikey", true, false},
		{"API-KEY", true, false},
		{"key", true, false},
		{"monkey", false, false},
		{"client.secret", true, true},
		{"token", true, true},
		{"access_token", true, true},
		{"accessToken", false, true},
		{"refresh-token", true, true},
		{"oauth", false, true},
		{"oauth_code", false, true},
		{"auth", true, false},
		{"author", false, false},
		{"password", true, false},
		{"bearer", true, true},
		{"city", false, false},
		{"query.text", false, false},
		{"x.auth.y", true, false},
		{"", false, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(agents_json_secret_like(cases[i].name), cases[i].secret, "secret %s",
			     cases[i].name);
		cr_expect_eq(agents_json_token_like(cases[i].name), cases[i].token, "token %s",
			     cases[i].name);
	}
}

Test(agents_json, placeholders)
{
	json_t *v = json_loads("{\"url\":\"https://x/{{ a }}/{{b.c}}/{{a}}/{{bad name}}/{{}}\","
			       "\"headers\":{\"{{hdr}}\":\"{{{triple}}}\"},"
			       "\"body\":[1,{\"k\":\"{{ secrets.K }} {{ d-e }}\"}]}",
			       0, NULL);
	json_t *names = json_array();
	json_t *want = json_pack("[ssssss]", "a", "b.c", "hdr", "triple", "secrets.K", "d-e");

	cr_assert_not_null(v);
	agents_json_placeholders(v, names);
	cr_assert(json_equal(names, want), "%s", json_dumps(names, 0));
	json_decref(v);
	json_decref(names);
	json_decref(want);
}
