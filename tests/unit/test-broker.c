/* Unit tests of workerd/broker.c and workerd/tools.c: the MCP broker driven from memory.
 *
 * Each test opens sessions on a fresh broker (no workerd), sends JSON-RPC bodies through
 * broker_handle and parses the replies. Expiry uses a fake clock. present_agents runs against
 * a temporary workspace directory; the body corpus is tests/fixtures/mcp-jsonrpc/. */
#include <config.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "workerd/broker.h"
#include "workerd/tools.h"

struct fixture {
	struct broker *b;
	char id[BROKER_ID_LEN + 1];
	char token[BROKER_TOKEN_LEN + 1];
	char auth[BROKER_TOKEN_LEN + 16];
};

static int64_t fake_now;

static int64_t fake_clock(void)
{
	return fake_now;
}

/* Opens a session with the allow-list (JSON text, or NULL for all) and context (JSON text). */
static void open_session(struct fixture *f, const char *allowed, const char *context)
{
	json_t *a = allowed != NULL ? json_loads(allowed, 0, NULL) : NULL;
	json_t *c = context != NULL ? json_loads(context, 0, NULL) : NULL;
	struct err e = {0};

	if (f->b == NULL)
		f->b = broker_new(NULL);
	cr_assert_eq(broker_open(f->b, "claude-code", a, c, f->id, f->token, &e), 0, "%s", e.msg);
	snprintf(f->auth, sizeof(f->auth), "Bearer %s", f->token);
	json_decref(a);
	json_decref(c);
}

/* Sends body; returns the parsed reply (NULL for 204) and the status. */
static json_t *send_as(struct fixture *f, const char *id, const char *server, const char *auth,
		       const char *body, int *status)
{
	char *reply = NULL;
	json_t *v = NULL;

	*status = broker_handle(f->b, id, server, auth, body, strlen(body), &reply);
	if (*status == 204) {
		cr_assert_null(reply);
		return NULL;
	}
	cr_assert_not_null(reply);
	v = json_loads(reply, 0, NULL);
	cr_assert_not_null(v, "reply is not JSON: %s", reply);
	free(reply);
	return v;
}

static json_t *send_ok(struct fixture *f, const char *server, const char *body)
{
	int status;
	json_t *v = send_as(f, f->id, server, f->auth, body, &status);

	cr_assert_eq(status, 200);
	return v;
}

static void assert_rpc_error(const json_t *reply, int code, const char *message)
{
	const json_t *err = json_object_get(reply, "error");

	cr_assert(json_is_object(err), "no error in reply");
	cr_assert_eq(json_integer_value(json_object_get(err, "code")), code);
	cr_assert_str_eq(jsonx_str(err, "message"), message);
}

/* Calls a tool and returns its result text parsed as JSON (the tool replies JSON text). */
static json_t *call_tool(struct fixture *f, const char *name, const char *args, bool *is_error)
{
	char *body = NULL;
	json_t *reply, *result, *parsed;
	const char *text;

	cr_assert(asprintf(&body,
			   "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":"
			   "{\"name\":\"%s\",\"arguments\":%s}}",
			   name, args) > 0);
	reply = send_ok(f, "second", body);
	free(body);
	result = json_object_get(reply, "result");
	cr_assert(json_is_object(result), "tools/call failed");
	*is_error = json_is_true(json_object_get(result, "isError"));
	text = jsonx_str(json_array_get(json_object_get(result, "content"), 0), "text");
	cr_assert_not_null(text);
	cr_assert_str_eq(jsonx_str(json_array_get(json_object_get(result, "content"), 0), "type"),
			 "text");
	parsed = json_loads(text, 0, NULL);
	if (parsed == NULL)
		parsed = json_string(text);
	json_decref(reply);
	return parsed;
}

static void teardown_fixture(struct fixture *f)
{
	broker_free(f->b);
}

