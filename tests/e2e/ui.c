/* Browser tests of the platform UI: headless Chromium (Debian's, driven by playwright-core)
 * uses the built www/dist through lighttpd, with second-api, second-sse, workerd and the real
 * Claude Code CLI answering from the demo agent of the scripted model (contrib/demo/demo.json:
 * a plan first, the build once the user approves it).
 *
 * Each test starts its own stack and runs tests/e2e/ui-flow.mjs in one mode: onboarding to a
 * built preview, a reload mid-turn that re-attaches, Stop, keyboard only, the agents card
 * and its approval, and the size and load-time budget. Every mode also fails on a console error or warning or a page error.
 * Screenshots go to $top_builddir/tests/e2e/screenshots/ui-*.png. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "lib/jsonx.h"
#include "tests/api-client.h"
#include "tests/wd-client.h"

static struct tc_env env;
static struct wd_env wd;

static const char *srcdir(void)
{
	const char *s = getenv("top_srcdir");
	return s && *s ? s : ".";
}

/* Exits 77 unless Chromium and playwright-core are installed. */
static void require_browser(void)
{
	const char *chromium = getenv("CHROMIUM") ? getenv("CHROMIUM") : "/usr/bin/chromium";
	char pw[HARNESS_PATH_MAX + 64];
	if (access(chromium, X_OK) != 0) {
		fprintf(stderr, "SKIP: %s is not installed (Debian package chromium)\n", chromium);
		exit(77);
	}
	snprintf(pw, sizeof(pw), "%s/tests/e2e/node_modules/playwright-core/package.json",
		 srcdir());
	if (access(pw, R_OK) != 0) {
		fprintf(stderr, "SKIP: playwright-core is not installed: run npm ci --prefix "
				"tests/e2e (contrib/second-dev setup does)\n");
		exit(77);
	}
}

/* Runs in the runner process, so a missing piece skips the whole program (77). */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	wd_require_clis();
	require_browser();
	tc_require_ui();
}

static void setup(void)
{
	static char kv[3][600], wl[700], tok[128];
	cr_assert_eq(tc_env_start_ui(&env), 0, "the web stack did not start");
	wd_env_init(&wd);
	snprintf(wd.scenarios, sizeof(wd.scenarios), "%s/contrib/demo", srcdir());
	snprintf(wd.default_scenario, sizeof(wd.default_scenario), "demo");
	cr_assert_eq(wd_model_start(&wd), 0, "the model server did not start");
	snprintf(kv[0], sizeof(kv[0]), "ANTHROPIC_BASE_URL=%s", wd.model_url);
	snprintf(kv[1], sizeof(kv[1]), "ANTHROPIC_API_KEY=test-model-key");
	snprintf(kv[2], sizeof(kv[2]), "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1");
	const char *wenv[] = {kv[0], kv[1], kv[2], NULL};
	cr_assert_eq(wd_start(&wd, wenv), 0, "workerd did not start (%s)", wd.log);
	snprintf(wl, sizeof(wl), "SECOND_WORKERD_LISTEN=unix:%s", wd.sock);
	snprintf(tok, sizeof(tok), "SECOND_API_INTERNAL_TOKEN=%s", wd.token);
	const char *senv[] = {wl, tok, NULL};
	cr_assert_eq(tc_sse_start(&env, senv), 0, "second-sse did not start");
	static const char *aenv[3];
	aenv[0] = wl, aenv[1] = tok, aenv[2] = NULL;
	env.api_extra_env = aenv;
	cr_assert_eq(tc_api_restart(&env), 0, "second-api did not restart with workerd's settings");
}

static void teardown(void)
{
	tc_sse_stop(&env);
	wd_env_stop(&wd);
	tc_env_stop(&env);
}

TestSuite(ui, .init = setup, .fini = teardown, .timeout = 300);

/* The end of every test: browser tabs still hold observer streams open, and second-sse must
 * still stop on SIGTERM with exit 0 and no sanitizer report (its log is shown otherwise). It
 * is checked in the test itself, where a failure counts. */
static void sse_stops_cleanly(void)
{
	int st = tc_sse_stop(&env);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "second-sse did not stop cleanly (%d)",
		  st);
}

