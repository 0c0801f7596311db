/* The approval hash of agents.json, schema v1 (GOV-11).
 *
 * The canonical text follows JSON.stringify byte for byte: compact, keys sorted by UTF-16
 * code units, strings escaped only where JSON requires it (control characters as lower-case
 * \u00xx, the usual short escapes), numbers in ECMAScript's shortest round-trip form. Numbers
 * are parsed as doubles throughout, as a JavaScript engine would. */
#include <config.h>

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/agents-hash.h"
#include "lib/crypto.h"
#include "lib/jsonx.h"
#include "lib/limits.h"

const char *const agents_approval_fields[AGENTS_APPROVAL_FIELDS] = {
	"agentsJsonApprovalHash",       "agentsJsonApprovedPayload", "agentsJsonApprovedByUserId",
	"agentsJsonApprovedByUserName", "agentsJsonApprovedAt",      "agentsJsonApprovalSource",
};

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			abort();
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Next code point of valid UTF-8 (jansson only holds valid UTF-8); advances *s. */
static uint32_t utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	uint32_t cp;
	int n;
	if (p[0] < 0x80)
		cp = p[0], n = 1;
	else if ((p[0] & 0xe0) == 0xc0)
		cp = p[0] & 0x1f, n = 2;
	else if ((p[0] & 0xf0) == 0xe0)
		cp = p[0] & 0x0f, n = 3;
	else
		cp = p[0] & 0x07, n = 4;
	for (int i = 1; i < n; i++)
		cp = (cp << 6) | (p[i] & 0x3f);
	*s = p + n;
	return cp;
}

/* Orders two keys as JavaScript's default sort does: by UTF-16 code units. */
static int utf16_cmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
	while (*p && *q) {
		uint32_t x = utf8_next(&p), y = utf8_next(&q);
		if (x == y)
			continue;
		/* An astral code point's first unit is a high surrogate (0xd800..0xdbff). */
		uint32_t ux = x >= 0x10000 ? 0xd800 + ((x - 0x10000) >> 10) : x;
		uint32_t uy = y >= 0x10000 ? 0xd800 + ((y - 0x10000) >> 10) : y;
		if (ux != uy)
			return ux < uy ? -1 : 1;
		uint32_t lx = 0xdc00 + ((x - 0x10000) & 0x3ff),
			 ly = 0xdc00 + ((y - 0x10000) & 0x3ff);
		return lx < ly ? -1 : 1;
	}
	return *p ? 1 : *q ? -1 : 0;
}

static int key_cmp(const void *a, const void *b)
{
	return utf16_cmp(*(const char *const *)a, *(const char *const *)b);
}

static void put_string(struct buf *b, const char *s, size_t n)
{
	put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		const char *r = NULL;
		switch (c) {
		case '"':
			r = "\\\"";
			break;
		case '\\':
			r = "\\\\";
			break;
		case '\b':
			r = "\\b";
			break;
		case '\f':
			r = "\\f";
			break;
		case '\n':
			r = "\\n";
			break;
		case '\r':
			r = "\\r";
			break;
		case '\t':
			r = "\\t";
			break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				r = esc;
			}
		}
		if (r)
			puts_(b, r);
		else
			put(b, s + i, 1);
	}
	put(b, "\"", 1);
}

/* ECMAScript Number::toString for a finite double: the shortest digits that read back to the
 * same value, placed as the specification says. NaN and infinities become null. */
static void put_number(struct buf *b, double x)
{
	if (!isfinite(x)) {
		puts_(b, "null");
		return;
	}
	if (x == 0) {
		puts_(b, "0");
		return;
	}
	char tmp[40], digits[24], out[64];
	int prec;
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, x);
		if (strtod(tmp, NULL) == x)
			break;
	}
	/* tmp is [-]d[.ddd]e[+-]xx */
	const char *p = tmp;
	size_t k = 0;
	bool neg = *p == '-';
	if (neg)
		p++;
	for (; *p && *p != 'e'; p++)
		if (isdigit((unsigned char)*p))
			digits[k++] = *p;
	while (k > 1 && digits[k - 1] == '0')
		k--;
	digits[k] = '\0';
	int n = atoi(p + 1) + 1; /* value = 0.digits × 10^n */
	size_t o = 0;
	if (neg)
		out[o++] = '-';
	if ((int)k <= n && n <= 21) {
		memcpy(out + o, digits, k), o += k;
		for (int i = (int)k; i < n; i++)
			out[o++] = '0';
	} else if (0 < n && n <= 21) {
		memcpy(out + o, digits, (size_t)n), o += (size_t)n;
		out[o++] = '.';
		memcpy(out + o, digits + n, k - (size_t)n), o += k - (size_t)n;
	} else if (-6 < n && n <= 0) {
		out[o++] = '0', out[o++] = '.';
		for (int i = 0; i < -n; i++)
			out[o++] = '0';
		memcpy(out + o, digits, k), o += k;
	} else {
		out[o++] = digits[0];
		if (k > 1) {
			out[o++] = '.';
			memcpy(out + o, digits + 1, k - 1), o += k - 1;
		}
		o += (size_t)snprintf(out + o, sizeof(out) - o, "e%c%d", n - 1 < 0 ? '-' : '+',
				      abs(n - 1));
	}
	put(b, out, o);
}