Test(broker, open_gives_uuid_and_token)
{
	struct fixture f = {0};

	open_session(&f, NULL, NULL);
	cr_assert_eq(strlen(f.id), BROKER_ID_LEN);
	cr_assert_eq(f.id[14], '4');
	cr_assert(strchr("89ab", f.id[19]) != NULL);
	cr_assert_eq(strlen(f.token), BROKER_TOKEN_LEN);
	cr_assert_eq(
		strspn(f.token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
		BROKER_TOKEN_LEN);
	teardown_fixture(&f);
}

Test(broker, open_refuses_bad_input)
{
	struct broker *b = broker_new(NULL);
	char id[BROKER_ID_LEN + 1], token[BROKER_TOKEN_LEN + 1];
	json_t *bad_list = json_pack("[i]", 1), *bad_ctx = json_pack("[]");
	struct err e = {0};

	cr_assert_eq(broker_open(b, "codex", bad_list, NULL, id, token, &e), -1);
	cr_assert_eq(e.code, ERR_INVALID);
	cr_assert_eq(broker_open(b, "codex", NULL, bad_ctx, id, token, &e), -1);
	cr_assert_eq(e.code, ERR_INVALID);
	json_decref(bad_list);
	json_decref(bad_ctx);
	broker_free(b);
}

Test(broker, session_limit)
{
	struct broker *b = broker_new(NULL);
	char id[BROKER_ID_LEN + 1], token[BROKER_TOKEN_LEN + 1];
	struct err e = {0};

	for (int i = 0; i < BROKER_MAX_SESSIONS; i++)
		cr_assert_eq(broker_open(b, "codex", NULL, NULL, id, token, &e), 0);
	cr_assert_eq(broker_open(b, "codex", NULL, NULL, id, token, &e), -1);
	cr_assert_eq(e.code, ERR_TOO_LARGE);
	broker_close(b, id);
	cr_assert_eq(broker_open(b, "codex", NULL, NULL, id, token, &e), 0);
	broker_free(b);
}

Test(broker, initialize_versions_and_server)
{
	static const struct {
		const char *server, *asked, *version, *name;
	} cases[] = {
		{"second", "2025-06-18", "2025-06-18", "second"},
		{"second", "2025-03-26", "2025-03-26", "second"},
		{NULL, "2024-11-05", "2024-11-05", "second"},
		{"app_tools", "2099-01-01", "2024-11-05", "app_tools"},
		{"app_data", NULL, "2024-11-05", "app_data"},
		{"nonsense", "2025-06-18", "2025-06-18", "second"},
	};
	struct fixture f = {0};

	open_session(&f, NULL, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[256];
		json_t *reply, *result;

		if (cases[i].asked != NULL)
			snprintf(body, sizeof(body),
				 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
				 "\"params\":{\"protocolVersion\":\"%s\",\"capabilities\":{}}}",
				 cases[i].asked);
		else
			snprintf(body, sizeof(body),
				 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}");
		reply = send_ok(&f, cases[i].server, body);
		result = json_object_get(reply, "result");
		cr_assert_eq(json_integer_value(json_object_get(reply, "id")), 1);
		cr_assert_str_eq(jsonx_str(reply, "jsonrpc"), "2.0");
		cr_assert_str_eq(jsonx_str(result, "protocolVersion"), cases[i].version);
		cr_assert(json_is_object(jsonx_path_get(result, "capabilities.tools")));
		cr_assert_str_eq(jsonx_str(json_object_get(result, "serverInfo"), "name"),
				 cases[i].name);
		cr_assert_str_eq(jsonx_str(json_object_get(result, "serverInfo"), "version"),
				 "1.0.0");
		json_decref(reply);
	}
	teardown_fixture(&f);
}

static json_t *list_names(struct fixture *f, const char *server)
{
	json_t *reply = send_ok(f, server,
				"{\"jsonrpc\":\"2.0\",\"id\":\"l\",\"method\":\"tools/list\"}");
	json_t *names = json_array(), *tool;
	size_t i;

	cr_assert_str_eq(jsonx_str(reply, "id"), "l");
	json_array_foreach (jsonx_path_get(reply, "result.tools"), i, tool) {
		cr_assert(json_is_object(json_object_get(tool, "inputSchema")));
		cr_assert_not_null(jsonx_str(tool, "description"));
		json_array_append_new(names, json_string(jsonx_str(tool, "name")));
	}
	json_decref(reply);
	return names;
}

Test(broker, tools_list_all_and_exact_registry)
{
	struct fixture f = {0};
	json_t *names, *expected;

	open_session(&f, NULL, NULL);
	names = list_names(&f, "second");
	expected = json_pack("[sssss]", "present_plan", "present_suggestions", "present_agents",
			     "done_building", "set_app_metadata");
	cr_assert(json_equal(names, expected));
	json_decref(names);
	json_decref(expected);
	names = list_names(&f, "app_tools");
	cr_assert_eq(json_array_size(names), 0);
	json_decref(names);
	names = list_names(&f, "app_data");
	cr_assert_eq(json_array_size(names), 0);
	json_decref(names);
	teardown_fixture(&f);
}

Test(broker, tools_list_filtered_by_allow_list)
{
	struct fixture f = {0};
	json_t *names, *expected;

	open_session(&f,
		     "[\"Read\",\"mcp__second__present_plan\",\"mcp__second__present_agents\","
		     "\"present_suggestions\",\"mcp__app_tools__set_app_metadata\"]",
		     NULL);
	names = list_names(&f, "second");
	expected = json_pack("[ss]", "present_plan", "present_agents");
	cr_assert(json_equal(names, expected));
	json_decref(names);
	json_decref(expected);
	teardown_fixture(&f);
}

Test(broker, schemas_parse)
{
	size_t n;
	const struct tool_def *all = tools_all(&n);

	cr_assert_eq(n, 5);
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_loads(all[i].input_schema, JSON_REJECT_DUPLICATES, NULL);

		cr_assert_not_null(s, "%s: schema is not JSON", all[i].name);
		cr_assert_str_eq(jsonx_str(s, "type"), "object");
		json_decref(s);
	}
	cr_assert_not_null(tools_find("second", "done_building"));
	cr_assert_null(tools_find("second", "list_app_integration_keys"));
	cr_assert_null(tools_find("second", "present_integration_setup"));
	cr_assert_null(tools_find("second", "set_onboarding_context"));
	cr_assert_null(tools_find("app_tools", "report_tool_call_failed"));
}

