/* Fuzz target: the bounded JSON loader and the helpers that walk what it returns. */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read by the corpus replayer: whether the last input was accepted. */
int fuzz_accepted;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = {0};
	json_t *v = jsonx_loadb((const char *)data, size, JSON_MAX_BYTES, JSON_MAX_DEPTH, &e);
	char *a, *b;

	fuzz_accepted = 0;
	if (v == NULL)
		return 0;
	a = jsonx_dumps_compact(v, NULL);
	b = jsonx_dumps_stable(v);
	(void)jsonx_path_get(v, "a.b.c");
	fuzz_accepted = 1;
	free(a);
	free(b);
	json_decref(v);
	return 0;
}
