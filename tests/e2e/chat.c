/* End-to-end tests of the builder chat through lighttpd: second-api, second-sse, workerd and
 * the real Claude Code CLI against the scripted model.
 *
 * The POST stream is the AI SDK UI message stream; the assistant message assembled from it
 * equals the one persisted; observers attaching mid-stream and after the end get the same
 * chunks; a duplicate POST gets the empty stream, a POST during a turn already_streaming; stop
 * ends the turn (run failed/user_stopped, no runtime process left); a plan approval ends the
 * turn completed and the next message resumes the session. */
#include <config.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "lib/jsonx.h"
#include "lib/sse.h"
#include "tests/api-client.h"
#include "tests/wd-client.h"

static struct tc_env env;
static struct wd_env wd;
static char *owner;
static char ws[128], app[64], base[256];

static void setup(void)
{
	static char kv[3][600], wl[700], tok[128];
	wd_require_clis();
	cr_assert_eq(tc_env_start(&env), 0, "the web stack did not start");
	wd_env_init(&wd);
	cr_assert_eq(wd_model_start(&wd), 0, "the model server did not start");
	snprintf(kv[0], sizeof(kv[0]), "ANTHROPIC_BASE_URL=%s", wd.model_url);
	snprintf(kv[1], sizeof(kv[1]), "ANTHROPIC_API_KEY=test-model-key");
	snprintf(kv[2], sizeof(kv[2]), "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1");
	const char *wenv[] = {kv[0], kv[1], kv[2], NULL};
	cr_assert_eq(wd_start(&wd, wenv), 0, "workerd did not start (%s)", wd.log);
	snprintf(wl, sizeof(wl), "SECOND_WORKERD_LISTEN=unix:%s", wd.sock);
	snprintf(tok, sizeof(tok), "SECOND_API_INTERNAL_TOKEN=%s", wd.token);
	const char *senv[] = {wl, tok, "SECOND_SSE_KEEPALIVE_S=1", NULL};
	cr_assert_eq(tc_sse_start(&env, senv), 0, "second-sse did not start");
	static const char *aenv[3];
	aenv[0] = wl, aenv[1] = tok, aenv[2] = NULL;
	env.api_extra_env = aenv;
	cr_assert_eq(tc_api_restart(&env), 0, "second-api did not restart with workerd's settings");
	owner = tc_login(&env, "Olive Owner", "olive@example.com");
	char *w = tc_workspace_new(&env, owner, "Chat Works");
	snprintf(ws, sizeof(ws), "%s", w);
	free(w);
	struct tc_resp r;
	char path[256];
	snprintf(path, sizeof(path), "/api/workspaces/%s/apps", ws);
	cr_assert_eq(
		tc_json(&env, owner, "POST", path,
			"{\"appName\":\"Tasks\",\"runtimeId\":\"claude-code\",\"runtimeModel\":"
			"\"claude-sonnet-4-5\",\"runtimeParams\":{}}",
			&r),
		0);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(app, sizeof(app), "%s", jsonx_str(r.json, "id"));
	tc_resp_free(&r);
	snprintf(base, sizeof(base), "/api/workspaces/%s/apps/%s", ws, app);
}

static void teardown(void)
{
	tc_sse_stop(&env);
	wd_env_stop(&wd);
	tc_env_stop(&env);
	free(owner);
}

TestSuite(chat, .init = setup, .fini = teardown, .timeout = 240);

/* The end of every test: second-sse stops on SIGTERM with exit 0 and no sanitizer report (its
 * log is shown otherwise), checked in the test itself, where a failure counts. */
static void sse_stops_cleanly(void)
{
	int st = tc_sse_stop(&env);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "second-sse did not stop cleanly (%d)",
		  st);
}

static char *new_run(void)
{
	struct tc_resp r;
	char path[300];
	snprintf(path, sizeof(path), "%s/runs", base);
	cr_assert_eq(tc_json(&env, owner, "POST", path, NULL, &r), 0);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_expect_str_eq(jsonx_str(r.json, "status"), "pending");
	char *id = strdup(jsonx_str(r.json, "id"));
	tc_resp_free(&r);
	return id;
}

/* A chat request body: the messages so far (JSON array text) plus a user message. */
static char *chat_body(const char *earlier, const char *msg_id, const char *text)
{
	json_t *msgs = earlier ? json_loads(earlier, 0, NULL) : json_array();
	json_array_append_new(msgs, json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "id", msg_id, "role",
					      "user", "parts", "type", "text", "text", text));
	json_t *b = json_pack("{s:s, s:o, s:s}", "id", "chat", "messages", msgs, "trigger",
			      "submit-message");
	char *s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

static int post_chat(const char *run, const char *body, struct tc_resp *r)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/runs/%s/chat", base, run);
	return tc_call(&env, owner, "POST", path, "application/json", body, strlen(body), NULL, r);
}