Test(broker, call_allowed_refused_unknown)
{
	struct fixture f = {0};
	json_t *reply;

	open_session(&f, "[\"mcp__second__present_plan\"]", NULL);
	reply = send_ok(&f, "second",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
			"\"name\":\"present_plan\",\"arguments\":{\"title\":\"T\"}}}");
	cr_assert(json_is_array(jsonx_path_get(reply, "result.content")));
	cr_assert_null(jsonx_path_get(reply, "result.isError"));
	json_decref(reply);
	reply = send_ok(&f, "second",
			"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{"
			"\"name\":\"mcp__second__present_plan\",\"arguments\":{}}}");
	cr_assert(json_is_array(jsonx_path_get(reply, "result.content")));
	json_decref(reply);
	reply = send_ok(&f, "second",
			"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{"
			"\"name\":\"present_suggestions\",\"arguments\":{}}}");
	assert_rpc_error(reply, -32000, "tool_not_allowed_for_session");
	cr_assert_eq(json_integer_value(json_object_get(reply, "id")), 3);
	json_decref(reply);
	reply = send_ok(&f, "second",
			"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{"
			"\"name\":\"list_app_integration_keys\",\"arguments\":{}}}");
	assert_rpc_error(reply, -32000, "unknown_tool");
	json_decref(reply);
	reply = send_ok(&f, "app_tools",
			"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{"
			"\"name\":\"present_plan\",\"arguments\":{}}}");
	assert_rpc_error(reply, -32000, "unknown_tool");
	json_decref(reply);
	reply = send_ok(&f, "second",
			"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{}}");
	assert_rpc_error(reply, -32602, "invalid_params");
	json_decref(reply);
	reply = send_ok(&f, "second",
			"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"resources/list\"}");
	assert_rpc_error(reply, -32601, "method_not_found");
	json_decref(reply);
	reply = send_ok(&f, "second", "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\"}");
	cr_assert(json_is_object(json_object_get(reply, "result")));
	cr_assert_eq(json_object_size(json_object_get(reply, "result")), 0);
	json_decref(reply);
	teardown_fixture(&f);
}

Test(broker, auth_failures)
{
	/* {prefix, suffix} around the right token; NULL prefix = no header at all */
	static const struct {
		const char *pre, *post;
	} bad[] = {
		{NULL, NULL},    {"", ""},         {"Bearer", ""},   {"Bearer ", "x"},
		{"bearer ", ""}, {"Bearer  ", ""}, {"Bearer ", " "}, {"Basic ", ""},
		{"", ""},        {"Bearer x", ""},
	};
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/list\"}";
	struct fixture f = {0};
	json_t *reply;
	int status;

	open_session(&f, NULL, NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char auth[128];

		snprintf(auth, sizeof(auth), "%s%s%s", bad[i].pre != NULL ? bad[i].pre : "",
			 i == 1 || i == 2 ? "" : f.token, bad[i].post != NULL ? bad[i].post : "");
		reply = send_as(&f, f.id, "second", bad[i].pre != NULL ? auth : NULL, body,
				&status);
		cr_assert_eq(status, 200);
		assert_rpc_error(reply, -32000, "invalid_tool_broker_token");
		cr_assert_eq(json_integer_value(json_object_get(reply, "id")), 9);
		cr_assert_null(json_object_get(reply, "result"));
		json_decref(reply);
	}
	reply = send_as(&f, "00000000-0000-4000-8000-000000000000", "second", f.auth, body,
			&status);
	cr_assert_eq(status, 200);
	assert_rpc_error(reply, -32000, "unknown_or_expired_tool_broker_session");
	json_decref(reply);
	reply = send_as(&f, "nope", "second", f.auth, body, &status);
	assert_rpc_error(reply, -32000, "unknown_or_expired_tool_broker_session");
	json_decref(reply);
	/* a notification with a bad token still hears why nothing happened */
	reply = send_as(&f, f.id, "second", "Bearer wrong",
			"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", &status);
	cr_assert_eq(status, 200);
	assert_rpc_error(reply, -32000, "invalid_tool_broker_token");
	cr_assert(json_is_null(json_object_get(reply, "id")));
	json_decref(reply);
	teardown_fixture(&f);
}

