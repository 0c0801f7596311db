/* The audit API (API-92..95, AUD-9..AUD-13) and api_audit(), the handlers' way to record.
 *
 * Reads are owner/admin only (PERM_AUDIT_READ, else 403 audit_logs_forbidden) and always
 * filtered by the path's workspace. Stored events (lib/audit.h) are never sent as they are:
 * each becomes an AuditEventListItem {id, occurredAt, eventName, category, outcome, severity,
 * actor{kind,name,email,role,team}, source{kind,trust,app,appId,runId,requestId},
 * target{type,id,name}, summary, metadata[{label,value}], changedFields?, related[]}.
 * The list pages on (occurredAt, _id) descending: `nextBefore` is an opaque cursor naming the
 * last item (base64url of ["occurredAt","_id"]), and `before` takes it back, or an ISO date as
 * in the reference. Every filter but `q` is a store filter; `q` is a substring match done here
 * (the store has no regex), over at most AUDIT_LIST_SCAN_MAX events per request, so a rare
 * `q` can return fewer than `limit` items with a non-null nextBefore: the client continues. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/api/api.h"
#include "lib/audit-http.h"
#include "lib/codec.h"
#include "lib/jsonx.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#define AUDIT_COLL "audit_events"
#define CURSOR_JSON_MAX (TIME_ISO_LEN + STORE_MAX_ID_BYTES + 16)

static void must(int rc)
{
	/* jansson fails these only on allocation failure, and out of memory aborts (STYLE 5). */
	if (rc != 0)
		abort();
}

static json_t *must_json(json_t *v)
{
	if (v == NULL)
		abort();
	return v;
}

void api_audit_in(struct http_req *req, const char *workspace_id, const char *role,
		  const char *event_name, const char *category, const char *severity,
		  const char *target_type, const char *target_id, const char *target_name,
		  const char *summary, json_t *metadata_stolen)
{
	audit_http(api_of(req)->store, api_redis, req, api_ctx(req), workspace_id, role, event_name,
		   category, severity, target_type, target_id, target_name, summary,
		   metadata_stolen);
}

/* The guard's on_denied hook (AUD-7 access.denied): the permission, the route pattern and
 * the status, on the security retention policy. */
void api_audit_denied(struct http_req *req, const struct guard_ctx *ctx,
		      const struct http_route *route)
{
	json_t *meta = json_pack("{s:s, s:s, s:i}", "permission", guard_perm_name(route->perm),
				 "route", route->pattern, "httpStatus", 403);

	if (meta == NULL)
		abort();
	audit_http(api_of(req)->store, api_redis, req, ctx, ctx->workspace_id,
		   guard_role_name(ctx->role), "access.denied", "access", "warning", "workspace",
		   ctx->workspace_id, NULL, "Access denied: missing permission", meta);
}

void api_audit(struct http_req *req, const char *event_name, const char *category,
	       const char *severity, const char *target_type, const char *target_id,
	       const char *target_name, const char *summary, json_t *metadata_stolen)
{
	struct guard_ctx *ctx = api_ctx(req);

	api_audit_in(req, ctx ? ctx->workspace_id : NULL,
		     ctx && ctx->role != ROLE_NONE ? guard_role_name(ctx->role) : NULL, event_name,
		     category, severity, target_type, target_id, target_name, summary,
		     metadata_stolen);
}

/* List items (AUD-10) */

/* "messageCount" -> "Message count", "app_data_document" -> "App data document". malloc'd. */
static char *humanise(const char *key)
{
	size_t len = strlen(key), n = 0;
	char *out = malloc(2 * len + 1), c;

	if (out == NULL)
		abort();
	for (size_t i = 0; i < len; i++) {
		c = key[i];
		if (c == '_' || c == '-' || c == '.' || c == ' ') {
			if (n > 0 && out[n - 1] != ' ')
				out[n++] = ' ';
			continue;
		}
		if (c >= 'A' && c <= 'Z') {
			if (n > 0 && out[n - 1] != ' ' && !(key[i - 1] >= 'A' && key[i - 1] <= 'Z'))
				out[n++] = ' ';
			c = (char)(c + 32);
		}
		out[n++] = c;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	if (out[0] >= 'a' && out[0] <= 'z')
		out[0] = (char)(out[0] - 32);
	return out;
}

static bool is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

/* A metadata value as display text: strings as they are, arrays of scalars joined with ", ",
 * anything else as compact JSON. malloc'd. */
static char *value_text(const json_t *v)
{
	size_t i, len = 0;
	json_t *item;
	char *s, *out;
	bool flat = json_is_array(v);

	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_null(v))
		return strdup("");
	json_array_foreach (v, i, item)
		flat = flat && is_scalar(item);
	if (!flat)
		return jsonx_dumps_compact(v, NULL);
	out = calloc(1, 1);
	json_array_foreach (v, i, item) {
		s = value_text(item);
		out = realloc(out, len + strlen(s) + 3);
		if (out == NULL)
			abort();
		len += (size_t)sprintf(out + len, "%s%s", i ? ", " : "", s);
		free(s);
	}
	return out;
}

