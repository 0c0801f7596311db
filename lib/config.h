/* Typed configuration: one key table, defaults, a `key = value` file, SECOND_* overrides.
 *
 * Precedence, lowest first: the table's default, the file (path given to config_load, else
 * $SECOND_CONFIG, else none), then the environment: key "store.uri" is read from
 * SECOND_STORE_URI. Unknown keys in the file, and unknown SECOND_* variables (other than
 * SECOND_CONFIG and the SECOND_TEST_* family used by the test suite), are errors, as are values
 * that do not parse as the key's type. */
#ifndef SECOND_CONFIG_H
#define SECOND_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/err.h"

enum config_type {
	CONFIG_STRING,
	CONFIG_INT,
	CONFIG_BOOL, /* true|false|yes|no|on|off|1|0 */
	CONFIG_ENUM, /* one of `choices`, "a|b|c" */
};

struct config_key {
	const char *key;
	enum config_type type;
	const char *def; /* default, as text */
	const char *help;
	long long min, max;  /* CONFIG_INT bounds, inclusive */
	const char *choices; /* CONFIG_ENUM */
	bool secret;         /* never printed, logged or echoed in errors */
};

/* The project's one key table, in lib/config-keys.c. */
extern const struct config_key config_keys[];
extern const size_t config_nkeys;

struct config;

/* *out is a new config; `file` may be NULL. `envp` is the environment to read (environ). */
int config_load(const char *file, char *const *envp, struct config **out, struct err *e)
	__attribute__((warn_unused_result));
void config_free(struct config *c); /* accepts NULL */

/* Accessors abort on a key missing from the table or of another type: a programming error. */
const char *config_str(const struct config *c, const char *key);
long long config_int(const struct config *c, const char *key);
bool config_bool(const struct config *c, const char *key);

/* Prints every key as `key = value  # source`, secrets as "(set)" or "(unset)". */
void config_print(const struct config *c, FILE *out);
/* Prints the key table as a Markdown table (README's configuration section). */
void config_print_markdown(FILE *out);

/* The environment variable for a key: "store.uri" -> "SECOND_STORE_URI". */
void config_env_name(const char *key, char *buf, size_t bufsz);

#endif