Test(broker, token_of_another_session_is_refused)
{
	struct fixture f = {0}, g = {0};
	json_t *reply;
	int status;

	open_session(&f, NULL, NULL);
	g.b = f.b;
	open_session(&g, NULL, NULL);
	reply = send_as(&f, f.id, "second", g.auth,
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", &status);
	assert_rpc_error(reply, -32000, "invalid_tool_broker_token");
	json_decref(reply);
	teardown_fixture(&f);
}

Test(broker, expiry_and_close)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
	struct fixture f = {0};
	json_t *reply;
	int status;

	fake_now = 1000;
	f.b = broker_new(NULL);
	broker_set_clock(f.b, fake_clock);
	open_session(&f, NULL, NULL);
	fake_now += (int64_t)BROKER_SESSION_TTL_S * 1000 - 1;
	reply = send_as(&f, f.id, NULL, f.auth, body, &status);
	cr_assert(json_is_object(json_object_get(reply, "result")));
	json_decref(reply);
	fake_now += 1;
	reply = send_as(&f, f.id, NULL, f.auth, body, &status);
	assert_rpc_error(reply, -32000, "unknown_or_expired_tool_broker_session");
	json_decref(reply);

	open_session(&f, NULL, NULL);
	broker_close(f.b, f.id);
	broker_close(f.b, f.id); /* twice is harmless */
	reply = send_as(&f, f.id, NULL, f.auth, body, &status);
	assert_rpc_error(reply, -32000, "unknown_or_expired_tool_broker_session");
	json_decref(reply);
	teardown_fixture(&f);
}

Test(broker, batch)
{
	struct fixture f = {0};
	json_t *reply;

	open_session(&f, NULL, NULL);
	reply = send_ok(&f, "second",
			"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}},"
			"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
			"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"},"
			"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nope\"},"
			"42]");
	cr_assert(json_is_array(reply));
	cr_assert_eq(json_array_size(reply), 4);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(reply, 0), "id")), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(reply, 1), "id")), 2);
	assert_rpc_error(json_array_get(reply, 2), -32601, "method_not_found");
	assert_rpc_error(json_array_get(reply, 3), -32600, "invalid_request");
	json_decref(reply);

	reply = send_ok(&f, "second", "[]");
	assert_rpc_error(reply, -32600, "invalid_request");
	json_decref(reply);
	teardown_fixture(&f);
}

Test(broker, batch_too_large)
{
	struct fixture f = {0};
	size_t cap = (BROKER_MAX_BATCH + 1) * 64 + 2;
	char *body = malloc(cap), *p = body;
	json_t *reply;

	open_session(&f, NULL, NULL);
	*p++ = '[';
	for (int i = 0; i <= BROKER_MAX_BATCH; i++)
		p += sprintf(p, "%s{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"ping\"}",
			     i > 0 ? "," : "", i);
	strcpy(p, "]");
	reply = send_ok(&f, "second", body);
	assert_rpc_error(reply, -32600, "batch_too_large");
	json_decref(reply);
	free(body);
	teardown_fixture(&f);
}

Test(broker, notifications_only_give_204)
{
	struct fixture f = {0};
	int status;

	open_session(&f, NULL, NULL);
	cr_assert_null(send_as(&f, f.id, "second", f.auth,
			       "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
			       &status));
	cr_assert_eq(status, 204);
	cr_assert_null(send_as(&f, f.id, "second", f.auth,
			       "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
			       "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\"}]",
			       &status));
	cr_assert_eq(status, 204);
	teardown_fixture(&f);
}