static json_t *get_chat(const char *run)
{
	struct tc_resp r;
	char path[400];
	snprintf(path, sizeof(path), "%s/runs/%s/chat", base, run);
	cr_assert_eq(tc_json(&env, owner, "GET", path, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *j = json_incref(r.json);
	tc_resp_free(&r);
	return j;
}

/* The data payloads of an SSE body, in order ([DONE] included). */
struct payloads {
	json_t *list;
};

static int on_payload(void *arg, const char *data, size_t len, const char *id)
{
	(void)id;
	json_array_append_new(((struct payloads *)arg)->list, json_stringn(data, len));
	return 0;
}

static json_t *payloads_of(const char *body)
{
	struct payloads p = {json_array()};
	struct sse_reader rd;
	struct err e = {0};
	sse_reader_init(&rd, on_payload, &p);
	cr_assert_eq(sse_feed(&rd, body, strlen(body), &e), 0, "%s", e.msg);
	sse_reader_free(&rd);
	return p.list;
}

static char *text_of(const json_t *payloads)
{
	size_t i;
	json_t *p;
	char *out = calloc(1, 4096);
	cr_assert_not_null(out);
	json_array_foreach (payloads, i, p) {
		json_t *ch = json_loads(json_string_value(p), 0, NULL);
		const char *t = jsonx_str(ch, "type");
		if (t && strcmp(t, "text-delta") == 0)
			strncat(out, jsonx_str(ch, "delta"), 4095 - strlen(out));
		json_decref(ch);
	}
	return out;
}

Test(chat, the_stream_is_a_ui_message_stream_and_is_persisted)
{
	char *run = new_run();
	char *body = chat_body(NULL, "u1", "[scenario:text] Build me a task tracker.");
	struct tc_resp r;
	char h[128];
	cr_assert_eq(post_chat(run, body, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(tc_header(&r, "X-Vercel-Ai-Ui-Message-Stream", h, sizeof(h)), "v1");
	cr_expect(strncmp(tc_header(&r, "Content-Type", h, sizeof(h)), "text/event-stream", 17) ==
		  0);
	cr_expect_str_eq(tc_header(&r, "X-Second-Chat-Claim-Result", h, sizeof(h)), "claimed");
	json_t *p = payloads_of(r.body);
	cr_assert_gt(json_array_size(p), 2, "%s", r.body);
	cr_expect_str_eq(json_string_value(json_array_get(p, json_array_size(p) - 1)), "[DONE]");
	char *text = text_of(p);
	cr_expect_str_eq(text, "Hello from the scripted model. This reply streams in deltas.");
	json_t *chat = get_chat(run);
	cr_expect_str_eq(jsonx_str(chat, "status"), "completed", "%s", json_dumps(chat, 0));
	json_t *msgs = json_object_get(chat, "messages");
	cr_assert_eq(json_array_size(msgs), 2, "%s", json_dumps(chat, 0));
	json_t *assistant = json_array_get(msgs, 1);
	cr_expect_str_eq(jsonx_str(assistant, "role"), "assistant");
	json_t *parts = json_object_get(assistant, "parts");
	bool found = false;
	size_t i;
	json_t *part;
	json_array_foreach (parts, i, part)
		if (jsonx_str(part, "text") && strcmp(jsonx_str(part, "text"), text) == 0)
			found = true;
	cr_expect(found, "the persisted message lacks the text: %s", json_dumps(assistant, 0));
	/* The AI SDK itself (readUIMessageStream over this very stream) assembles the message
	 * that was persisted. */
	char dir[HARNESS_PATH_MAX + 16], file[HARNESS_PATH_MAX + 64], cmd[3 * HARNESS_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/sdk", env.dir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(file, sizeof(file), "%s/chat.sse", dir);
	FILE *f = fopen(file, "w");
	cr_assert_not_null(f);
	fputs(r.body, f);
	fclose(f);
	json_t *req = json_pack("{s:[O], s:O}", "messages", json_array_get(msgs, 0), "newId",
				json_object_get(assistant, "id"));
	snprintf(file, sizeof(file), "%s/chat.request.json", dir);
	cr_assert_eq(json_dump_file(req, file, 0), 0);
	json_decref(req);
	json_t *fold = json_pack("{s:O, s:b}", "message", assistant, "broken", 0);
	snprintf(file, sizeof(file), "%s/chat.fold.json", dir);
	cr_assert_eq(json_dump_file(fold, file, 0), 0);
	json_decref(fold);
	snprintf(cmd, sizeof(cmd), "node '%s/tests/e2e/check-uistream.mjs' '%s' >&2",
		 getenv("top_srcdir") ? getenv("top_srcdir") : ".", dir);
	cr_expect_eq(system(cmd), 0, "the AI SDK assembled another message than was persisted");
	json_t *usage = json_object_get(chat, "usage");
	cr_expect_eq(json_integer_value(json_object_get(usage, "totalInputTokens")), 120, "%s",
		     json_dumps(chat, 0));
	/* The same POST again: the empty stream. */
	struct tc_resp again;
	cr_assert_eq(post_chat(run, body, &again), 0);
	json_t *p2 = payloads_of(again.body);
	cr_expect(json_array_size(p2) >= 1);
	cr_expect_str_eq(tc_header(&again, "X-Second-Chat-Claim-Result", h, sizeof(h)),
			 "stale_input");
	/* An observer after the end gets the same chunks. */
	struct tc_resp obs;
	char path[400];
	snprintf(path, sizeof(path), "%s/runs/%s/chat/stream", base, run);
	cr_assert_eq(tc_call(&env, owner, "GET", path, NULL, NULL, 0, NULL, &obs), 0);
	cr_assert_eq(obs.status, 200, "%s", obs.body);
	cr_expect_str_eq(tc_header(&obs, "X-Second-Stream-Replay", h, sizeof(h)), "1");
	json_t *p3 = payloads_of(obs.body);
	cr_expect(json_equal(p, p3), "observer:\n%s\nPOST:\n%s", obs.body, r.body);
	json_decref(p);
	json_decref(p2);
	json_decref(p3);
	json_decref(chat);
	free(text);
	free(body);
	free(run);
	tc_resp_free(&r);
	tc_resp_free(&again);
	tc_resp_free(&obs);
	sse_stops_cleanly();
}

struct observer {
	const char *run;
	struct tc_resp r;
	long status;
};

static void *observe(void *arg)
{
	struct observer *o = arg;
	char path[400];
	snprintf(path, sizeof(path), "%s/runs/%s/chat/stream", base, o->run);
	/* 204 means "not yet" while the run streams: try again. */
	for (int i = 0; i < 200; i++) {
		memset(&o->r, 0, sizeof(o->r));
		if (tc_call(&env, owner, "GET", path, NULL, NULL, 0, NULL, &o->r) != 0)
			break;
		if (o->r.status != 204)
			break;
		tc_resp_free(&o->r);
		usleep(50000);
	}
	o->status = o->r.status;
	return NULL;
}

struct sender {
	const char *run;
	char *body;
	struct tc_resp r;
};

static void *send_chat(void *arg)
{
	struct sender *s = arg;
	post_chat(s->run, s->body, &s->r);
	return NULL;
}

static const char *run_status(const char *run)
{
	static __thread char st[32];
	json_t *c = get_chat(run);
	snprintf(st, sizeof(st), "%s", jsonx_str(c, "status") ? jsonx_str(c, "status") : "");
	json_decref(c);
	return st;
}

Test(chat, observers_mid_stream_see_what_the_sender_sees)
{
	char *run = new_run();
	struct sender s = {.run = run, .body = chat_body(NULL, "u1", "[scenario:chatslow] go")};
	pthread_t ts, t1, t2;
	pthread_create(&ts, NULL, send_chat, &s);
	/* Wait until the turn is streaming, then attach two observers. */
	for (int i = 0; i < 400 && strcmp(run_status(run), "streaming") != 0; i++)
		usleep(25000);
	cr_assert_str_eq(run_status(run), "streaming");
	/* A second sender during the turn: already streaming. */
	struct tc_resp busy;
	char h[128];
	char *more = chat_body(
		"[{\"id\":\"u1\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"x\"}]},"
		"{\"id\":\"a1\",\"role\":\"assistant\",\"parts\":[]}]",
		"u2", "[scenario:text] more");
	cr_assert_eq(post_chat(run, more, &busy), 0);
	cr_expect_str_eq(tc_header(&busy, "X-Second-Chat-Claim-Result", h, sizeof(h)),
			 "already_streaming");
	cr_expect(strstr(busy.body, "still working on the current turn") != NULL, "%s", busy.body);
	/* The very same messages during the turn: the empty stream. */
	struct tc_resp dup;
	cr_assert_eq(post_chat(run, s.body, &dup), 0);
	cr_expect_str_eq(tc_header(&dup, "X-Second-Chat-Claim-Result", h, sizeof(h)),
			 "already_streaming");
	cr_expect_str_eq(dup.body, "data: [DONE]\n\n");
	struct observer o1 = {.run = run}, o2 = {.run = run};
	pthread_create(&t1, NULL, observe, &o1);
	pthread_create(&t2, NULL, observe, &o2);
	pthread_join(ts, NULL);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	cr_assert_eq(s.r.status, 200);
	cr_assert_eq(o1.status, 200, "%s", o1.r.body);
	cr_assert_eq(o2.status, 200, "%s", o2.r.body);
	json_t *ps = payloads_of(s.r.body), *p1 = payloads_of(o1.r.body),
	       *p2 = payloads_of(o2.r.body);
	cr_expect(json_equal(ps, p1), "observer 1:\n%s\nsender:\n%s", o1.r.body, s.r.body);
	cr_expect(json_equal(ps, p2), "observer 2:\n%s\nsender:\n%s", o2.r.body, s.r.body);
	char *text = text_of(ps);
	cr_expect_str_eq(text, "First part of a slow answer. Second part, after a pause.");
	cr_expect_str_eq(run_status(run), "completed");
	/* The pause is longer than the keep-alive interval (1 s here): comments filled it. */
	cr_expect(strstr(s.r.body, ": keep-alive\n\n") != NULL, "%s", s.r.body);
	free(text);
	json_decref(ps);
	json_decref(p1);
	json_decref(p2);
	tc_resp_free(&s.r);
	tc_resp_free(&o1.r);
	tc_resp_free(&o2.r);
	tc_resp_free(&busy);
	tc_resp_free(&dup);
	free(more);
	free(s.body);
	free(run);
	sse_stops_cleanly();
}

/* Whether the slow scenario's `sleep 30` runs in one of this test's workspaces. */
static bool sleeper_alive(void)
{
	return harness_proc_running_in("sleep 30", wd.ws_dir);
}

Test(chat, stop_ends_the_turn)
{
	char *run = new_run();
	struct sender s = {.run = run, .body = chat_body(NULL, "u1", "[scenario:slow] go")};
	pthread_t ts;
	pthread_create(&ts, NULL, send_chat, &s);
	for (int i = 0; i < 600 && !sleeper_alive(); i++)
		usleep(100000);
	cr_assert(sleeper_alive(), "the slow command never started");
	struct tc_resp r;
	char path[400];
	snprintf(path, sizeof(path), "%s/runs/%s/chat/stop", base, run);
	cr_assert_eq(tc_json(&env, owner, "POST", path, "{}", &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect(json_is_true(json_object_get(r.json, "stopped")), "%s", r.body);
	cr_expect(json_is_true(json_object_get(r.json, "workerCancelled")), "%s", r.body);
	tc_resp_free(&r);
	pthread_join(ts, NULL);
	for (int i = 0; i < 30 && sleeper_alive(); i++)
		usleep(100000);
	cr_expect(!sleeper_alive(), "a runtime process outlived the stop");
	json_t *chat = get_chat(run);
	cr_expect_str_eq(jsonx_str(chat, "status"), "failed");
	cr_expect_str_eq(jsonx_str(json_object_get(chat, "failure"), "code"), "user_stopped");
	json_decref(chat);
	/* A second stop: already terminal. */
	cr_assert_eq(tc_json(&env, owner, "POST", path, "{}", &r), 0);
	cr_expect(json_is_true(json_object_get(r.json, "alreadyTerminal")), "%s", r.body);
	tc_resp_free(&r);
	tc_resp_free(&s.r);
	free(s.body);
	free(run);
	sse_stops_cleanly();
}

Test(chat, a_plan_ends_the_turn_completed_and_the_next_message_resumes)
{
	char *run = new_run();
	char *body = chat_body(NULL, "u1", "[scenario:plan] Plan a task tracker.");
	struct tc_resp r;
	cr_assert_eq(post_chat(run, body, &r), 0);
	cr_assert(strstr(r.body, "tool-output-available") != NULL, "%s", r.body);
	json_t *chat = get_chat(run);
	cr_expect_str_eq(jsonx_str(chat, "status"), "completed", "%s", json_dumps(chat, 0));
	char *earlier = json_dumps(json_object_get(chat, "messages"), JSON_COMPACT);
	json_decref(chat);
	char *next = chat_body(earlier, "u2", "[scenario:resume] Approved, go ahead.");
	struct tc_resp r2;
	cr_assert_eq(post_chat(run, next, &r2), 0);
	json_t *p = payloads_of(r2.body);
	char *text = text_of(p);
	cr_expect_str_eq(text, "Continuing the earlier conversation.", "%s", r2.body);
	chat = get_chat(run);
	cr_expect_str_eq(jsonx_str(chat, "status"), "completed");
	cr_expect_eq(json_array_size(json_object_get(chat, "messages")), 4);
	json_decref(chat);
	json_decref(p);
	free(text);
	free(next);
	free(earlier);
	free(body);
	free(run);
	tc_resp_free(&r);
	tc_resp_free(&r2);
	sse_stops_cleanly();
}

static void wait_streaming(const char *run)
{
	for (int i = 0; i < 400 && strcmp(run_status(run), "streaming") != 0; i++)
		usleep(25000);
	cr_assert_str_eq(run_status(run), "streaming");
	usleep(500000); /* into the turn: the first part has streamed */
}

Test(chat, workerd_killed_mid_turn_fails_the_run_retryably_and_a_retry_completes)
{
	char *run = new_run();
	struct sender s = {.run = run, .body = chat_body(NULL, "u1", "[scenario:chatslow] go")};
	pthread_t ts;
	pthread_create(&ts, NULL, send_chat, &s);
	wait_streaming(run);
	kill(wd.pid, SIGKILL);
	waitpid(wd.pid, NULL, 0);
	wd.pid = 0;
	pthread_join(ts, NULL);
	cr_expect(strstr(s.r.body, "\"type\":\"error\"") != NULL, "%s", s.r.body);
	json_t *chat = get_chat(run);
	json_t *failure = json_object_get(chat, "failure");
	cr_expect_str_eq(jsonx_str(chat, "status"), "failed", "%s", json_dumps(chat, 0));
	cr_expect_str_eq(jsonx_str(failure, "code"), "worker_stream_failed");
	cr_expect(json_is_true(json_object_get(failure, "retryable")));
	cr_expect(strstr(jsonx_str(failure, "message"), "agent worker") != NULL, "%s",
		  jsonx_str(failure, "message"));
	json_decref(chat);
	/* workerd is back (systemd would restart it); "Try again" re-sends the message. */
	static char kv[3][600];
	snprintf(kv[0], sizeof(kv[0]), "ANTHROPIC_BASE_URL=%s", wd.model_url);
	snprintf(kv[1], sizeof(kv[1]), "ANTHROPIC_API_KEY=test-model-key");
	snprintf(kv[2], sizeof(kv[2]), "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1");
	const char *wenv[] = {kv[0], kv[1], kv[2], NULL};
	cr_assert_eq(wd_start(&wd, wenv), 0, "workerd did not come back");
	json_t *b = json_loads(s.body, 0, NULL);
	json_object_set_new(b, "retryLastMessageId", json_string("u1"));
	char *retry = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	struct tc_resp r;
	char h[64];
	cr_assert_eq(post_chat(run, retry, &r), 0);
	cr_expect_str_eq(tc_header(&r, "X-Second-Chat-Claim-Result", h, sizeof(h)), "claimed");
	json_t *p = payloads_of(r.body);
	char *text = text_of(p);
	cr_expect_str_eq(text, "First part of a slow answer. Second part, after a pause.", "%s",
			 r.body);
	cr_expect_str_eq(run_status(run), "completed");
	free(text);
	json_decref(p);
	free(retry);
	tc_resp_free(&r);
	tc_resp_free(&s.r);
	free(s.body);
	free(run);
	sse_stops_cleanly();
}

Test(chat, redis_restarted_mid_turn_the_stream_completes_and_is_stored)
{
	char *run = new_run();
	struct sender s = {.run = run, .body = chat_body(NULL, "u1", "[scenario:chatslow] go")};
	pthread_t ts;
	pthread_create(&ts, NULL, send_chat, &s);
	wait_streaming(run);
	cr_assert_eq(harness_redis_restart(&env.redis), 0);
	pthread_join(ts, NULL);
	cr_assert_eq(s.r.status, 200);
	json_t *p = payloads_of(s.r.body);
	char *text = text_of(p);
	cr_expect_str_eq(text, "First part of a slow answer. Second part, after a pause.", "%s",
			 s.r.body);
	cr_expect_str_eq(json_string_value(json_array_get(p, json_array_size(p) - 1)), "[DONE]");
	/* Sign-in sessions lived in that Redis: read the run from the store itself. */
	json_t *doc = NULL;
	struct err e = {0};
	cr_assert_eq(store_get(env.store, "agent_runs", run, &doc, &e), 0, "%s", e.msg);
	cr_expect_str_eq(jsonx_str(doc, "status"), "completed", "%s", json_dumps(doc, 0));
	cr_expect_eq(json_array_size(json_object_get(doc, "messages")), 2);
	json_decref(doc);
	free(text);
	json_decref(p);
	tc_resp_free(&s.r);
	free(s.body);
	free(run);
	sse_stops_cleanly();
}

Test(chat, a_lost_workspace_is_restored_from_the_draft_snapshot)
{
	struct err e = {0};
	json_t *snap = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}], s:i}", "workspaceId",
				 ws, "appId", app, "kind", "draft", "files", "path", "notes.txt",
				 "content", "restored from the snapshot\n", "path", "src/App.tsx",
				 "content", "export default function App() { return null; }\n",
				 "fileCount", 2);
	cr_assert_eq(store_insert(env.store, "app_source_snapshots", snap, &e), 0, "%s", e.msg);
	json_decref(snap);
	char *run = new_run();
	char *body = chat_body(NULL, "u1", "[scenario:text] Carry on.");
	struct tc_resp r;
	cr_assert_eq(post_chat(run, body, &r), 0);
	cr_expect(strstr(r.body, "data: [DONE]") != NULL, "%s", r.body);
	char path[HARNESS_PATH_MAX + 128], text[128] = {0};
	snprintf(path, sizeof(path), "%s/%s/notes.txt", wd.ws_dir, app);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s was not restored", path);
	cr_expect_gt(fread(text, 1, sizeof(text) - 1, f), 0);
	fclose(f);
	cr_expect_str_eq(text, "restored from the snapshot\n");
	cr_expect_str_eq(run_status(run), "completed");
	tc_resp_free(&r);
	free(body);
	free(run);
	sse_stops_cleanly();
}

struct events_reader {
	const char *run;
	char body[8192];
	size_t len;
};

/* Keeps what arrives and ends the transfer once the run's terminal event is in. */
static size_t on_events(char *p, size_t sz, size_t n, void *ud)
{
	struct events_reader *r = ud;
	size_t k = sz * n;
	if (r->len + k < sizeof(r->body)) {
		memcpy(r->body + r->len, p, k);
		r->len += k;
	}
	r->body[r->len] = '\0';
	if (strstr(r->body, "\"type\":\"completed\"") || strstr(r->body, "\"type\":\"failed\""))
		return 0;
	return k;
}

static void *read_events(void *arg)
{
	struct events_reader *r = arg;
	char url[512], ck[256];
	snprintf(url, sizeof(url), "%s%s/runs/%s/events", env.base_url, base, r->run);
	snprintf(ck, sizeof(ck), "second_session=%s", owner);
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_COOKIE, ck);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_events);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	/* Long enough for a turn on a loaded machine: the stream ends at the terminal event. */
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	return NULL;
}

Test(chat, run_events_follow_the_turn)
{
	char *run = new_run();
	struct events_reader ev = {.run = run};
	pthread_t th;
	pthread_create(&th, NULL, read_events, &ev);
	usleep(700000);
	char *body = chat_body(NULL, "u1", "[scenario:text] hi");
	struct tc_resp r;
	cr_assert_eq(post_chat(run, body, &r), 0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	pthread_join(th, NULL);
	ev.body[ev.len] = '\0';
	cr_expect(strncmp(ev.body, ": ok\n\n", 6) == 0, "%s", ev.body);
	cr_expect(strstr(ev.body, "\"type\":\"stream_started\"") != NULL, "%s", ev.body);
	cr_expect(strstr(ev.body, "\"type\":\"completed\"") != NULL, "%s", ev.body);
	tc_resp_free(&r);
	free(body);
	free(run);
	sse_stops_cleanly();
}

/* Records an agents.json approval on the app, as an approval route would (GOV-12). */
static void approve_agents(const char *hash)
{
	struct err e = {0};
	json_t *f = json_pack("{s:s, s:s}", "_id", app, "workspaceId", ws);
	json_t *u = json_pack("{s:{s:s, s:{}, s:s, s:s, s:s, s:s}}", "$set",
			      "agentsJsonApprovalHash", hash, "agentsJsonApprovedPayload",
			      "agentsJsonApprovedByUserId", "u", "agentsJsonApprovedByUserName",
			      "Olive Owner", "agentsJsonApprovedAt", "2026-01-01T00:00:00.000Z",
			      "agentsJsonApprovalSource", "build_chat");
	cr_assert_eq(store_update_one(env.store, "apps", f, u, NULL, &e), 0, "%s", e.msg);
	json_decref(f);
	json_decref(u);
}

static size_t audit_count(const char *event)
{
	size_t n = 0;
	struct err e = {0};
	json_t *q = json_pack("{s:s, s:s}", "workspaceId", ws, "eventName", event);
	cr_assert_eq(store_count(env.store, "audit_events", q, &n, &e), 0, "%s", e.msg);
	json_decref(q);
	return n;
}

/* The draft preview serves the build: the cookie gets a redirect behind a capability token,
 * which serves the page and its assets with the sandbox headers, and headless Chromium sees
 * the app render; a member who does not work on the app gets neither preview nor files. */
static void check_preview(void)
{
	char path[512], loc[512], h[512];
	struct tc_resp r;
	snprintf(path, sizeof(path), "/preview/%s/%s/draft/", ws, app);
	cr_assert_eq(tc_call(&env, owner, "GET", path, NULL, NULL, 0, NULL, &r), 0);
	cr_assert_eq(r.status, 302, "%s", r.body);
	cr_assert_not_null(tc_header(&r, "Location", loc, sizeof(loc)));
	cr_expect(strstr(loc, "/~") != NULL, "%s", loc);
	tc_resp_free(&r);
	const char *rel = strstr(loc, "/preview/");
	cr_assert_not_null(rel, "%s", loc);
	snprintf(path, sizeof(path), "%s", rel);
	cr_assert_eq(tc_call(&env, NULL, "GET", path, NULL, NULL, 0, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect(strstr(r.body, "<div id=\"root\">") != NULL, "%s", r.body);
	cr_expect(strncmp(tc_header(&r, "Content-Type", h, sizeof(h)), "text/html", 9) == 0);
	cr_expect(strncmp(tc_header(&r, "Content-Security-Policy", h, sizeof(h)),
			  "sandbox allow-scripts allow-forms allow-modals;", 47) == 0,
		  "%s", h);
	cr_expect(strstr(h, "allow-same-origin") == NULL && strstr(h, "default-src 'none'"), "%s",
		  h);
	cr_expect_str_eq(tc_header(&r, "X-Content-Type-Options", h, sizeof(h)), "nosniff");
	cr_expect_not_null(tc_header(&r, "ETag", h, sizeof(h)));
	tc_resp_free(&r);

	char cmd[2048], out[HARNESS_PATH_MAX + 64];
	snprintf(out, sizeof(out), "%s/tests/e2e/screenshots",
		 getenv("top_builddir") ? getenv("top_builddir") : wd.dir);
	snprintf(path, sizeof(path), "/preview/%s/%s/draft/", ws, app);
	snprintf(cmd, sizeof(cmd),
		 "node '%s/tests/e2e/check-preview.mjs' '%s' '%s' '%s' '%s' '%s' >&2",
		 getenv("top_srcdir") ? getenv("top_srcdir") : ".", env.base_url, path, owner,
		 "Team Tasks board", out);
	cr_expect_eq(system(cmd), 0, "Chromium did not see the built app in the preview");

	char *member = tc_member_add(&env, owner, ws, "mia@example.com", "member");
	cr_assert_eq(tc_call(&env, member, "GET", path, NULL, NULL, 0, NULL, &r), 0);
	cr_expect(r.status == 404 || r.status == 403, "draft preview for a non-collaborator: %ld",
		  r.status);
	tc_resp_free(&r);
	snprintf(path, sizeof(path), "%s/files?version=draft", base);
	cr_assert_eq(tc_json(&env, member, "GET", path, NULL, &r), 0);
	cr_expect(r.status == 404 || r.status == 403, "draft files for a non-collaborator: %ld",
		  r.status);
	tc_resp_free(&r);
	cr_assert_eq(tc_json(&env, owner, "GET", path, NULL, &r), 0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(jsonx_str(r.json, "version"), "draft");
	cr_expect(strstr(
		json_string_value(json_object_get(json_object_get(r.json, "files"), "src/App.tsx"))
			?: "",
		"Team Tasks board"));
	tc_resp_free(&r);
	free(member);
}

Test(chat, a_successful_build_saves_the_draft_snapshot)
{
	/* An approval of an agents.json the build does not have is stale afterwards (GOV-13). */
	approve_agents("v1:0508f099a407c13ebd5fb18ef637c356d42ece673dd72962d700b974654af421");
	char *run = new_run();
	char *body = chat_body(NULL, "u1", "[scenario:build] Build the board.");
	struct tc_resp r;
	cr_assert_eq(post_chat(run, body, &r), 0);
	cr_expect(strstr(r.body, "\\\"status\\\":\\\"complete\\\"") != NULL, "%s", r.body);
	cr_expect_str_eq(run_status(run), "completed");
	json_t *f = json_pack("{s:s, s:s, s:s}", "workspaceId", ws, "appId", app, "kind", "draft");
	json_t *snap = NULL, *appdoc = NULL;
	struct err e = {0};
	cr_assert_eq(store_find_one(env.store, "app_source_snapshots", f, NULL, 0, &snap, &e), 0);
	json_decref(f);
	cr_assert_not_null(snap, "no draft snapshot was saved");
	bool app_tsx = false, index = false, secret = false;
	size_t i;
	json_t *item;
	json_array_foreach (json_object_get(snap, "files"), i, item) {
		const char *p = jsonx_str(item, "path");
		app_tsx = app_tsx || (strcmp(p, "src/App.tsx") == 0 &&
				      strstr(jsonx_str(item, "content"), "Team Tasks board"));
		index = index || strcmp(p, "dist/index.html") == 0;
		secret = secret || strncmp(p, ".env", 4) == 0 || strstr(p, "node_modules");
	}
	cr_expect(app_tsx && index && !secret, "files: %s", json_dumps(snap, JSON_COMPACT));
	cr_expect(json_is_true(json_object_get(snap, "hasPreviewArtifact")));
	cr_assert_eq(store_get(env.store, "apps", app, &appdoc, &e), 0);
	cr_expect(json_equal(json_object_get(appdoc, "draftSnapshotId"),
			     json_object_get(snap, "_id")),
		  "%s", json_dumps(appdoc, JSON_COMPACT));
	cr_expect_str_eq(jsonx_str(appdoc, "draftSourceHash"), jsonx_str(snap, "hash"));
	static const char *const approval[] = {
		"agentsJsonApprovalHash",     "agentsJsonApprovedPayload",
		"agentsJsonApprovedByUserId", "agentsJsonApprovedByUserName",
		"agentsJsonApprovedAt",       "agentsJsonApprovalSource",
	};
	for (size_t k = 0; k < sizeof(approval) / sizeof(approval[0]); k++)
		cr_expect(json_is_null(json_object_get(appdoc, approval[k])), "%s kept: %s",
			  approval[k], json_dumps(appdoc, JSON_COMPACT));
	/* The turn left its audit trail. */
	static const char *const events[] = {
		"builder_run.created",     "builder_run.started",   "app.source_snapshot.updated",
		"app.agents_config.stale", "builder_run.completed", NULL};
	for (size_t k = 0; events[k]; k++)
		cr_expect_geq(audit_count(events[k]), 1, "no %s audit event", events[k]);
	json_decref(snap);
	json_decref(appdoc);
	tc_resp_free(&r);
	free(body);
	free(run);
	check_preview();
	sse_stops_cleanly();
}

static bool file_has(const char *rel, const char *needle)
{
	char path[HARNESS_PATH_MAX + 128], text[4096] = {0};
	snprintf(path, sizeof(path), "%s/%s/%s", wd.ws_dir, app, rel);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	return n > 0 && strstr(text, needle) != NULL;
}

Test(chat, a_deleted_workspace_is_restored_and_builds_again)
{
	char *run = new_run();
	char *body = chat_body(NULL, "u1", "[scenario:build] Build the board.");
	struct tc_resp r;
	cr_assert_eq(post_chat(run, body, &r), 0);
	cr_assert_str_eq(run_status(run), "completed", "%s", r.body);
	tc_resp_free(&r);
	free(body);
	free(run);
	char dir[HARNESS_PATH_MAX + 128], cmd[HARNESS_PATH_MAX + 160];
	snprintf(dir, sizeof(dir), "%s/%s", wd.ws_dir, app);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
	struct stat st;
	cr_assert_neq(stat(dir, &st), 0, "the workspace is still there");
	size_t saved = audit_count("app.source_snapshot.updated");

	/* The next turn finds the workspace gone, restores the draft and only builds. */
	run = new_run();
	body = chat_body(NULL, "u1", "[scenario:rebuild] Build it again.");
	cr_assert_eq(post_chat(run, body, &r), 0);
	cr_expect(strstr(r.body, "\\\"status\\\":\\\"complete\\\"") != NULL, "%s", r.body);
	cr_expect_str_eq(run_status(run), "completed");
	cr_expect(file_has("src/App.tsx", "Team Tasks board"), "src/App.tsx was not restored");
	cr_expect(file_has("dist/index.html", "<div id=\"root\">"), "dist was not rebuilt");
	cr_expect(stat(dir, &st) == 0 && access(strcat(dir, "/node_modules"), F_OK) == 0,
		  "dependencies were not installed again");
	cr_expect_eq(audit_count("app.source_snapshot.updated"), saved + 1,
		     "the rebuilt draft was not saved");
	tc_resp_free(&r);
	free(body);
	free(run);
	sse_stops_cleanly();
}

/* PATCH .../agents (API-50) reaches the live workspace, so the next turn and the draft the
 * collaborators read both have the new agents.json, and saves it in the draft snapshot. */
Test(chat, an_agents_json_edit_reaches_the_live_workspace)
{
	char *run = new_run();
	char *body = chat_body(NULL, "u1", "[scenario:text] Hello.");
	struct tc_resp r;
	cr_assert_eq(post_chat(run, body, &r), 0);
	cr_assert_str_eq(run_status(run), "completed", "%s", r.body);
	tc_resp_free(&r);
	cr_assert(file_has("package.json", "\""), "the turn left no workspace");

	char path[400];
	static const char agents[] = "{\"agents\":[{\"id\":\"sorter\",\"name\":\"Sorter\"}]}";
	snprintf(path, sizeof(path), "%s/agents", base);
	cr_assert_eq(tc_call(&env, owner, "PATCH", path, "application/json", agents, strlen(agents),
			     NULL, &r),
		     0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	tc_resp_free(&r);
	cr_expect(file_has("agents.json", "\"id\": \"sorter\""),
		  "agents.json is not in the live workspace");
	cr_assert_eq(tc_json(&env, owner, "GET", path, NULL, &r), 0);
	cr_expect_str_eq(jsonx_str(json_array_get(json_object_get(r.json, "agents"), 0), "name"),
			 "Sorter", "%s", r.body);
	tc_resp_free(&r);
	cr_expect_eq(audit_count("app.source_snapshot.updated"), 1);
	free(body);
	free(run);
	sse_stops_cleanly();
}

Test(chat, detect_provider_reports_the_runtimes_workerd_can_run)
{
	struct tc_resp r;
	cr_assert_eq(tc_json(&env, owner, "GET", "/api/setup/detect-provider", NULL, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect(json_is_true(json_object_get(r.json, "workerReachable")), "%s", r.body);
	json_t *claude = json_object_get(json_object_get(r.json, "runtimes"), "claude-code");
	cr_expect(json_is_true(json_object_get(claude, "available")), "%s", r.body);
	cr_expect(strstr(r.body, "test-model-key") == NULL, "a secret in the reply: %s", r.body);
	tc_resp_free(&r);
	cr_assert_eq(tc_json(&env, NULL, "GET", "/api/setup/detect-provider", NULL, &r), 0);
	cr_expect_eq(r.status, 401, "%s", r.body);
	tc_resp_free(&r);
	sse_stops_cleanly();
}
