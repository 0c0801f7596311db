/* Fuzz target: bytes -> bounded JSON parse -> store filter parser, for a schema with an array
 * path. Any input must end in a parsed filter or a clean error, never a crash or a leak. */
#include <config.h>

#include <stddef.h>
#include <stdint.h>

#include "lib/jsonx.h"
#include "lib/store-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read by the corpus replayer: whether the last input was accepted. */
int fuzz_accepted;

static const char *const fuzz_arrays[] = {"tags", "a.list", NULL};
static const struct store_collection fuzz_coll = {.name = "fuzz", .array_paths = fuzz_arrays};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = {0};
	struct filter_node *f = NULL;
	json_t *v = jsonx_loadb((const char *)data, size, JSON_MAX_BYTES, JSON_MAX_DEPTH, &e);

	fuzz_accepted = 0;
	if (v == NULL)
		return 0;
	if (filter_parse(&fuzz_coll, v, &f, &e) == 0) {
		fuzz_accepted = 1;
		filter_free(f);
	}
	json_decref(v);
	return 0;
}