Test(broker, non_json_and_oversized)
{
	struct fixture f = {0};
	char *big, *reply = NULL;
	json_t *v;
	int status;

	open_session(&f, NULL, NULL);
	v = send_as(&f, f.id, "second", f.auth, "this is not json", &status);
	cr_assert_eq(status, 400);
	cr_assert_str_eq(jsonx_str(v, "error"), "invalid_json_rpc_body");
	cr_assert_not_null(jsonx_str(v, "message"));
	json_decref(v);
	v = send_as(&f, f.id, "second", f.auth, "", &status);
	cr_assert_eq(status, 400);
	json_decref(v);

	big = malloc(BROKER_MAX_BODY_BYTES + 2);
	memset(big, ' ', BROKER_MAX_BODY_BYTES + 1);
	big[0] = '{';
	big[BROKER_MAX_BODY_BYTES] = '}';
	big[BROKER_MAX_BODY_BYTES + 1] = '\0';
	status = broker_handle(f.b, f.id, "second", f.auth, big, BROKER_MAX_BODY_BYTES + 1, &reply);
	cr_assert_eq(status, 413);
	v = json_loads(reply, 0, NULL);
	cr_assert_str_eq(jsonx_str(v, "error"), "request_too_large");
	json_decref(v);
	free(reply);
	free(big);
	teardown_fixture(&f);
}

Test(broker, too_deep_is_400)
{
	struct fixture f = {0};
	char body[BROKER_MAX_JSON_DEPTH * 2 + 8], *p = body;
	json_t *v;
	int status;

	open_session(&f, NULL, NULL);
	for (int i = 0; i <= BROKER_MAX_JSON_DEPTH; i++)
		*p++ = '[';
	for (int i = 0; i <= BROKER_MAX_JSON_DEPTH; i++)
		*p++ = ']';
	*p = '\0';
	v = send_as(&f, f.id, "second", f.auth, body, &status);
	cr_assert_eq(status, 400);
	cr_assert_str_eq(jsonx_str(v, "error"), "invalid_json_rpc_body");
	json_decref(v);
	teardown_fixture(&f);
}

Test(broker, present_plan_normalizes)
{
	struct fixture f = {0};
	bool is_error;
	json_t *r;

	open_session(&f, NULL, NULL);
	r = call_tool(
		&f, "present_plan",
		"{\"title\":\"CRM\",\"features\":[{\"name\":\"Leads\",\"description\":\"Track "
		"leads\",\"emoji\":\"x\"},{\"name\":5},7],\"agents\":5,\"backend\":\"API\"}",
		&is_error);
	cr_assert_not(is_error);
	cr_assert(json_is_true(json_object_get(r, "ok")));
	cr_assert_str_eq(jsonx_str(r, "status"), "presented");
	cr_assert_str_eq(jsonx_str(r, "title"), "CRM");
	cr_assert_str_eq(jsonx_str(r, "overview"), "");
	cr_assert_str_eq(jsonx_str(r, "dataFlow"), "");
	cr_assert(json_is_null(json_object_get(r, "agents")));
	cr_assert_str_eq(jsonx_str(r, "backend"), "API");
	cr_assert_eq(json_array_size(json_object_get(r, "features")), 2);
	cr_assert_str_eq(jsonx_str(json_array_get(json_object_get(r, "features"), 0), "emoji"),
			 "x");
	cr_assert_str_eq(jsonx_str(json_array_get(json_object_get(r, "features"), 1), "name"), "");
	cr_assert_str_eq(jsonx_str(r, "message"), "Plan presented to the user. Stop here and wait "
						  "for their approval or requested changes.");
	json_decref(r);
	r = call_tool(&f, "present_plan", "null", &is_error);
	cr_assert_str_eq(jsonx_str(r, "title"), "");
	cr_assert(json_is_null(json_object_get(r, "backend")));
	cr_assert_eq(json_array_size(json_object_get(r, "features")), 0);
	json_decref(r);
	teardown_fixture(&f);
}