static json_t *metadata_rows(const json_t *metadata)
{
	json_t *rows = must_json(json_array()), *v;
	const char *key;
	char *label, *text;

	json_object_foreach ((json_t *)metadata, key, v) {
		if (json_array_size(rows) == AUDIT_METADATA_ITEMS_MAX)
			break;
		label = humanise(key);
		text = value_text(v);
		if (text == NULL)
			abort();
		must(json_array_append_new(
			rows, must_json(json_pack("{s:s,s:s}", "label", label, "value", text))));
		free(label);
		free(text);
	}
	return rows;
}

static json_t *str_or_null(const json_t *obj, const char *key)
{
	const char *s = jsonx_str(obj, key);

	return s ? json_string(s) : json_null();
}

static const char *first_str(const json_t *obj, const char *const *keys, const char *fallback)
{
	for (; *keys != NULL; keys++) {
		const char *s = jsonx_str(obj, *keys);

		if (s != NULL && s[0] != '\0')
			return s;
	}
	return fallback;
}

static json_t *actor_item(const json_t *a)
{
	static const char *const name_keys[] = {"displayName", "agentName", "appName", "email",
						"userId",      "agentId",   NULL};
	static const char *const role_keys[] = {"role", "kind", NULL};
	size_t teams = json_array_size(json_object_get(a, "teamIds"));
	char team[48];

	if (teams > 0)
		snprintf(team, sizeof(team), "%zu %s", teams, teams == 1 ? "team" : "teams");
	else
		snprintf(team, sizeof(team), "Workspace");
	return must_json(json_pack("{s:o,s:s,s:o,s:s?,s:s}", "kind", str_or_null(a, "kind"), "name",
				   first_str(a, name_keys, "System"), "email",
				   str_or_null(a, "email"), "role", first_str(a, role_keys, NULL),
				   "team", team));
}

static json_t *source_item(const json_t *s, const json_t *related)
{
	json_t *run = json_object_get(s, "runId");

	if (!json_is_string(run))
		run = json_object_get(related, "runId");
	return must_json(json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "kind", str_or_null(s, "kind"),
				   "trust", str_or_null(s, "trust"), "app",
				   str_or_null(s, "appName"), "appId", str_or_null(s, "appId"),
				   "runId", json_is_string(run) ? json_copy(run) : json_null(),
				   "requestId", str_or_null(s, "requestId")));
}

static json_t *target_item(const json_t *t)
{
	static const char *const name_keys[] = {"name", "id", NULL};
	const char *type = jsonx_str(t, "type"), *name = first_str(t, name_keys, NULL);
	char *human = humanise(type ? type : "");
	json_t *out;

	out = must_json(json_pack("{s:o,s:s,s:s}", "type", str_or_null(t, "type"), "id",
				  jsonx_str(t, "id") ? jsonx_str(t, "id") : "", "name",
				  name ? name : human));
	free(human);
	return out;
}

static json_t *related_item(const json_t *related)
{
	static const char *const keys[] = {"runId", "reviewRequestId", "integrationId",
					   "agentRunId", "appDataDocumentId"};
	json_t *out = must_json(json_array());

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (jsonx_str(related, keys[i]) != NULL)
			must(json_array_append_new(out, str_or_null(related, keys[i])));
	return out;
}

