/* Drift test of fcgi/sse/prompt.c: what the builder's prompt names must exist.
 *
 * Every mcp__<server>__<name> in the prompt must be a tool workerd's broker registers
 * (tools_find), and every backticked path (a span with a "/" or a known file extension and no
 * spaces) must exist in the app template workerd copies into new workspaces: a glob must match
 * at least one file, an "@/" import specifier resolves as the template's alias does. Files the
 * builder itself creates are the one explicit exception. The checkers are first run on a
 * deliberately wrong text, so a checker that stopped finding anything would fail too. */
#include <config.h>

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "fcgi/sse/prompt.c"
#include "workerd/tools.h"

/* Paths the builder creates (agents.json) or the build writes (dist/index.html). */
static const char *const created_later[] = {"agents.json", "dist/index.html"};
static const char *const path_exts[] = {".tsx", ".ts", ".json", ".css", ".html", ".md", ".js"};
/* How an "@/" import specifier without an extension may resolve, as Vite tries them. */
static const char *const import_exts[] = {"", ".ts", ".tsx"};

static bool tool_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* Counts the mcp__<server>__<name> names in text (*seen) and returns how many of them the
 * registry does not know, logging each when `report` (Criterion fails a run that logs errors). */
static size_t unknown_tools(const char *text, bool report, size_t *seen)
{
	size_t bad = 0;

	*seen = 0;
	for (const char *p = strstr(text, "mcp__"); p != NULL; p = strstr(p, "mcp__")) {
		char tok[BROKER_MAX_TOOL_NAME + 1];
		size_t n = 0;
		char *sep;

		p += 5;
		while (tool_char(p[n]) && n < BROKER_MAX_TOOL_NAME)
			n++;
		memcpy(tok, p, n);
		tok[n] = '\0';
		p += n;
		(*seen)++;
		sep = strstr(tok, "__");
		if (sep != NULL)
			*sep = '\0';
		if (sep == NULL || !tools_server_known(tok) || tools_find(tok, sep + 2) == NULL) {
			if (report)
				cr_log_error("unregistered tool in the prompt: mcp__%s%s%s", tok,
					     sep ? "__" : "", sep ? sep + 2 : "");
			bad++;
		}
	}
	return bad;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool looks_like_path(const char *tok)
{
	if (tok[strcspn(tok, " \t\n")] != '\0' || strstr(tok, "://") != NULL)
		return false;
	if (strchr(tok, '/') != NULL)
		return true;
	for (size_t i = 0; i < sizeof(path_exts) / sizeof(path_exts[0]); i++)
		if (ends_with(tok, path_exts[i]))
			return true;
	return false;
}

/* Whether rel (relative to the template) names at least one existing file or directory. */
static bool template_has(const char *rel)
{
	char full[sizeof(SECOND_TEMPLATE_DIR) + 1024];
	struct stat st;
	glob_t g;
	bool found;

	snprintf(full, sizeof(full), "%s/%s", SECOND_TEMPLATE_DIR, rel);
	if (strpbrk(rel, "*?[") == NULL)
		return stat(full, &st) == 0;
	found = glob(full, 0, NULL, &g) == 0 && g.gl_pathc > 0;
	globfree(&g);
	return found;
}

static bool path_exists(const char *tok)
{
	char rel[1024];

	for (size_t i = 0; i < sizeof(created_later) / sizeof(created_later[0]); i++)
		if (strcmp(tok, created_later[i]) == 0)
			return true;
	if (tok[0] == '/' || strstr(tok, "..") != NULL)
		return false; /* the prompt speaks only of paths inside the workspace */
	if (strncmp(tok, "@/", 2) != 0)
		return template_has(tok);
	for (size_t i = 0; i < sizeof(import_exts) / sizeof(import_exts[0]); i++) {
		snprintf(rel, sizeof(rel), "src/%s%s", tok + 2, import_exts[i]);
		if (template_has(rel))
			return true;
	}
	return false;
}

/* Counts the backticked paths in text (*seen) and returns how many do not exist, logging each
 * when `report`. */
static size_t unknown_paths(const char *text, bool report, size_t *seen)
{
	size_t bad = 0;

	*seen = 0;
	for (const char *p = strchr(text, '`'); p != NULL; p = strchr(p, '`')) {
		const char *end = strchr(p + 1, '`');
		char tok[512];
		size_t n;

		cr_assert_not_null(end, "unbalanced backtick in the prompt near: %.40s", p);
		n = (size_t)(end - p - 1);
		p = end + 1;
		if (n == 0 || n >= sizeof(tok))
			continue;
		memcpy(tok, end - n, n);
		tok[n] = '\0';
		if (!looks_like_path(tok))
			continue;
		(*seen)++;
		if (!path_exists(tok)) {
			if (report)
				cr_log_error("path in the prompt not in the template: %s", tok);
			bad++;
		}
	}
	return bad;
}

Test(prompt_drift, checkers_catch_drift)
{
	const char *wrong = "Call `mcp__second__done_building`, then `mcp__second__no_such_tool` "
			    "and mcp__elsewhere__present_plan. Edit `src/App.tsx`, "
			    "`src/components/ui/*.tsx`, `@/lib/utils`, `agents.json`, "
			    "`src/components/ui/table.tsx`, `src/pages/*.tsx`, `README.md`, "
			    "`@/lib/missing` and `/etc/passwd`; `npm run build` is no path.";
	size_t seen = 0;

	cr_expect_eq(unknown_tools(wrong, false, &seen), 2);
	cr_expect_eq(seen, 3);
	cr_expect_eq(unknown_paths(wrong, false, &seen), 5);
	cr_expect_eq(seen, 9);
}

Test(prompt_drift, tools_are_registered)
{
	char *p = prompt_builder_new("Acme Ops", "Expense tracker");
	size_t seen = 0;

	cr_expect_eq(unknown_tools(p, true, &seen), 0, "the prompt names tools the broker lacks");
	cr_expect_geq(seen, 4, "the prompt should name the builder's tools");
	free(p);
}

Test(prompt_drift, paths_exist_in_template)
{
	char *p = prompt_builder_new("Acme Ops", "Expense tracker");
	size_t seen = 0;

	cr_expect_eq(unknown_paths(p, true, &seen), 0, "the prompt names paths the template lacks");
	cr_expect_geq(seen, 10, "the prompt should describe the project's files");
	free(p);
}

Test(prompt_drift, names_and_rules)
{
	static const char *const needles[] = {
		"\"Acme Ops\"",     "\"Expense tracker\"",  "mcp__second__present_plan",
		"done_building",    "useCollection",        "useDoc",
		"localStorage",     "`agents.json`",        "mcp__second__present_agents",
		"{{secrets.NAME}}", "WebSearch or WebFetch"};
	char *p = prompt_builder_new("Acme Ops", "Expense tracker");

	for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
		cr_expect_not_null(strstr(p, needles[i]), "the prompt lacks %s", needles[i]);
	cr_expect_lt(strlen(p), WORKERD_SYSTEM_PROMPT_MAX);
	cr_log_info("builder prompt: %zu bytes", strlen(p));
	free(p);
}

Test(prompt_drift, names_are_cleaned)
{
	char longname[NAME_MAX_BYTES * 2 + 1] = "", want[NAME_MAX_BYTES + 3] = "\"";
	char *p = prompt_builder_new("  Ops\n## Security\n\"x\" `y`\t", NULL), *q;
	size_t head = strcspn(p, "\n");

	cr_expect_not_null(strstr(p, "\"Ops ## Security 'x' 'y'\""), "got: %.*s", (int)head, p);
	cr_expect_not_null(strstr(p, "\"this app\""));
	cr_expect_lt((size_t)(strstr(p, "## Security") - p), head, "a name opened a line");
	free(p);
	for (int i = 0; i < NAME_MAX_CHARS + 20; i++)
		strcat(longname, "\xC3\xA9"); /* U+00E9, two bytes */
	for (int i = 0; i < NAME_MAX_CHARS; i++)
		strcat(want, "\xC3\xA9");
	strcat(want, "\"");
	q = prompt_builder_new(longname, "   ");
	cr_expect_not_null(strstr(q, want), "the name is not cut at %d characters", NAME_MAX_CHARS);
	cr_expect_not_null(strstr(q, "\"this app\""));
	free(q);
}