Test(broker, present_suggestions_rules)
{
	struct fixture f = {0};
	char title81[82], args[1024];
	bool is_error;
	json_t *r, *list;

	memset(title81, 'a', 81);
	title81[81] = '\0';
	snprintf(args, sizeof(args),
		 "{\"suggestions\":["
		 "{\"emoji\":\" \xF0\x9F\x93\x88 \",\"title\":\"  Add charts  \",\"subtitle\":\" "
		 "See "
		 "trends \"},"
		 "{\"icon\":\"rocket\",\"title\":\"Ship\",\"subtitle\":\"Go live\"},"
		 "{\"icon\":\"unknown-icon\",\"title\":\"%s\",\"subtitle\":\"Long\"},"
		 "{\"title\":\"No subtitle\"},"
		 "{\"title\":\"   \",\"subtitle\":\"blank title\"},"
		 "\"not an object\","
		 "{\"title\":\"5\",\"subtitle\":\"5\"},{\"title\":\"6\",\"subtitle\":\"6\"},"
		 "{\"title\":\"7\",\"subtitle\":\"7\"},{\"title\":\"8\",\"subtitle\":\"8\"}]}",
		 title81);
	open_session(&f, NULL, NULL);
	r = call_tool(&f, "present_suggestions", args, &is_error);
	list = json_object_get(r, "suggestions");
	cr_assert(json_is_true(json_object_get(r, "ok")));
	cr_assert_str_eq(jsonx_str(r, "status"), "presented");
	cr_assert_eq(json_array_size(list), TOOL_SUGGESTIONS_MAX);
	cr_assert_str_eq(jsonx_str(json_array_get(list, 0), "emoji"), "\xF0\x9F\x93\x88");
	cr_assert_str_eq(jsonx_str(json_array_get(list, 0), "title"), "Add charts");
	cr_assert_str_eq(jsonx_str(json_array_get(list, 0), "subtitle"), "See trends");
	cr_assert_str_eq(jsonx_str(json_array_get(list, 1), "emoji"), "\xF0\x9F\x9A\x80");
	cr_assert_str_eq(jsonx_str(json_array_get(list, 2), "emoji"), "\xE2\x9C\xA8");
	cr_assert_eq(strlen(jsonx_str(json_array_get(list, 2), "title")),
		     TOOL_SUGGESTION_TITLE_MAX);
	cr_assert_str_eq(jsonx_str(json_array_get(list, 3), "title"), "5");
	cr_assert_str_eq(jsonx_str(json_array_get(list, 5), "title"), "7");
	cr_assert_not_null(jsonx_str(r, "message"));
	json_decref(r);

	r = call_tool(&f, "present_suggestions", "{\"suggestions\":[{\"title\":\"x\"}]}",
		      &is_error);
	cr_assert(json_is_false(json_object_get(r, "ok")));
	cr_assert_str_eq(jsonx_str(r, "status"), "invalid");
	cr_assert_eq(json_array_size(json_object_get(r, "suggestions")), 0);
	json_decref(r);
	r = call_tool(&f, "present_suggestions", "{}", &is_error);
	cr_assert_str_eq(jsonx_str(r, "status"), "invalid");
	json_decref(r);
	teardown_fixture(&f);
}

Test(broker, set_app_metadata_captures)
{
	struct fixture f = {0};
	bool is_error;
	json_t *r, *cap;

	open_session(&f, "[\"mcp__second__set_app_metadata\"]", NULL);
	cr_assert_null(broker_captured(f.b, f.id));
	r = call_tool(
		&f, "set_app_metadata",
		"{\"name\":\"  Sales \\n  Tracker \",\"description\":\"Tracks\\t\\tdeals  and "
		"leads. \"}",
		&is_error);
	cr_assert_not(is_error);
	cr_assert(json_is_true(json_object_get(r, "ok")));
	cr_assert_str_eq(jsonx_str(r, "status"), "captured");
	cr_assert_str_eq(jsonx_str(r, "name"), "Sales Tracker");
	cr_assert_str_eq(jsonx_str(r, "description"), "Tracks deals and leads.");
	json_decref(r);
	cap = broker_captured(f.b, f.id);
	cr_assert_not_null(cap);
	cr_assert_str_eq(jsonx_str(cap, "name"), "Sales Tracker");
	cr_assert_str_eq(jsonx_str(cap, "description"), "Tracks deals and leads.");
	json_decref(cap);

	r = call_tool(&f, "set_app_metadata", "{\"name\":\" x \",\"description\":\"Fine here\"}",
		      &is_error);
	cr_assert(is_error);
	json_decref(r);
	r = call_tool(&f, "set_app_metadata", "{\"name\":\"Good\",\"description\":5}", &is_error);
	cr_assert(is_error);
	json_decref(r);
	cap = broker_captured(f.b, f.id); /* the failed calls changed nothing */
	cr_assert_str_eq(jsonx_str(cap, "name"), "Sales Tracker");
	json_decref(cap);
	cr_assert_null(broker_captured(f.b, "00000000-0000-4000-8000-000000000000"));
	teardown_fixture(&f);
}