/* AuditEventListItem of a stored event: a new object. */
static json_t *list_item(const json_t *ev)
{
	const json_t *related = json_object_get(ev, "relatedIds");
	const json_t *changed = json_object_get(json_object_get(ev, "changes"), "changedFields");
	json_t *item = must_json(json_pack(
		"{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", str_or_null(ev, "_id"),
		"occurredAt", str_or_null(ev, "occurredAt"), "eventName",
		str_or_null(ev, "eventName"), "category", str_or_null(ev, "category"), "outcome",
		str_or_null(ev, "outcome"), "severity", str_or_null(ev, "severity"), "actor",
		actor_item(json_object_get(ev, "actor")), "source",
		source_item(json_object_get(ev, "source"), related), "target",
		target_item(json_object_get(ev, "target")), "summary", str_or_null(ev, "summary"),
		"metadata", metadata_rows(json_object_get(ev, "metadata")), "related",
		related_item(related)));

	if (json_array_size(changed) > 0)
		must(json_object_set(item, "changedFields", (json_t *)changed));
	return item;
}

/* List query */

/* The cursor after `doc`: base64url of ["occurredAt","_id"]. malloc'd. */
static char *cursor_encode(const json_t *doc)
{
	json_t *v = must_json(json_pack("[O,O]", json_object_get(doc, "occurredAt"),
					json_object_get(doc, "_id")));
	size_t len;
	char *text = jsonx_dumps_compact(v, &len), *out = malloc(codec_b64url_len(len) + 1);

	if (out == NULL)
		abort();
	codec_b64url_encode(text, len, out);
	free(text);
	json_decref(v);
	return out;
}

/* The keyset term "comes after the cursor" in (occurredAt desc, _id desc); NULL when the text
 * is not a cursor of ours. */
static json_t *cursor_term(const char *cursor)
{
	uint8_t buf[CURSOR_JSON_MAX];
	size_t n = 0, len = strnlen(cursor, STORE_MAX_CURSOR_BYTES + 1);
	json_t *v, *term = NULL;
	const char *at, *id;
	int64_t ms;

	if (len > STORE_MAX_CURSOR_BYTES ||
	    codec_b64url_decode(cursor, len, buf, sizeof(buf), &n) != 0)
		return NULL;
	v = jsonx_loadb((const char *)buf, n, sizeof(buf), 2, NULL);
	at = json_string_value(json_array_get(v, 0));
	id = json_string_value(json_array_get(v, 1));
	if (json_array_size(v) == 2 && at && id && id[0] && strlen(id) <= STORE_MAX_ID_BYTES &&
	    time_parse_iso8601(at, &ms) == 0)
		term = must_json(json_pack("[{s:{s:s}},{s:s,s:{s:s}}]", "occurredAt", "$lt", at,
					   "occurredAt", at, "_id", "$lt", id));
	json_decref(v);
	return term;
}

/* An ISO-8601 date or a bare YYYY-MM-DD, re-printed at the stored width; -1 otherwise. */
static int parse_date(const char *s, char out[TIME_ISO_LEN + 1])
{
	char full[32];
	int64_t ms;

	if (s == NULL)
		return -1;
	if (strlen(s) == 10) {
		snprintf(full, sizeof(full), "%sT00:00:00Z", s);
		s = full;
	}
	if (time_parse_iso8601(s, &ms) != 0)
		return -1;
	time_iso8601(ms, out);
	return 0;
}

static size_t parse_limit(const char *s)
{
	char *end;
	long long v;

	if (s == NULL || s[0] == '\0')
		return AUDIT_LIST_DEFAULT;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return AUDIT_LIST_DEFAULT;
	return v < 1 ? 1 : v > AUDIT_LIST_MAX ? AUDIT_LIST_MAX : (size_t)v;
}

/* The route's allow-lists (AUD-10): category omits source_control, targetType omits
 * source_control_connection, oauth_provider_config and connected_account. */
static const char *const list_categories[] = {
	"auth",  "access",   "members",   "teams", "apps",    "reviews", "integrations", "agents",
	"tools", "app_data", "app_event", "audit", "library", "system",  NULL,
};
static const char *const list_outcomes[] = {"success", "failure",   "denied",
					    "started", "completed", NULL};
static const char *const list_target_types[] = {
	"workspace",   "member",       "team", "invitation",      "app",  "review",
	"integration", "agent",        "run",  "source_snapshot", "tool", "app_data_document",
	"app_event",   "audit_export", NULL,
};

