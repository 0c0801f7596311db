/* Typed configuration: defaults from the key table, then a `key = value` file, then SECOND_*.
 *
 * A struct config holds one slot per row of its key table (same index): the value as text,
 * its parsed integer or boolean, where it came from, and the file line that set it (to report
 * duplicates). Every value, whatever its source, goes through the same check against the
 * key's type, so accessors only ever see valid values. File syntax: one `key = value` per
 * line; blank lines and lines whose first non-blank character is '#' are ignored; after a
 * value, a '#' preceded by a blank starts a comment (a '#' inside a word, as in a password or
 * a URL fragment, does not); a value in double quotes is taken verbatim between them, keeping
 * blanks and " #" (no escapes, so it cannot hold '"'). config_print writes this syntax, with
 * its source as a comment, so its output loads back (masked secrets aside). Values may not hold control characters,
 * so nothing read here can forge a log line later. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/limits.h"

enum config_source {
	SRC_DEFAULT,
	SRC_FILE,
	SRC_ENV,
};

struct config_value {
	char *text;    /* owned, validated */
	long long num; /* CONFIG_INT */
	bool flag;     /* CONFIG_BOOL */
	enum config_source src;
	int line; /* file line that set it, 0 if none */
};

struct config {
	const struct config_key *keys; /* config_keys, or a test's own table */
	size_t nkeys;
	struct config_value v[]; /* one per key, in table order */
};

#define ENV_PREFIX "SECOND_"
#define ENV_NAME_SHOWN 80 /* bytes of a variable name quoted in an error message */
#define WHERE_MAX 96      /* "FILE:LINE" prefix of an error message */

static const char *const source_names[] = {
	[SRC_DEFAULT] = "default",
	[SRC_FILE] = "file",
	[SRC_ENV] = "env",
};

static const char *const bool_true[] = {"true", "yes", "on", "1"};
static const char *const bool_false[] = {"false", "no", "off", "0"};

static char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		abort();
	return p;
}

static ssize_t key_index(const struct config *c, const char *key)
{
	for (size_t i = 0; i < c->nkeys; i++)
		if (strcmp(c->keys[i].key, key) == 0)
			return (ssize_t)i;
	return -1;
}

static const struct config_value *value_of(const struct config *c, const char *key,
					   enum config_type t1, enum config_type t2)
{
	ssize_t i = key_index(c, key);

	/* A key outside the table or read as another type is a bug in the caller, not input. */
	if (i < 0 || (c->keys[i].type != t1 && c->keys[i].type != t2)) {
		fprintf(stderr, "config: no key '%s' of the requested type\n", key);
		abort();
	}
	return &c->v[i];
}

static bool enum_has(const char *choices, const char *s)
{
	size_t n = strlen(s);
	const char *p = choices;

	while (n > 0) {
		if (strncmp(p, s, n) == 0 && (p[n] == '|' || p[n] == '\0'))
			return true;
		p = strchr(p, '|');
		if (p == NULL)
			break;
		p++;
	}
	return false;
}

