/* Fuzz target: the event-stream reader (lib/sse), fed the input in uneven pieces. An input is
 * accepted when it holds at least one complete event and stays within the limits. */
#include <config.h>

#include <stddef.h>
#include <stdint.h>

#include "lib/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read by the corpus replayer: whether the last input was accepted. */
int fuzz_accepted;

static int count(void *arg, const char *d, size_t len, const char *id)
{
	(void)d, (void)len, (void)id;
	(*(int *)arg)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sse_reader r;
	struct err e = {0};
	int events = 0, rc = 0;
	size_t off = 0, step = 1;

	sse_reader_init(&r, count, &events);
	/* Pieces of 1, 2, 3... bytes: every boundary between CR and LF gets exercised. */
	while (off < size && rc == 0) {
		size_t n = size - off < step ? size - off : step;
		rc = sse_feed(&r, (const char *)data + off, n, &e);
		off += n;
		step = step % 7 + 1;
	}
	sse_reader_free(&r);
	fuzz_accepted = rc == 0 && events > 0;
	return 0;
}