/* Equality filters: a value outside an allow-list is ignored, as the reference does. */
static const struct eq_param {
	const char *param;
	const char *path;
	const char *const *allowed; /* NULL: any text up to AUDIT_TEXT_MAX bytes */
} eq_params[] = {
	{"category", "category", list_categories},
	{"outcome", "outcome", list_outcomes},
	{"targetType", "target.type", list_target_types},
	{"targetId", "target.id", NULL},
	{"actorUserId", "actor.userId", NULL},
	{"appId", "source.appId", NULL},
	{"eventName", "eventName", NULL},
};

static bool allowed(const char *v, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(v, *list) == 0)
			return true;
	return false;
}

/* The store filter of a list request; NULL after a 400 reply for a bad `before`. */
static json_t *list_filter(struct http_req *req)
{
	json_t *f = must_json(json_pack("{s:s}", "workspaceId", api_ctx(req)->workspace_id));
	json_t *when = must_json(json_object()), *term;
	const char *v, *before = http_query(req, "before");
	char iso[TIME_ISO_LEN + 1];

	for (size_t i = 0; i < sizeof(eq_params) / sizeof(eq_params[0]); i++) {
		v = http_query(req, eq_params[i].param);
		if (v == NULL || v[0] == '\0' || strlen(v) > AUDIT_TEXT_MAX ||
		    (eq_params[i].allowed && !allowed(v, eq_params[i].allowed)))
			continue;
		/* json_string refuses text that is not UTF-8: such a value matches nothing
		 * stored, and is ignored like any other unusable filter. */
		if ((term = json_string(v)) != NULL)
			must(json_object_set_new(f, eq_params[i].path, term));
	}
	if (parse_date(http_query(req, "since"), iso) == 0)
		must(json_object_set_new(when, "$gte", json_string(iso)));
	if (parse_date(http_query(req, "until"), iso) == 0)
		must(json_object_set_new(when, "$lte", json_string(iso)));
	if (before != NULL && before[0] != '\0') {
		if (parse_date(before, iso) == 0) {
			must(json_object_set_new(when, "$lt", json_string(iso)));
		} else if ((term = cursor_term(before)) != NULL) {
			must(json_object_set_new(f, "$or", term));
		} else {
			json_decref(f);
			json_decref(when);
			http_reply_error(req, 400, "invalid_before",
					 "before must be a nextBefore value or an ISO date");
			return NULL;
		}
	}
	if (json_object_size(when) > 0)
		must(json_object_set_new(f, "occurredAt", when));
	else
		json_decref(when);
	return f;
}

/* `q` trimmed and cut to AUDIT_QUERY_MAX characters (no "..."); "" when absent. */
static void list_q(struct http_req *req, char out[AUDIT_QUERY_MAX * 4 + 1])
{
	char *clean = audit_clean_text(http_query(req, "q"), HTTP_MAX_QUERY_BYTES);
	size_t i = 0, chars = 0;

	while (clean[i] != '\0' && chars < AUDIT_QUERY_MAX) {
		i++;
		while ((clean[i] & 0xc0) == 0x80)
			i++;
		chars++;
	}
	memcpy(out, clean, i);
	out[i] = '\0';
	free(clean);
}

static bool q_matches(const json_t *ev, const char *q)
{
	static const char *const paths[] = {
		"eventName",      "summary",
		"action",         "actor.displayName",
		"actor.email",    "actor.agentName",
		"source.appName", "target.name",
		"target.id",      NULL,
	};
	const char *s;

	/* ASCII case folding only: strcasestr knows no Unicode case. */
	for (const char *const *p = paths; *p != NULL; p++)
		if ((s = json_string_value(jsonx_path_get(ev, *p))) != NULL && strcasestr(s, q))
			return true;
	return false;
}

struct scan {
	json_t *items; /* list items so far */
	json_t *last;  /* the last event looked at (new reference), or NULL */
	bool more;     /* events may follow `last` */
	size_t scanned;
};

/* Consumes one store page into sc; returns false once the list is complete. */
static bool scan_page(struct scan *sc, const json_t *docs, const char *q, size_t limit)
{
	size_t i;
	json_t *doc;

	json_array_foreach (docs, i, doc) {
		if (json_array_size(sc->items) == limit) {
			sc->more = true; /* this event is past the page */
			return false;
		}
		sc->scanned++;
		json_decref(sc->last);
		sc->last = json_incref(doc);
		if (q[0] == '\0' || q_matches(doc, q))
			must(json_array_append_new(sc->items, list_item(doc)));
	}
	return true;
}

