/* The codex-cli adapter arrives in its own change; until then a turn asking for it fails
 * with a clear message instead of running anything. */
#include <config.h>

#include "workerd/runtimes/runtime.h"

static int normalize(char **model, json_t *params, struct err *e)
{
	(void)model, (void)params;
	return err_set(e, ERR_UNSUPPORTED, "codex-cli is not available in this build yet");
}

static int run(struct turn *t, struct err *e)
{
	(void)t;
	return err_set(e, ERR_UNSUPPORTED, "codex-cli is not available in this build yet");
}

const struct runtime runtime_codex = {
	.id = "codex-cli",
	.binary = "codex",
	.normalize = normalize,
	.run = run,
};