Test(broker, utf8_helpers)
{
	char *s = tools_collapse_ws("  a \t\n b  c ");

	cr_assert_str_eq(s, "a b c");
	free(s);
	cr_assert_eq(tools_utf8_chars("h\xC3\xA9llo \xF0\x9F\x9A\x80"), 7);
}

/* A temporary workspace; *dir gets its malloc'd path. */
static char *make_workspace(void)
{
	char *dir = strdup("/tmp/test-broker-XXXXXX");

	cr_assert_not_null(mkdtemp(dir));
	return dir;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static json_t *present_agents_in(const char *dir, bool *is_error)
{
	struct fixture f = {0};
	char ctx[600];
	json_t *r;

	snprintf(ctx, sizeof(ctx), "{\"cwd\":\"%s\",\"appId\":\"a1\"}", dir);
	open_session(&f, NULL, ctx);
	r = call_tool(&f, "present_agents", "{}", is_error);
	teardown_fixture(&f);
	return r;
}

static void remove_workspace(char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
	free(dir);
}

static const char valid_agents[] =
	"{\"agents\":[{\"id\":\"a\",\"name\":\"Analyst\",\"tools\":[{\"type\":\"custom\","
	"\"name\":\"quote\",\"integration\":{\"name\":\"Quotes\",\"domain\":\"api.example.com\"},"
	"\"endpoint\":{\"method\":\"GET\",\"url\":\"https://api.example.com/q/{{ symbol }}\","
	"\"headers\":{\"Authorization\":\"Bearer {{secrets.API_KEY}}\"}}}]}],"
	"\"appTools\":[]}";

Test(broker, present_agents_statuses)
{
	char *dir = make_workspace();
	bool is_error;
	json_t *r;

	r = present_agents_in(dir, &is_error);
	cr_assert_not(is_error);
	cr_assert(json_is_false(json_object_get(r, "ok")));
	cr_assert_str_eq(jsonx_str(r, "status"), "invalid");
	cr_assert_str_eq(jsonx_str(r, "source"), "agents.json");
	cr_assert_str_eq(
		json_string_value(json_array_get(json_object_get(r, "validationIssues"), 0)),
		"agents.json: file does not exist. Write agents.json first.");
	json_decref(r);

	write_file(dir, "agents.json", "{not json");
	r = present_agents_in(dir, &is_error);
	cr_assert_str_eq(jsonx_str(r, "status"), "invalid");
	cr_assert(
		strstr(json_string_value(json_array_get(json_object_get(r, "validationIssues"), 0)),
		       "agents.json: invalid JSON") != NULL);
	json_decref(r);

	write_file(dir, "agents.json", "{\"agents\":[],\"appTools\":[]}");
	r = present_agents_in(dir, &is_error);
	cr_assert_str_eq(jsonx_str(r, "status"), "invalid");
	json_decref(r);

	write_file(dir, "agents.json",
		   "{\"agents\":[{\"id\":\"x\",\"tools\":[{\"type\":\"custom\",\"name\":"
		   "\"report_tool_call_failed\"}]}]}");
	r = present_agents_in(dir, &is_error);
	cr_assert(json_is_false(json_object_get(r, "ok")));
	cr_assert_str_eq(jsonx_str(r, "status"), "changes_required");
	cr_assert_gt(json_array_size(json_object_get(r, "validationIssues")), 0);
	cr_assert_eq(json_array_size(json_object_get(r, "agents")), 1);
	json_decref(r);

	write_file(dir, "agents.json", valid_agents);
	r = present_agents_in(dir, &is_error);
	cr_assert(json_is_true(json_object_get(r, "ok")));
	cr_assert_str_eq(jsonx_str(r, "status"), "presented");
	cr_assert_null(json_object_get(r, "validationIssues"));
	cr_assert_eq(json_array_size(json_object_get(r, "agents")), 1);
	cr_assert(json_is_array(json_object_get(r, "appTools")));
	cr_assert(strstr(jsonx_str(r, "message"), "1 agent(s) and 0 backend function(s)") != NULL);
	json_decref(r);
	remove_workspace(dir);
}

Test(broker, present_agents_file_guards)
{
	char *dir = make_workspace(), *outside = make_workspace(), path[512], target[512];
	bool is_error;
	json_t *r;
	FILE *fp;

	/* a symlink escaping the workspace is refused even though its target is valid */
	write_file(outside, "agents.json", valid_agents);
	snprintf(path, sizeof(path), "%s/agents.json", dir);
	snprintf(target, sizeof(target), "%s/agents.json", outside);
	cr_assert_eq(symlink(target, path), 0);
	r = present_agents_in(dir, &is_error);
	cr_assert_str_eq(jsonx_str(r, "status"), "invalid");
	cr_assert(
		strstr(json_string_value(json_array_get(json_object_get(r, "validationIssues"), 0)),
		       "outside") != NULL);
	json_decref(r);

	/* a symlink inside the workspace is fine */
	cr_assert_eq(unlink(path), 0);
	write_file(dir, "real.json", valid_agents);
	cr_assert_eq(symlink("real.json", path), 0);
	r = present_agents_in(dir, &is_error);
	cr_assert_str_eq(jsonx_str(r, "status"), "presented");
	json_decref(r);

	/* over the size limit */
	cr_assert_eq(unlink(path), 0);
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	for (int i = 0; i <= AGENTS_JSON_MAX_BYTES; i++)
		fputc(' ', fp);
	fclose(fp);
	r = present_agents_in(dir, &is_error);
	cr_assert_str_eq(jsonx_str(r, "status"), "invalid");
	cr_assert(
		strstr(json_string_value(json_array_get(json_object_get(r, "validationIssues"), 0)),
		       "larger") != NULL);
	json_decref(r);

	/* a directory named agents.json */
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkdir(path, 0700), 0);
	r = present_agents_in(dir, &is_error);
	cr_assert_str_eq(jsonx_str(r, "status"), "invalid");
	json_decref(r);

	/* no cwd in the context */
	{
		struct fixture f = {0};

		open_session(&f, NULL, "{}");
		r = call_tool(&f, "present_agents", "{}", &is_error);
		cr_assert(is_error);
		json_decref(r);
		teardown_fixture(&f);
	}
	remove_workspace(dir);
	remove_workspace(outside);
}