/* Without q, one store page of limit + 1 (the extra one tells whether more follow). With q,
 * pages of AUDIT_LIST_SCAN_PAGE through the store's own cursor until the list is full, the
 * events run out, or AUDIT_LIST_SCAN_MAX were examined. */
static int list_scan(struct store *s, const json_t *filter, const char *q, size_t limit,
		     struct scan *sc, struct err *e)
{
	static const struct store_sort order[] = {{"occurredAt", -1}, {"_id", -1}};
	struct store_find_opts opts = {.sort = order, .nsort = 2};
	char *cursor = NULL, *next = NULL;
	json_t *docs = NULL;
	bool go_on;
	int rc = -1;

	do {
		opts.limit = q[0] ? AUDIT_LIST_SCAN_PAGE : limit + 1;
		opts.cursor = cursor;
		if (store_find(s, AUDIT_COLL, filter, &opts, &docs, &next, e) != 0)
			goto out;
		go_on = scan_page(sc, docs, q, limit);
		json_decref(docs);
		free(cursor);
		cursor = next;
		next = NULL;
		/* A full list, or the scan cap, with events left: the client goes on from here. */
		if (go_on && cursor != NULL &&
		    (json_array_size(sc->items) == limit || sc->scanned >= AUDIT_LIST_SCAN_MAX)) {
			sc->more = true;
			go_on = false;
		}
	} while (go_on && cursor != NULL);
	rc = 0;
out:
	free(cursor);
	return rc;
}

/* API-92 */
static int list_events(struct http_req *req)
{
	struct scan sc = {.items = must_json(json_array())};
	size_t limit = parse_limit(http_query(req, "limit"));
	char q[AUDIT_QUERY_MAX * 4 + 1], *next;
	json_t *filter = list_filter(req), *body;
	struct err e = {0};
	int rc;

	if (filter == NULL) {
		json_decref(sc.items);
		return 0;
	}
	list_q(req, q);
	if (list_scan(api_of(req)->store, filter, q, limit, &sc, &e) != 0) {
		log_warning("audit list: %s", e.msg);
		rc = http_reply_err(req, &e);
		json_decref(sc.items);
		goto out;
	}
	next = sc.more && sc.last ? cursor_encode(sc.last) : NULL;
	body = must_json(json_pack("{s:o,s:s?}", "items", sc.items, "nextBefore", next));
	free(next);
	rc = http_reply_json(req, 200, body);
out:
	json_decref(sc.last);
	json_decref(filter);
	return rc;
}

/* API-93 */
static int get_event(struct http_req *req)
{
	const char *id = http_param(req, "eventId");
	json_t *filter = NULL, *doc = NULL;
	struct err e = {0};
	int rc;

	if (id != NULL && strlen(id) <= STORE_MAX_ID_BYTES)
		filter = json_pack("{s:s,s:s}", "_id", id, "workspaceId",
				   api_ctx(req)->workspace_id);
	if (filter == NULL)
		return http_reply_error(req, 404, "not_found", "audit event not found");
	if (store_find_one(api_of(req)->store, AUDIT_COLL, filter, NULL, 0, &doc, &e) != 0) {
		log_warning("audit event: %s", e.msg);
		rc = http_reply_err(req, &e);
	} else if (doc == NULL) {
		rc = http_reply_error(req, 404, "not_found", "audit event not found");
	} else {
		rc = http_reply_json(req, 200,
				     must_json(json_pack("{s:o}", "event", list_item(doc))));
	}
	json_decref(doc);
	json_decref(filter);
	return rc;
}

/* One count of the summary: the window's filter plus key = value (value stolen; key NULL
 * counts the whole window). */
static int window_count(struct store *s, const json_t *window, const char *key, json_t *value,
			json_int_t *n, struct err *e)
{
	json_t *f = must_json(json_deep_copy(window));
	size_t count = 0;
	int rc;

	if (key != NULL)
		must(json_object_set_new(f, key, value));
	rc = store_count(s, AUDIT_COLL, f, &count, e);
	*n = (json_int_t)count;
	json_decref(f);
	return rc;
}

/* byCategory or byOutcome: the non-zero counts, like the reference's $group. */
static int window_counts(struct store *s, const json_t *window, const char *key,
			 const char *const *values, json_t *out, struct err *e)
{
	json_int_t n;

	for (; *values != NULL; values++) {
		if (window_count(s, window, key, json_string(*values), &n, e) != 0)
			return -1;
		if (n > 0)
			must(json_object_set_new(out, *values, json_integer(n)));
	}
	return 0;
}

