/* The one error type: a code from a small enum and a bounded message, owned by the caller.
 *
 * Functions that can fail return 0 or -1 and fill a caller-provided `struct err` (which may be
 * NULL when the caller does not care). The message never holds secrets or request bodies. */
#ifndef SECOND_ERR_H
#define SECOND_ERR_H

#include "lib/limits.h"

enum err_code {
	ERR_OK = 0,
	ERR_INVALID, /* malformed input: bad filter, bad value, bad config */
	ERR_NOT_FOUND,
	ERR_DUPLICATE,   /* a unique index refused the write */
	ERR_TOO_LARGE,   /* over a named limit in lib/limits.h */
	ERR_TOO_DEEP,    /* nesting over a named limit */
	ERR_UNSUPPORTED, /* well-formed but outside what we implement */
	ERR_CONFLICT,    /* a compare-and-set guard did not match */
	ERR_UNAVAILABLE, /* a backend or server could not be reached */
	ERR_TIMEOUT,
	ERR_IO,     /* a backend failed mid-operation */
	ERR_CRYPTO, /* authentication tag mismatch, bad key */
	ERR_INTERNAL,
};

struct err {
	enum err_code code;
	char msg[ERR_MSG_MAX];
};

/* Sets code and a printf-style message (truncated to ERR_MSG_MAX). Accepts e == NULL.
 * Always returns -1 so callers can `return err_set(e, ...)`. */
int err_set(struct err *e, enum err_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void err_clear(struct err *e);
/* Stable snake_case name of a code, e.g. "duplicate", for logs and JSON errors. */
const char *err_code_name(enum err_code code);

#endif
