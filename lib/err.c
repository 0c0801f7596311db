/* The error struct's helpers: bounded formatting and stable code names. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>

#include "lib/err.h"

int err_set(struct err *e, enum err_code code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = code;
	va_start(ap, fmt);
	/* Truncation is the documented behaviour of a bounded message. */
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void err_clear(struct err *e)
{
	if (e == NULL)
		return;
	e->code = ERR_OK;
	e->msg[0] = '\0';
}

const char *err_code_name(enum err_code code)
{
	static const char *const names[] = {
		[ERR_OK] = "ok",
		[ERR_INVALID] = "invalid",
		[ERR_NOT_FOUND] = "not_found",
		[ERR_DUPLICATE] = "duplicate",
		[ERR_TOO_LARGE] = "too_large",
		[ERR_TOO_DEEP] = "too_deep",
		[ERR_UNSUPPORTED] = "unsupported",
		[ERR_CONFLICT] = "conflict",
		[ERR_UNAVAILABLE] = "unavailable",
		[ERR_TIMEOUT] = "timeout",
		[ERR_IO] = "io",
		[ERR_CRYPTO] = "crypto",
		[ERR_INTERNAL] = "internal",
	};

	if ((unsigned)code >= sizeof(names) / sizeof(names[0]) || names[code] == NULL)
		return "internal";
	return names[code];
}