static void put_value(struct buf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys = calloc(n ? n : 1, sizeof(*keys));
		if (!keys)
			abort();
		const char *k;
		json_t *m;
		json_object_foreach ((json_t *)v, k, m)
			keys[i++] = k;
		qsort(keys, n, sizeof(*keys), key_cmp);
		put(b, "{", 1);
		for (i = 0; i < n; i++) {
			if (i)
				put(b, ",", 1);
			put_string(b, keys[i], strlen(keys[i]));
			put(b, ":", 1);
			put_value(b, json_object_get(v, keys[i]));
		}
		put(b, "}", 1);
		free(keys);
		break;
	}
	case JSON_ARRAY:
		put(b, "[", 1);
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				put(b, ",", 1);
			put_value(b, json_array_get(v, i));
		}
		put(b, "]", 1);
		break;
	case JSON_STRING:
		put_string(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		put_number(b, (double)json_integer_value(v));
		break;
	case JSON_REAL:
		put_number(b, json_real_value(v));
		break;
	case JSON_TRUE:
		puts_(b, "true");
		break;
	case JSON_FALSE:
		puts_(b, "false");
		break;
	case JSON_NULL:
		puts_(b, "null");
		break;
	}
}

char *agents_hash_canonical(const json_t *v)
{
	struct buf b = {0};
	put_value(&b, v);
	return b.p;
}

static bool empty_array(const json_t *v)
{
	return json_is_array(v) && json_array_size(v) == 0;
}

static bool nonempty_array(const json_t *v)
{
	return json_is_array(v) && json_array_size(v) > 0;
}

/* v1 normalisation, in place. */
static void normalize_v1(json_t *o)
{
	json_t *agents = json_object_get(o, "agents");
	if (empty_array(agents))
		json_object_del(o, "agents");
	else if (json_is_array(agents)) {
		size_t i;
		json_t *a;
		json_array_foreach (agents, i, a) {
			if (!json_is_object(a))
				continue;
			if (empty_array(json_object_get(a, "tools")))
				json_object_del(a, "tools");
			if (empty_array(json_object_get(a, "dataCollections")))
				json_object_del(a, "dataCollections");
		}
	}
	if (empty_array(json_object_get(o, "appTools")))
		json_object_del(o, "appTools");
}

enum agents_hash_result agents_hash(const char *text, size_t len, char out[AGENTS_HASH_LEN + 1],
				    json_t **payload, struct err *e)
{
	size_t i = 0;
	while (i < len && isspace((unsigned char)text[i]))
		i++;
	if (i == len)
		return AGENTS_HASH_ABSENT;
	if (len > AGENTS_JSON_MAX_BYTES)
		return err_set(e, ERR_TOO_LARGE, "agents.json is too large"), AGENTS_HASH_INVALID;
	json_error_t je;
	json_t *v = json_loadb(text, len, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &je);
	if (!v || jsonx_depth(v, AGENTS_JSON_MAX_DEPTH) > AGENTS_JSON_MAX_DEPTH) {
		json_decref(v);
		return err_set(e, ERR_INVALID, "agents.json is not valid JSON"),
		       AGENTS_HASH_INVALID;
	}
	if (json_is_object(v))
		normalize_v1(v);
	if (!json_is_object(v) || (!nonempty_array(json_object_get(v, "agents")) &&
				   !nonempty_array(json_object_get(v, "appTools")))) {
		json_decref(v);
		err_set(e, ERR_INVALID,
			"agents.json must contain a non-empty agents or appTools array");
		return AGENTS_HASH_INVALID;
	}
	char *canon = agents_hash_canonical(v);
	memcpy(out, "v1:", 3);
	crypto_sha256_hex(canon, strlen(canon), out + 3);
	free(canon);
	if (payload)
		*payload = v;
	else
		json_decref(v);
	return AGENTS_HASH_OK;
}

bool agents_hash_stale(const char *approved_hash, const char *text, size_t len)
{
	if (!approved_hash)
		return false;
	if (!text)
		return true;
	char now[AGENTS_HASH_LEN + 1];
	struct err e = {0};
	if (agents_hash(text, len, now, NULL, &e) != AGENTS_HASH_OK)
		return true;
	/* Every version prefix but v1 is unknown and falls back to v1 (GOV-11). */
	return strcmp(now, approved_hash) != 0;
}