/* Every body in tests/fixtures/mcp-jsonrpc/<kind>/ gives the expected status. */
static void replay_corpus(const char *kind, int want_a, int want_b)
{
	const char *top = getenv("top_srcdir");
	struct fixture f = {0};
	char dirpath[1024];
	struct dirent *de;
	int seen = 0;
	DIR *d;

	cr_assert_not_null(top, "top_srcdir is not set");
	snprintf(dirpath, sizeof(dirpath), "%s/tests/fixtures/mcp-jsonrpc/%s", top, kind);
	d = opendir(dirpath);
	cr_assert_not_null(d, "%s", dirpath);
	open_session(&f, NULL, NULL);
	while ((de = readdir(d)) != NULL) {
		char path[2048], *body = NULL, *reply = NULL;
		size_t len = 0;
		FILE *fp;
		int status;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirpath, de->d_name);
		fp = fopen(path, "r");
		cr_assert_not_null(fp);
		body = malloc(BROKER_MAX_BODY_BYTES + 1);
		len = fread(body, 1, BROKER_MAX_BODY_BYTES, fp);
		fclose(fp);
		status = broker_handle(f.b, f.id, "second", f.auth, body, len, &reply);
		cr_expect(status == want_a || status == want_b, "%s: status %d", de->d_name,
			  status);
		free(reply);
		free(body);
		seen++;
	}
	closedir(d);
	cr_assert_gt(seen, 0);
	teardown_fixture(&f);
}

Test(broker, corpus)
{
	replay_corpus("valid", 200, 204);
	replay_corpus("invalid", 400, 413);
}

static void *hammer(void *arg)
{
	struct broker *b = arg;

	for (int i = 0; i < 200; i++) {
		char id[BROKER_ID_LEN + 1], token[BROKER_TOKEN_LEN + 1], auth[64], *reply = NULL;
		static const char body[] =
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
			"\"params\":{\"name\":\"set_app_metadata\",\"arguments\":"
			"{\"name\":\"Name\",\"description\":\"Desc\"}}}";
		json_t *cap;

		if (broker_open(b, "opencode", NULL, NULL, id, token, NULL) != 0)
			return "open failed";
		snprintf(auth, sizeof(auth), "Bearer %s", token);
		if (broker_handle(b, id, "second", auth, body, strlen(body), &reply) != 200)
			return "handle failed";
		free(reply);
		cap = broker_captured(b, id);
		if (cap == NULL)
			return "nothing captured";
		json_decref(cap);
		broker_close(b, id);
	}
	return NULL;
}

Test(broker, threads)
{
	struct broker *b = broker_new(NULL);
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, hammer, b), 0);
	for (int i = 0; i < 4; i++) {
		void *res = NULL;

		cr_assert_eq(pthread_join(t[i], &res), 0);
		cr_expect_null(res, "%s", (const char *)res);
	}
	broker_free(b);
}