static int parse_bool(const char *s, bool *out)
{
	for (size_t i = 0; i < sizeof(bool_true) / sizeof(bool_true[0]); i++) {
		if (strcasecmp(s, bool_true[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, bool_false[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int parse_int(const char *s, long long *out)
{
	char *end = NULL;
	long long v;

	/* strtoll would skip leading blanks and accept an empty string as 0. */
	if (!((s[0] >= '0' && s[0] <= '9') || s[0] == '-' || s[0] == '+'))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static bool has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

/* Checks `text` against key k and stores it in slot v. `where` prefixes error messages
 * ("FILE:LINE" or the variable name); the value is echoed only for non-secret keys. */
static int set_value(struct config_value *v, const struct config_key *k, const char *text,
		     const char *where, struct err *e)
{
	const char *shown = k->secret ? "(secret)" : text;
	long long num = 0;
	bool flag = false;

	if (strlen(text) > CONFIG_VALUE_MAX)
		return err_set(e, ERR_TOO_LARGE, "%s: value of '%s' longer than %d bytes", where,
			       k->key, CONFIG_VALUE_MAX);
	if (has_control(text))
		return err_set(e, ERR_INVALID, "%s: value of '%s' holds a control character", where,
			       k->key);
	switch (k->type) {
	case CONFIG_STRING:
		break;
	case CONFIG_INT:
		if (parse_int(text, &num) < 0)
			return err_set(e, ERR_INVALID, "%s: '%s' must be an integer, not '%.64s'",
				       where, k->key, shown);
		if (num < k->min || num > k->max)
			return err_set(e, ERR_INVALID, "%s: '%s' must be between %lld and %lld",
				       where, k->key, k->min, k->max);
		break;
	case CONFIG_BOOL:
		if (parse_bool(text, &flag) < 0)
			return err_set(e, ERR_INVALID,
				       "%s: '%s' must be true or false, not '%.64s'", where, k->key,
				       shown);
		break;
	case CONFIG_ENUM:
		if (!enum_has(k->choices, text))
			return err_set(e, ERR_INVALID, "%s: '%s' must be one of %s, not '%.64s'",
				       where, k->key, k->choices, shown);
		break;
	}
	free(v->text);
	v->text = xstrndup(text, strlen(text));
	v->num = num;
	v->flag = flag;
	return 0;
}

static int load_defaults(struct config *c, struct err *e)
{
	for (size_t i = 0; i < c->nkeys; i++) {
		struct err sub;

		if (set_value(&c->v[i], &c->keys[i], c->keys[i].def, "default", &sub) < 0)
			return err_set(e, ERR_INTERNAL, "bad key table: %s", sub.msg);
		c->v[i].src = SRC_DEFAULT;
	}
	return 0;
}

/* Reads the whole file into a NUL-terminated malloc'd buffer, refusing one over the limit. */
static int read_file(const char *path, char **out, size_t *outlen, struct err *e)
{
	char *buf = NULL;
	size_t len = 0;
	int fd = -1, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_set(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, "cannot open %s: %s", path,
			strerror(errno));
		goto out;
	}
	buf = malloc(CONFIG_FILE_MAX_BYTES + 2);
	if (buf == NULL)
		abort();
	for (;;) {
		ssize_t n = read(fd, buf + len, CONFIG_FILE_MAX_BYTES + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(e, ERR_IO, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_FILE_MAX_BYTES) {
			err_set(e, ERR_TOO_LARGE, "%s: larger than %d bytes", path,
				CONFIG_FILE_MAX_BYTES);
			goto out;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

static char *trim(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

static bool key_chars_ok(const char *k)
{
	if (*k == '\0')
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '.' ||
		      *k == '_'))
			return false;
	return true;
}

/* Turns the raw text after '=' (trimmed) into the value, in place: a quoted value is what
 * lies between the quotes, anything else ends before a '#' that follows a blank. After the
 * closing quote only blanks and a comment may follow. */
static int unquote(char **val)
{
	char *v = *val, *p;

	if (*v != '"') {
		for (p = v; *p; p++)
			if (*p == '#' && (p == v || p[-1] == ' ' || p[-1] == '\t'))
				break;
		*val = trim(v, p);
		return 0;
	}
	p = strchr(v + 1, '"');
	if (p == NULL)
		return -1;
	*p = '\0';
	*val = v + 1;
	for (p++; *p == ' ' || *p == '\t'; p++)
		;
	return *p == '\0' || *p == '#' ? 0 : -1;
}

/* Parses one line (already cut at its newline, NUL-terminated in place). */
static int parse_line(struct config *c, char *line, const char *path, int lineno, struct err *e)
{
	char where[WHERE_MAX];
	char *eq, *key, *val;
	ssize_t i;

	snprintf(where, sizeof(where), "%.80s:%d", path, lineno);
	key = trim(line, line + strlen(line));
	if (*key == '\0' || *key == '#')
		return 0;
	eq = strchr(key, '=');
	if (eq == NULL)
		return err_set(e, ERR_INVALID, "%s: expected 'key = value'", where);
	val = trim(eq + 1, eq + 1 + strlen(eq + 1));
	key = trim(key, eq);
	if (!key_chars_ok(key))
		return err_set(e, ERR_INVALID, "%s: malformed key", where);
	i = key_index(c, key);
	if (i < 0)
		return err_set(e, ERR_INVALID, "%s: unknown key '%s'", where, key);
	if (c->v[i].src == SRC_FILE)
		return err_set(e, ERR_INVALID, "%s: duplicate key '%s' (first set on line %d)",
			       where, key, c->v[i].line);
	if (unquote(&val) < 0)
		return err_set(e, ERR_INVALID, "%s: bad quoting in value of '%s'", where, key);
	if (set_value(&c->v[i], &c->keys[i], val, where, e) < 0)
		return -1;
	c->v[i].src = SRC_FILE;
	c->v[i].line = lineno;
	return 0;
}

static int load_file(struct config *c, const char *path, struct err *e)
{
	char *buf = NULL, *p, *nl;
	size_t len = 0;
	int lineno = 0, rc = -1;

	if (read_file(path, &buf, &len, e) < 0)
		goto out;
	if (memchr(buf, '\0', len) != NULL) {
		err_set(e, ERR_INVALID, "%s: holds a NUL byte", path);
		goto out;
	}
	for (p = buf; p < buf + len; p = nl + 1) {
		lineno++;
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = buf + len;
		if ((size_t)(nl - p) > CONFIG_LINE_MAX) {
			err_set(e, ERR_TOO_LARGE, "%.80s:%d: line longer than %d bytes", path,
				lineno, CONFIG_LINE_MAX);
			goto out;
		}
		*nl = '\0';
		if (parse_line(c, p, path, lineno, e) < 0)
			goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

static bool env_allowed(const char *name, size_t n)
{
	static const char test_prefix[] = ENV_PREFIX "TEST_";
	static const char config_var[] = ENV_PREFIX "CONFIG";

	if (n == sizeof(config_var) - 1 && memcmp(name, config_var, n) == 0)
		return true;
	return n >= sizeof(test_prefix) - 1 &&
	       memcmp(name, test_prefix, sizeof(test_prefix) - 1) == 0;
}

/* Finds the key whose variable is name[0..n), or -1. */
static ssize_t env_key_index(const struct config *c, const char *name, size_t n)
{
	char buf[ENV_NAME_SHOWN + 1];

	for (size_t i = 0; i < c->nkeys; i++) {
		config_env_name(c->keys[i].key, buf, sizeof(buf));
		if (strlen(buf) == n && memcmp(buf, name, n) == 0)
			return (ssize_t)i;
	}
	return -1;
}

static int load_env(struct config *c, char *const *envp, struct err *e)
{
	for (size_t j = 0; envp != NULL && envp[j] != NULL; j++) {
		const char *var = envp[j], *eq = strchr(var, '=');
		char where[ENV_NAME_SHOWN + 1];
		size_t n;
		ssize_t i;

		/* An entry without '=' is no variable: getenv() cannot see it either. */
		if (eq == NULL || strncmp(var, ENV_PREFIX, sizeof(ENV_PREFIX) - 1) != 0)
			continue;
		n = (size_t)(eq - var);
		if (env_allowed(var, n))
			continue;
		snprintf(where, sizeof(where), "%.*s",
			 (int)(n < ENV_NAME_SHOWN ? n : ENV_NAME_SHOWN), var);
		i = env_key_index(c, var, n);
		if (i < 0)
			return err_set(e, ERR_INVALID, "unknown environment variable %s", where);
		/* Like getenv(), the first of repeated entries wins. */
		if (c->v[i].src == SRC_ENV)
			continue;
		if (set_value(&c->v[i], &c->keys[i], eq + 1, where, e) < 0)
			return -1;
		c->v[i].src = SRC_ENV;
	}
	return 0;
}

static const char *env_lookup(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (size_t j = 0; envp != NULL && envp[j] != NULL; j++)
		if (strncmp(envp[j], name, n) == 0 && envp[j][n] == '=')
			return envp[j] + n + 1;
	return NULL;
}

/* config_load over any key table, so tests can exercise types the real table lacks. */
static int load_table(const struct config_key *keys, size_t nkeys, const char *file,
		      char *const *envp, struct config **out, struct err *e)
{
	struct config *c = NULL;
	int rc = -1;

	*out = NULL;
	c = calloc(1, sizeof(*c) + nkeys * sizeof(c->v[0]));
	if (c == NULL)
		abort();
	c->keys = keys;
	c->nkeys = nkeys;
	if (load_defaults(c, e) < 0)
		goto out;
	if (file == NULL)
		file = env_lookup(envp, ENV_PREFIX "CONFIG");
	if (file != NULL && *file != '\0' && load_file(c, file, e) < 0)
		goto out;
	if (load_env(c, envp, e) < 0)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	config_free(c);
	return rc;
}

int config_load(const char *file, char *const *envp, struct config **out, struct err *e)
{
	return load_table(config_keys, config_nkeys, file, envp, out, e);
}

void config_free(struct config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nkeys; i++)
		free(c->v[i].text);
	free(c);
}

const char *config_str(const struct config *c, const char *key)
{
	return value_of(c, key, CONFIG_STRING, CONFIG_ENUM)->text;
}

long long config_int(const struct config *c, const char *key)
{
	return value_of(c, key, CONFIG_INT, CONFIG_INT)->num;
}

bool config_bool(const struct config *c, const char *key)
{
	return value_of(c, key, CONFIG_BOOL, CONFIG_BOOL)->flag;
}

void config_env_name(const char *key, char *buf, size_t bufsz)
{
	size_t o = 0;

	if (bufsz == 0)
		return;
	for (const char *p = ENV_PREFIX; *p && o + 1 < bufsz; p++)
		buf[o++] = *p;
	for (const char *p = key; *p && o + 1 < bufsz; p++)
		buf[o++] = (*p == '.' || *p == '-') ? '_'
						    : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	buf[o] = '\0';
}

/* Copies `in` to `out`, replacing a password in URL userinfo ("://user:PASS@") by "***".
 * The userinfo ends at the last '@', so a password holding an unencoded '/' or '?' is still
 * masked; the cost is masking too much in a URL with '@' in its query, never too little. */
static void mask_url_password(const char *in, char *out, size_t outsz)
{
	const char *auth = strstr(in, "://"), *at = NULL, *colon = NULL;

	if (auth != NULL) {
		auth += 3;
		at = strrchr(auth, '@');
	}
	if (at != NULL)
		colon = memchr(auth, ':', (size_t)(at - auth));
	if (colon == NULL) {
		snprintf(out, outsz, "%s", in);
		return;
	}
	snprintf(out, outsz, "%.*s***%s", (int)(colon + 1 - in), in, at);
}

/* Quoted when the file syntax would otherwise lose or misread it, so output loads back. */
static bool needs_quotes(const char *s)
{
	size_t n = strlen(s);

	/* Values hold no tabs (control characters are refused), so spaces are the only blanks. */
	return n == 0 || s[0] == ' ' || s[0] == '"' || s[0] == '#' || s[n - 1] == ' ' ||
	       strstr(s, " #") != NULL;
}

void config_print(const struct config *c, FILE *out)
{
	char shown[CONFIG_VALUE_MAX + 1];

	for (size_t i = 0; i < c->nkeys; i++) {
		const struct config_key *k = &c->keys[i];
		const struct config_value *v = &c->v[i];
		const char *q = "", *lead = "";

		/* A secret is shown as a comment, so printed output loads back without inventing
		 * a value for it. */
		if (k->secret) {
			snprintf(shown, sizeof(shown), "%s", v->text[0] ? "(set)" : "(unset)");
			lead = "# ";
		} else {
			mask_url_password(v->text, shown, sizeof(shown));
			q = needs_quotes(shown) ? "\"" : "";
		}
		fprintf(out, "%s%s = %s%s%s  # %s\n", lead, k->key, q, shown, q,
			source_names[v->src]);
	}
}

/* Writes s as a table cell: '|' would end the cell early. */
static void md_cell(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
}

static void md_type(FILE *out, const struct config_key *k)
{
	switch (k->type) {
	case CONFIG_STRING:
		fputs("string", out);
		break;
	case CONFIG_INT:
		fprintf(out, "integer, %lld to %lld", k->min, k->max);
		break;
	case CONFIG_BOOL:
		fputs("boolean", out);
		break;
	case CONFIG_ENUM:
		fputs("one of `", out);
		for (const char *p = k->choices; *p; p++) {
			if (*p == '|')
				fputs("`, `", out);
			else
				fputc(*p, out);
		}
		fputc('`', out);
		break;
	}
}

static void print_markdown_table(const struct config_key *keys, size_t nkeys, FILE *out)
{
	char env[ENV_NAME_SHOWN + 1];

	fputs("| Key | Environment | Type | Default | Description |\n", out);
	fputs("|-----|-------------|------|---------|-------------|\n", out);
	for (size_t i = 0; i < nkeys; i++) {
		const struct config_key *k = &keys[i];

		config_env_name(k->key, env, sizeof(env));
		fprintf(out, "| `%s` | `%s` | ", k->key, env);
		md_type(out, k);
		fputs(" | ", out);
		if (k->def[0] == '\0') {
			fputs("(empty)", out);
		} else {
			fputc('`', out);
			md_cell(out, k->def);
			fputc('`', out);
		}
		fputs(" | ", out);
		md_cell(out, k->help);
		fputs(" |\n", out);
	}
}

void config_print_markdown(FILE *out)
{
	print_markdown_table(config_keys, config_nkeys, out);
}
