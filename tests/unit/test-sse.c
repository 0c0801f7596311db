/* Unit tests of the SSE reader and writer: events split across any chunk boundary, line
 * endings, multi-line data, comments, ids, limits, and a frame read back. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/limits.h"
#include "lib/sse.h"

struct got {
	char data[8][256];
	char id[8][64];
	int n;
	int stop_after;
};

static int on_event(void *arg, const char *data, size_t len, const char *id)
{
	struct got *g = arg;
	cr_assert_lt(g->n, 8);
	cr_assert_lt(len, 256);
	memcpy(g->data[g->n], data, len + 1);
	strcpy(g->id[g->n], id);
	g->n++;
	return g->stop_after && g->n >= g->stop_after;
}

static const char stream[] = ": keep-alive\n\n"
			     "data: {\"a\":1}\n\n"
			     "id: 17-0\r\ndata: one\r\ndata: two\r\n\r\n"
			     "event: x\rdata:no-space\r\r"
			     "data: [DONE]\n\n";

Test(sse, every_chunking_gives_the_same_events)
{
	size_t len = strlen(stream);
	for (size_t step = 1; step <= len; step++) {
		struct sse_reader r;
		struct got g = {0};
		struct err e = {0};
		sse_reader_init(&r, on_event, &g);
		for (size_t off = 0; off < len; off += step)
			cr_assert_eq(
				sse_feed(&r, stream + off, off + step > len ? len - off : step, &e),
				0, "%s", e.msg);
		sse_reader_free(&r);
		cr_assert_eq(g.n, 4, "step %zu: %d events", step, g.n);
		cr_expect_str_eq(g.data[0], "{\"a\":1}");
		cr_expect_str_eq(g.id[0], "");
		cr_expect_str_eq(g.data[1], "one\ntwo");
		cr_expect_str_eq(g.id[1], "17-0");
		cr_expect_str_eq(g.data[2], "no-space");
		cr_expect_str_eq(g.data[3], "[DONE]");
	}
}

Test(sse, the_callback_can_stop)
{
	struct sse_reader r;
	struct got g = {.stop_after = 1};
	struct err e = {0};
	sse_reader_init(&r, on_event, &g);
	cr_expect_eq(sse_feed(&r, stream, strlen(stream), &e), 1);
	cr_expect_eq(g.n, 1);
	sse_reader_free(&r);
}

Test(sse, an_endless_line_is_refused)
{
	struct sse_reader r;
	struct got g = {0};
	struct err e = {0};
	char *big = malloc(SSE_MAX_EVENT_BYTES + 16);
	cr_assert_not_null(big);
	memcpy(big, "data: ", 6);
	memset(big + 6, 'x', SSE_MAX_EVENT_BYTES + 9);
	sse_reader_init(&r, on_event, &g);
	cr_expect_eq(sse_feed(&r, big, SSE_MAX_EVENT_BYTES + 15, &e), -1);
	cr_expect_eq(e.code, ERR_TOO_LARGE);
	cr_expect_eq(sse_feed(&r, "\n\n", 2, &e), -1, "a failed reader stays failed");
	sse_reader_free(&r);
	free(big);
}

Test(sse, a_frame_reads_back)
{
	size_t len = 0;
	char *f = sse_frame("line1\nline2", 11, "5-1", &len);
	cr_expect_str_eq(f, "id: 5-1\ndata: line1\ndata: line2\n\n");
	cr_expect_eq(len, strlen(f));
	struct sse_reader r;
	struct got g = {0};
	struct err e = {0};
	sse_reader_init(&r, on_event, &g);
	cr_assert_eq(sse_feed(&r, f, len, &e), 0);
	cr_expect_eq(g.n, 1);
	cr_expect_str_eq(g.data[0], "line1\nline2");
	cr_expect_str_eq(g.id[0], "5-1");
	sse_reader_free(&r);
	free(f);
	f = sse_frame("{}", 2, NULL, &len);
	cr_expect_str_eq(f, "data: {}\n\n");
	free(f);
}