/* API-94, AUD-12: the store has no aggregation, so each figure is an indexed count over the
 * last 24 hours (23 counts, all bounded by the workspace's events in the window). */
static int summary(struct http_req *req)
{
	static const char *const categories[] = {
		"auth",         "access",         "members", "teams", "apps",     "reviews",
		"integrations", "source_control", "agents",  "tools", "app_data", "app_event",
		"audit",        "library",        "system",  NULL,
	};
	struct store *s = api_of(req)->store;
	char since[TIME_ISO_LEN + 1];
	json_t *window, *by_cat = must_json(json_object()), *by_out = must_json(json_object());
	json_int_t total, trusted, denied;
	struct err e = {0};

	time_iso8601(time_now_ms() - 24LL * 3600 * 1000, since);
	window = must_json(json_pack("{s:s,s:{s:s}}", "workspaceId", api_ctx(req)->workspace_id,
				     "occurredAt", "$gte", since));
	if (window_count(s, window, NULL, NULL, &total, &e) != 0 ||
	    window_count(s, window, "source.trust", json_pack("{s:s}", "$ne", "client_untrusted"),
			 &trusted, &e) != 0 ||
	    window_count(s, window, "outcome", json_pack("{s:[s,s]}", "$in", "denied", "failure"),
			 &denied, &e) != 0 ||
	    window_counts(s, window, "category", categories, by_cat, &e) != 0 ||
	    window_counts(s, window, "outcome", list_outcomes, by_out, &e) != 0) {
		log_warning("audit summary: %s", e.msg);
		json_decref(window);
		json_decref(by_cat);
		json_decref(by_out);
		return http_reply_err(req, &e);
	}
	json_decref(window);
	return http_reply_json(
		req, 200,
		must_json(json_pack("{s:s,s:I,s:I,s:I,s:o,s:o}", "window", "24h", "total", total,
				    "trusted", trusted, "denied", denied, "byCategory", by_cat,
				    "byOutcome", by_out)));
}

/* API-95, AUD-13: one audit.viewed per (workspace, user) per window, across every replica:
 * the window is a Redis key set with NX and an expiry, not an in-process map. Without Redis
 * nothing is recorded, which keeps the "at most once" promise. */
static int viewed(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	char key[RDS_MAX_KEY_BYTES];
	struct err e = {0};
	struct rds *r = api_redis(&e);
	bool first = false;
	int n = snprintf(key, sizeof(key), "audit:viewed:%s:%s", ctx->workspace_id,
			 ctx->user_id ? ctx->user_id : "");

	if (r == NULL || n < 0 || (size_t)n >= sizeof(key) ||
	    rds_lock_acquire(r, key, "1", AUDIT_VIEWED_WINDOW_S * 1000LL, &first, &e) != 0)
		log_warning("audit.viewed not rate-limited, so not recorded: %s",
			    e.msg[0] ? e.msg : "key too long");
	else if (first)
		api_audit(req, "audit.viewed", "audit", "info", "workspace", ctx->workspace_id,
			  NULL, "Viewed the audit log",
			  must_json(json_pack("{s:s,s:i}", "route", "audit-events",
					      "rateLimitedWindowSeconds", AUDIT_VIEWED_WINDOW_S)));
	return http_reply_json(req, 200, must_json(json_pack("{s:b}", "ok", 1)));
}

/* "summary" and "viewed" come before ":eventId" so the literal rows match first. */
const struct http_route api_routes_audit[] = {
	{"GET", "/api/workspaces/:ws/audit-events", list_events, ACCESS_WORKSPACE, PERM_AUDIT_READ,
	 "audit_logs_forbidden", 0},
	{"GET", "/api/workspaces/:ws/audit-events/summary", summary, ACCESS_WORKSPACE,
	 PERM_AUDIT_READ, "audit_logs_forbidden", 0},
	{"POST", "/api/workspaces/:ws/audit-events/viewed", viewed, ACCESS_WORKSPACE,
	 PERM_AUDIT_READ, "audit_logs_forbidden", 0},
	{"GET", "/api/workspaces/:ws/audit-events/:eventId", get_event, ACCESS_WORKSPACE,
	 PERM_AUDIT_READ, "audit_logs_forbidden", 0},
	{NULL, NULL, NULL, 0, 0, NULL, 0},
};