/* Runs ui-flow.mjs in `mode`; its findings go to stderr. True when every check passed. */
static bool flow(const char *mode)
{
	char out[HARNESS_PATH_MAX + 64], cmd[3 * HARNESS_PATH_MAX + 256];
	const char *b = getenv("top_builddir");
	snprintf(out, sizeof(out), "%s/tests/e2e/screenshots", b && *b ? b : wd.dir);
	snprintf(cmd, sizeof(cmd), "node '%s/tests/e2e/ui-flow.mjs' '%s' '%s' '%s' >&2", srcdir(),
		 mode, env.base_url, out);
	return system(cmd) == 0;
}

/* The one run the flow made (one app, one run), straight from the store. */
static json_t *the_run(void)
{
	json_t *filter = json_object(), *doc = NULL;
	struct err e = {0};
	size_t n = 0;
	cr_assert_eq(store_count(env.store, "agent_runs", filter, &n, &e), 0, "%s", e.msg);
	cr_assert_eq(n, 1, "%zu runs", n);
	cr_assert_eq(store_find_one(env.store, "agent_runs", filter, NULL, 0, &doc, &e), 0, "%s",
		     e.msg);
	json_decref(filter);
	cr_assert_not_null(doc);
	return doc;
}

Test(ui, a_new_user_onboards_approves_a_plan_and_sees_the_preview)
{
	cr_expect(flow("onboarding"), "the onboarding flow failed (see its problems above)");
	sse_stops_cleanly();
}

Test(ui, a_reload_mid_turn_reattaches_without_duplicates)
{
	cr_expect(flow("reload"), "the reload flow failed (see its problems above)");
	json_t *run = the_run();
	cr_expect_str_eq(jsonx_str(run, "status"), "completed", "%s", json_dumps(run, 0));
	json_t *msgs = json_object_get(run, "messages");
	cr_expect_eq(json_array_size(msgs), 4, "%s", json_dumps(msgs, JSON_COMPACT));
	for (size_t i = 0; i < json_array_size(msgs); i++)
		for (size_t k = i + 1; k < json_array_size(msgs); k++)
			cr_expect_str_neq(jsonx_str(json_array_get(msgs, i), "id"),
					  jsonx_str(json_array_get(msgs, k), "id"),
					  "message %zu and %zu share an id", i, k);
	json_decref(run);
	sse_stops_cleanly();
}

Test(ui, stop_ends_the_turn_and_offers_try_again)
{
	cr_expect(flow("stop"), "the stop flow failed (see its problems above)");
	json_t *run = the_run();
	cr_expect_str_eq(jsonx_str(run, "status"), "failed", "%s", json_dumps(run, 0));
	cr_expect_str_eq(jsonx_str(json_object_get(run, "failure"), "code"), "user_stopped");
	json_decref(run);
	sse_stops_cleanly();
}

Test(ui, the_keyboard_alone_reaches_the_composer_approve_and_stop)
{
	cr_expect(flow("keyboard"), "the keyboard flow failed (see its problems above)");
	sse_stops_cleanly();
}

Test(ui, the_agents_card_records_the_approval_before_the_agent_goes_on)
{
	cr_expect(flow("agents"), "the agents flow failed (see its output above)");
	/* The approval is the owner's, of the agents.json the agent wrote (GOV-11/12). */
	json_t *filter = json_object(), *app = NULL;
	struct err e = {0};
	cr_assert_eq(store_find_one(env.store, "apps", filter, NULL, 0, &app, &e), 0, "%s", e.msg);
	cr_assert_not_null(app);
	const char *hash = jsonx_str(app, "agentsJsonApprovalHash");
	cr_expect(hash && strncmp(hash, "v1:", 3) == 0, "approval hash %s", hash ? hash : "(none)");
	cr_expect_str_eq(jsonx_str(app, "agentsJsonApprovalSource"), "build_chat");
	cr_expect_str_eq(jsonx_str(app, "agentsJsonApprovedByUserName"), "Ada Agents");
	json_t *agents = json_object_get(json_object_get(app, "agentsJsonApprovedPayload"),
					 "agents");
	cr_expect_str_eq(jsonx_str(json_array_get(agents, 0), "id"), "triage");
	json_decref(app);
	json_decref(filter);
	sse_stops_cleanly();
}

Test(ui, the_initial_javascript_fits_the_budget)
{
	cr_expect(flow("budget"), "the budget flow failed (see its problems above)");
	sse_stops_cleanly();
}
