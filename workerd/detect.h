/* W-16: which runtime CLIs this workerd can run, with their versions. Only booleans and
 * versions leave this module, never a secret or a path a client should not see. */
#ifndef SECOND_WORKERD_DETECT_H
#define SECOND_WORKERD_DETECT_H

#include <jansson.h>

struct workerd;

/* The detect-provider reply. New ref. */
json_t *detect_providers(const struct workerd *w);
/* Runs `argv` (absolute argv[0]) with the runtime environment, collecting up to bufsz-1 bytes
 * of stdout and stderr; gives up after timeout_ms. Returns the exit status (as waitpid), or -1
 * when it could not run or timed out. */
int detect_run(const struct workerd *w, const char *const *argv, int timeout_ms, char *buf,
	       size_t bufsz);

#endif
