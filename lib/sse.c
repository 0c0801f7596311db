/* Server-sent events reader and writer (see sse.h). */
#include <config.h>

#include "lib/sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/limits.h"

void sse_reader_init(struct sse_reader *r, sse_event_fn fn, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->fn = fn;
	r->arg = arg;
}

void sse_reader_free(struct sse_reader *r)
{
	free(r->line);
	free(r->data);
	r->line = r->data = NULL;
}

static void grow(char **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 256;
	while (c < need)
		c *= 2;
	*p = realloc(*p, c);
	if (!*p)
		abort();
	*cap = c;
}

/* One complete line: returns 1 when the callback stopped, -1 over a limit. */
static int line_done(struct sse_reader *r, struct err *e)
{
	grow(&r->line, &r->line_cap, r->line_len + 1);
	r->line[r->line_len] = '\0';
	const char *l = r->line;
	size_t n = r->line_len;
	r->line_len = 0;
	if (n == 0) {
		if (!r->has_data)
			return 0;
		grow(&r->data, &r->data_cap, r->data_len + 1);
		r->data[r->data_len] = '\0';
		int stop = r->fn(r->arg, r->data, r->data_len, r->id);
		r->data_len = 0;
		r->has_data = false;
		return stop ? 1 : 0;
	}
	if (l[0] == ':')
		return 0;
	const char *colon = memchr(l, ':', n);
	size_t flen = colon ? (size_t)(colon - l) : n;
	const char *val = colon ? colon + 1 : l + n;
	if (*val == ' ')
		val++;
	size_t vlen = (size_t)(l + n - val);
	if (flen == 4 && memcmp(l, "data", 4) == 0) {
		if (r->data_len + vlen + 1 > SSE_MAX_EVENT_BYTES)
			return err_set(e, ERR_TOO_LARGE, "event over %d bytes",
				       SSE_MAX_EVENT_BYTES);
		grow(&r->data, &r->data_cap, r->data_len + vlen + 2);
		if (r->has_data)
			r->data[r->data_len++] = '\n';
		memcpy(r->data + r->data_len, val, vlen);
		r->data_len += vlen;
		r->has_data = true;
	} else if (flen == 2 && memcmp(l, "id", 2) == 0 && vlen < sizeof(r->id) &&
		   !memchr(val, '\0', vlen)) {
		memcpy(r->id, val, vlen);
		r->id[vlen] = '\0';
	}
	return 0;
}

int sse_feed(struct sse_reader *r, const char *buf, size_t len, struct err *e)
{
	if (r->failed)
		return err_set(e, ERR_INVALID, "the reader already failed");
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (c == '\n' && r->last_cr) {
			r->last_cr = false;
			continue;
		}
		r->last_cr = c == '\r';
		if (c == '\n' || c == '\r') {
			int rc = line_done(r, e);
			if (rc < 0)
				r->failed = true;
			if (rc != 0)
				return rc;
			continue;
		}
		if (r->line_len + 2 > SSE_MAX_EVENT_BYTES) {
			r->failed = true;
			return err_set(e, ERR_TOO_LARGE, "line over %d bytes", SSE_MAX_EVENT_BYTES);
		}
		grow(&r->line, &r->line_cap, r->line_len + 2);
		r->line[r->line_len++] = c;
	}
	return 0;
}

char *sse_frame(const char *payload, size_t plen, const char *id, size_t *len)
{
	size_t lines = 1;
	for (size_t i = 0; i < plen; i++)
		lines += payload[i] == '\n';
	size_t cap = plen + lines * 7 + (id ? strlen(id) + 5 : 0) + 2;
	char *out = malloc(cap), *p = out;
	if (!out)
		abort();
	if (id)
		p += sprintf(p, "id: %s\n", id);
	memcpy(p, "data: ", 6);
	p += 6;
	for (size_t i = 0; i < plen; i++) {
		if (payload[i] == '\r')
			continue;
		*p++ = payload[i];
		if (payload[i] == '\n') {
			memcpy(p, "data: ", 6);
			p += 6;
		}
	}
	*p++ = '\n';
	*p++ = '\n';
	*p = '\0';
	*len = (size_t)(p - out);
	return out;
}
