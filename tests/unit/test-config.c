/* Unit tests of lib/config.c and the key table in lib/config-keys.c.
 *
 * The test includes config.c itself (as lighttpd's tests do) to reach its static helpers and
 * to load a private key table with the types and secrets the real table does not have yet.
 * Files are written to one temp file per test, removed by the suite's fini; environments are
 * literal arrays, never the process's own. Error cases are tables of {input, code, message
 * fragment}, so a new rule is one row. */
#include <config.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/config.c"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static char tmp_path[512];

static void remove_tmp(void)
{
	if (tmp_path[0] != '\0')
		unlink(tmp_path);
	tmp_path[0] = '\0';
}

TestSuite(config, .fini = remove_tmp);

/* Writes len bytes to this test's temp file and returns its path. */
static const char *write_file(const void *data, size_t len)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	remove_tmp();
	snprintf(tmp_path, sizeof(tmp_path), "%s/second-test-config-XXXXXX",
		 dir && *dir ? dir : "/tmp");
	fd = mkstemp(tmp_path);
	cr_assert_geq(fd, 0, "mkstemp %s", tmp_path);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return tmp_path;
}

static const char *write_text(const char *text)
{
	return write_file(text, strlen(text));
}

static char *const no_env[] = {NULL};

/* A private table: one key of each type, and secrets. */
static const struct config_key test_keys[] = {
	{.key = "t.str", .type = CONFIG_STRING, .def = "plain", .help = "A string."},
	{.key = "t.url",
	 .type = CONFIG_STRING,
	 .def = "redis://:hunter2@db.example:6379/0",
	 .help = "A URL."},
	{.key = "t.flag", .type = CONFIG_BOOL, .def = "off", .help = "A flag."},
	{.key = "t.num", .type = CONFIG_INT, .def = "5", .min = 1, .max = 10, .help = "A number."},
	{.key = "t.pin",
	 .type = CONFIG_INT,
	 .def = "1234",
	 .min = 0,
	 .max = 9999,
	 .secret = true,
	 .help = "A secret number."},
	{.key = "t.token", .type = CONFIG_STRING, .def = "", .secret = true, .help = "A secret."},
	{.key = "t.mode", .type = CONFIG_ENUM, .def = "a", .choices = "a|bb|c", .help = "A mode."},
};

static struct config *load_test_table(const char *text, char *const *envp, struct err *e)
{
	struct config *c = NULL;

	if (load_table(test_keys, ARRAY_LEN(test_keys), text ? write_text(text) : NULL, envp, &c,
		       e) < 0)
		return NULL;
	return c;
}

static struct config *load_real(const char *text, char *const *envp, struct err *e)
{
	struct config *c = NULL;

	if (config_load(text ? write_text(text) : NULL, envp, &c, e) < 0)
		return NULL;
	return c;
}

static char *print_to_string(const struct config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	config_print(c, f);
	fclose(f);
	return buf;
}

static enum config_source source_of(const struct config *c, const char *key)
{
	ssize_t i = key_index(c, key);

	cr_assert_geq(i, 0, "no key %s", key);
	return c->v[i].src;
}

Test(config, defaults_match_the_table)
{
	struct err e = {0};
	struct config *c = load_real(NULL, no_env, &e);

	cr_assert_not_null(c, "%s", e.msg);
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];

		if (k->type == CONFIG_INT)
			cr_expect_eq(config_int(c, k->key), strtoll(k->def, NULL, 10), "%s",
				     k->key);
		else if (k->type == CONFIG_BOOL)
			cr_expect_eq(config_bool(c, k->key), k->def[0] == 't', "%s", k->key);
		else
			cr_expect_str_eq(config_str(c, k->key), k->def, "%s", k->key);
		cr_expect_eq(source_of(c, k->key), SRC_DEFAULT, "%s", k->key);
	}
	config_free(c);
}

Test(config, documented_defaults)
{
	struct err e = {0};
	struct config *c = load_real(NULL, no_env, &e);

	cr_assert_not_null(c, "%s", e.msg);
	cr_expect_str_eq(config_str(c, "store.uri"), "sqlite:/var/lib/second/second.db");
	cr_expect_eq(config_int(c, "store.sqlite.busy_timeout_ms"), 5000);
	cr_expect_str_eq(config_str(c, "store.sqlite.synchronous"), "full");
	cr_expect_eq(config_int(c, "store.sqlite.pool_size"), 8);
	cr_expect_eq(config_int(c, "store.mongodb.pool_max"), 32);
	cr_expect_str_eq(config_str(c, "redis.url"), "redis://127.0.0.1:6379");
	cr_expect_eq(config_int(c, "redis.connect_timeout_ms"), 2000);
	cr_expect_eq(config_int(c, "redis.command_timeout_ms"), 5000);
	cr_expect_str_eq(config_str(c, "log.level"), "info");
	cr_expect_str_eq(config_str(c, "log.target"), "auto");
	config_free(c);
}

Test(config, key_table_is_well_formed)
{
	char a[128], b[128];

	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		size_t hl = strlen(k->help);

		cr_expect(key_chars_ok(k->key), "key %s", k->key);
		cr_expect(hl > 0 && k->help[hl - 1] == '.', "help of %s is one sentence", k->key);
		cr_expect(k->type != CONFIG_INT || k->min <= k->max, "bounds of %s", k->key);
		cr_expect(k->type != CONFIG_ENUM || k->choices != NULL, "choices of %s", k->key);
		config_env_name(k->key, a, sizeof(a));
		for (size_t j = i + 1; j < config_nkeys; j++) {
			config_env_name(config_keys[j].key, b, sizeof(b));
			cr_expect_str_neq(k->key, config_keys[j].key);
			cr_expect_str_neq(a, b, "keys %s and %s share a variable", k->key,
					  config_keys[j].key);
		}
	}
}

Test(config, file_syntax)
{
	static const char text[] = "# a comment\n"
				   "   # an indented comment\n"
				   "\n"
				   "   \t \n"
				   "store.uri = sqlite:/tmp/x.db\n"
				   "  store.sqlite.pool_size\t=\t 12  \n"
				   "redis.url = \"redis://h:1/2 # not a comment\"   # a comment\n"
				   "log.level=debug\r\n"
				   "store.sqlite.synchronous = \"normal\"\n"
				   "log.target = stderr   # trailing comment\n"
				   "store.mongodb.pool_max = 7";
	struct err e = {0};
	struct config *c = load_real(text, no_env, &e);

	cr_assert_not_null(c, "%s", e.msg);
	cr_expect_str_eq(config_str(c, "store.uri"), "sqlite:/tmp/x.db");
	cr_expect_eq(config_int(c, "store.sqlite.pool_size"), 12);
	cr_expect_str_eq(config_str(c, "redis.url"), "redis://h:1/2 # not a comment");
	cr_expect_str_eq(config_str(c, "log.level"), "debug");
	cr_expect_str_eq(config_str(c, "store.sqlite.synchronous"), "normal");
	cr_expect_str_eq(config_str(c, "log.target"), "stderr");
	cr_expect_eq(config_int(c, "store.mongodb.pool_max"), 7);
	cr_expect_eq(source_of(c, "store.uri"), SRC_FILE);
	cr_expect_eq(source_of(c, "redis.command_timeout_ms"), SRC_DEFAULT);
	config_free(c);
}

Test(config, value_edge_cases)
{
	static const struct {
		const char *line, *want;
	} cases[] = {
		{"t.str = \"  spaced  \"", "  spaced  "},
		{"t.str = \"\"", ""},
		{"t.str =", ""},
		{"t.str = # only a comment", ""},
		{"t.str = pa#ss", "pa#ss"},
		{"t.str = a=b=c", "a=b=c"},
		{"t.str = two words", "two words"},
		{"t.str = \"#hash\"", "#hash"},
		{"t.str = caf\xc3\xa9", "caf\xc3\xa9"},
		{"t.str = a\\nb", "a\\nb"},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct err e = {0};
		struct config *c = load_test_table(cases[i].line, no_env, &e);

		cr_assert_not_null(c, "%s: %s", cases[i].line, e.msg);
		cr_expect_str_eq(config_str(c, "t.str"), cases[i].want, "%s", cases[i].line);
		config_free(c);
	}
}

/* Each row is a whole file for the real table; `line` is where the error must point. */
static const struct {
	const char *text;
	enum err_code code;
	int line;
	const char *fragment;
} file_errors[] = {
	{"nope = 1\n", ERR_INVALID, 1, "unknown key 'nope'"},
	{"# c\n\nstore.nope = 1\n", ERR_INVALID, 3, "unknown key 'store.nope'"},
	{"log.level = info\nlog.level = debug\n", ERR_INVALID, 2,
	 "duplicate key 'log.level' (first set on line 1)"},
	{"log.level info\n", ERR_INVALID, 1, "expected 'key = value'"},
	{"= info\n", ERR_INVALID, 1, "malformed key"},
	{"Log.Level = info\n", ERR_INVALID, 1, "malformed key"},
	{"log level = info\n", ERR_INVALID, 1, "malformed key"},
	{"store.sqlite.pool_size = abc\n", ERR_INVALID, 1,
	 "'store.sqlite.pool_size' must be an integer, not 'abc'"},
	{"store.sqlite.pool_size = 12x\n", ERR_INVALID, 1, "must be an integer"},
	{"store.sqlite.pool_size = 1.5\n", ERR_INVALID, 1, "must be an integer"},
	{"store.sqlite.pool_size = 0x10\n", ERR_INVALID, 1, "must be an integer"},
	{"store.sqlite.pool_size =\n", ERR_INVALID, 1, "must be an integer"},
	{"store.sqlite.pool_size = 99999999999999999999\n", ERR_INVALID, 1, "must be an integer"},
	{"store.sqlite.pool_size = -99999999999999999999\n", ERR_INVALID, 1, "must be an integer"},
	{"store.sqlite.pool_size = 0\n", ERR_INVALID, 1, "must be between 1 and 64"},
	{"store.sqlite.pool_size = 65\n", ERR_INVALID, 1, "must be between 1 and 64"},
	{"store.sqlite.pool_size = -1\n", ERR_INVALID, 1, "must be between 1 and 64"},
	{"log.level = verbose\n", ERR_INVALID, 1,
	 "'log.level' must be one of debug|info|notice|warning|error, not 'verbose'"},
	{"log.level = INFO\n", ERR_INVALID, 1, "must be one of"},
	{"log.level = inf\n", ERR_INVALID, 1, "must be one of"},
	{"log.level = \"info\"\"\n", ERR_INVALID, 1, "bad quoting"},
	{"store.sqlite.synchronous = \"full\n", ERR_INVALID, 1, "bad quoting in value of"},
	{"store.sqlite.synchronous = \"full\" extra\n", ERR_INVALID, 1, "bad quoting"},
	{"store.uri = a\x01"
	 "b\n",
	 ERR_INVALID, 1, "control character"},
	{"store.uri = a\x7f\n", ERR_INVALID, 1, "control character"},
};

Test(config, file_errors)
{
	for (size_t i = 0; i < ARRAY_LEN(file_errors); i++) {
		struct err e = {0};
		struct config *c = load_real(file_errors[i].text, no_env, &e);
		char where[600];

		snprintf(where, sizeof(where), "%s:%d: ", tmp_path, file_errors[i].line);
		cr_expect_null(c, "row %zu accepted", i);
		config_free(c);
		cr_expect_eq(e.code, file_errors[i].code, "row %zu: code %d", i, e.code);
		cr_expect(strncmp(e.msg, where, strlen(where)) == 0, "row %zu: '%s' lacks '%s'", i,
			  e.msg, where);
		cr_expect(strstr(e.msg, file_errors[i].fragment) != NULL,
			  "row %zu: '%s' lacks '%s'", i, e.msg, file_errors[i].fragment);
	}
}

Test(config, int_accepts_signs_and_zeros)
{
	static const struct {
		const char *line;
		long long want;
	} cases[] = {
		{"t.num = 1", 1},
		{"t.num = 10", 10},
		{"t.num = +7", 7},
		{"t.num = 007", 7},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct err e = {0};
		struct config *c = load_test_table(cases[i].line, no_env, &e);

		cr_assert_not_null(c, "%s: %s", cases[i].line, e.msg);
		cr_expect_eq(config_int(c, "t.num"), cases[i].want, "%s", cases[i].line);
		config_free(c);
	}
}

Test(config, bool_values)
{
	static const struct config_key k = {
		.key = "x.flag", .type = CONFIG_BOOL, .def = "false", .help = "h."};
	static const struct {
		const char *text;
		int want; /* 1 true, 0 false, -1 refused */
	} cases[] = {
		{"true", 1},  {"TRUE", 1}, {"yes", 1},   {"on", 1},      {"1", 1},
		{"false", 0}, {"No", 0},   {"off", 0},   {"0", 0},       {"", -1},
		{"2", -1},    {"tru", -1}, {"yes ", -1}, {"enable", -1}, {"-1", -1},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct config_value v = {0};
		struct err e = {0};
		int rc = set_value(&v, &k, cases[i].text, "test", &e);

		if (cases[i].want < 0) {
			cr_expect_eq(rc, -1, "'%s' accepted", cases[i].text);
			cr_expect(strstr(e.msg, "'x.flag' must be true or false") != NULL, "%s",
				  e.msg);
		} else {
			cr_expect_eq(rc, 0, "'%s': %s", cases[i].text, e.msg);
			cr_expect_eq(v.flag, cases[i].want == 1, "'%s'", cases[i].text);
		}
		free(v.text);
	}
}

Test(config, bad_bool_in_file_names_key_and_line)
{
	struct err e = {0};
	struct config *c = load_test_table("t.str = x\nt.flag = maybe\n", no_env, &e);

	cr_assert_null(c);
	cr_expect_eq(e.code, ERR_INVALID);
	cr_expect(strstr(e.msg, ":2: 't.flag' must be true or false, not 'maybe'") != NULL, "%s",
		  e.msg);
}

Test(config, bool_accessor)
{
	char *env[] = {"SECOND_T_FLAG=yes", NULL};
	struct err e = {0};
	struct config *c = load_test_table(NULL, env, &e);

	cr_assert_not_null(c, "%s", e.msg);
	cr_expect(config_bool(c, "t.flag"));
	config_free(c);
}

Test(config, secret_values_never_echoed)
{
	static const char *const lines[] = {"t.pin = 12ab", "t.pin = 99999", "t.pin = -1"};

	for (size_t i = 0; i < ARRAY_LEN(lines); i++) {
		struct err e = {0};
		struct config *c = load_test_table(lines[i], no_env, &e);

		cr_assert_null(c, "%s accepted", lines[i]);
		cr_expect(strstr(e.msg, "'t.pin'") != NULL, "%s", e.msg);
		cr_expect(strstr(e.msg, lines[i] + strlen("t.pin = ")) == NULL, "echoed: %s",
			  e.msg);
	}
	{
		char *env[] = {"SECOND_T_PIN=sekrit", NULL};
		struct err e = {0};

		cr_assert_null(load_test_table(NULL, env, &e));
		cr_expect(strstr(e.msg, "SECOND_T_PIN") != NULL, "%s", e.msg);
		cr_expect(strstr(e.msg, "sekrit") == NULL, "echoed: %s", e.msg);
	}
}

Test(config, overlong_line)
{
	const char *prefix = "store.uri = ";
	char text[CONFIG_LINE_MAX + 8];
	struct err e = {0};
	struct config *c = NULL;

	/* Exactly at the limit loads. */
	memset(text, 'a', sizeof(text));
	memcpy(text, prefix, strlen(prefix));
	text[CONFIG_LINE_MAX] = '\n';
	cr_assert_eq(config_load(write_file(text, CONFIG_LINE_MAX + 1), no_env, &c, &e), 0, "%s",
		     e.msg);
	cr_expect_eq(strlen(config_str(c, "store.uri")), CONFIG_LINE_MAX - strlen(prefix));
	config_free(c);
	/* One byte over does not. */
	text[CONFIG_LINE_MAX] = 'a';
	text[CONFIG_LINE_MAX + 1] = '\n';
	cr_assert_eq(config_load(write_file(text, CONFIG_LINE_MAX + 2), no_env, &c, &e), -1);
	cr_expect_null(c);
	cr_expect_eq(e.code, ERR_TOO_LARGE);
	cr_expect(strstr(e.msg, ":1: line longer than") != NULL, "%s", e.msg);
}

Test(config, oversized_file)
{
	char *text = malloc(CONFIG_FILE_MAX_BYTES + 1);
	struct config *c = NULL;
	struct err e = {0};

	cr_assert_not_null(text);
	/* Comment lines of 64 bytes fill the file exactly to the limit. */
	for (size_t i = 0; i < CONFIG_FILE_MAX_BYTES; i++)
		text[i] = i % 64 == 63 ? '\n' : '#';
	cr_assert_eq(config_load(write_file(text, CONFIG_FILE_MAX_BYTES), no_env, &c, &e), 0, "%s",
		     e.msg);
	config_free(c);
	text[CONFIG_FILE_MAX_BYTES] = '\n';
	cr_assert_eq(config_load(write_file(text, CONFIG_FILE_MAX_BYTES + 1), no_env, &c, &e), -1);
	cr_expect_null(c);
	cr_expect_eq(e.code, ERR_TOO_LARGE);
	cr_expect(strstr(e.msg, "larger than") != NULL, "%s", e.msg);
	free(text);
}

Test(config, nul_byte_in_file)
{
	static const char text[] = "store.uri = a\0b\n";
	struct config *c = NULL;
	struct err e = {0};

	cr_assert_eq(config_load(write_file(text, sizeof(text) - 1), no_env, &c, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
	cr_expect(strstr(e.msg, "NUL") != NULL, "%s", e.msg);
}

Test(config, missing_file)
{
	struct config *c = NULL;
	struct err e = {0};

	cr_assert_eq(config_load("/nonexistent/second.conf", no_env, &c, &e), -1);
	cr_expect_null(c);
	cr_expect_eq(e.code, ERR_NOT_FOUND);
	cr_expect(strstr(e.msg, "/nonexistent/second.conf") != NULL, "%s", e.msg);
}

Test(config, env_overrides_file_overrides_default)
{
	char *env[] = {"PATH=/usr/bin", "SECOND_STORE_SQLITE_POOL_SIZE=20",
		       "SECOND_LOG_LEVEL=error", NULL};
	struct err e = {0};
	struct config *c = load_real("store.sqlite.pool_size = 12\nstore.mongodb.pool_max = 9\n",
				     env, &e);

	cr_assert_not_null(c, "%s", e.msg);
	cr_expect_eq(config_int(c, "store.sqlite.pool_size"), 20);
	cr_expect_eq(source_of(c, "store.sqlite.pool_size"), SRC_ENV);
	cr_expect_eq(config_int(c, "store.mongodb.pool_max"), 9);
	cr_expect_eq(source_of(c, "store.mongodb.pool_max"), SRC_FILE);
	cr_expect_str_eq(config_str(c, "log.level"), "error");
	cr_expect_eq(source_of(c, "log.level"), SRC_ENV);
	cr_expect_eq(config_int(c, "redis.connect_timeout_ms"), 2000);
	cr_expect_eq(source_of(c, "redis.connect_timeout_ms"), SRC_DEFAULT);
	config_free(c);
}

Test(config, env_values_are_verbatim)
{
	char *env[] = {"SECOND_STORE_URI= sqlite:/x # y ", "SECOND_LOG_LEVEL=debug",
		       "SECOND_LOG_LEVEL=error", NULL};
	struct err e = {0};
	struct config *c = load_real(NULL, env, &e);

	cr_assert_not_null(c, "%s", e.msg);
	cr_expect_str_eq(config_str(c, "store.uri"), " sqlite:/x # y ");
	/* The first of repeated entries wins, as with getenv(). */
	cr_expect_str_eq(config_str(c, "log.level"), "debug");
	config_free(c);
}

static const struct {
	const char *var;
	enum err_code code;
	const char *fragment;
} env_errors[] = {
	{"SECOND_NOPE=1", ERR_INVALID, "unknown environment variable SECOND_NOPE"},
	{"SECOND_=1", ERR_INVALID, "unknown environment variable SECOND_"},
	{"SECOND_STORE_URI_X=1", ERR_INVALID, "unknown environment variable SECOND_STORE_URI_X"},
	{"SECOND_CONFIGX=1", ERR_INVALID, "unknown environment variable SECOND_CONFIGX"},
	{"SECOND_TEST=1", ERR_INVALID, "unknown environment variable SECOND_TEST"},
	{"SECOND_LOG_LEVEL=loud", ERR_INVALID, "SECOND_LOG_LEVEL: 'log.level' must be one of"},
	{"SECOND_LOG_LEVEL=", ERR_INVALID, "SECOND_LOG_LEVEL: 'log.level' must be one of"},
	{"SECOND_REDIS_CONNECT_TIMEOUT_MS= 12", ERR_INVALID, "must be an integer"},
	{"SECOND_REDIS_CONNECT_TIMEOUT_MS=60001", ERR_INVALID, "must be between 1 and 60000"},
	{"SECOND_STORE_URI=a\nb", ERR_INVALID, "control character"},
};

Test(config, env_errors)
{
	for (size_t i = 0; i < ARRAY_LEN(env_errors); i++) {
		char *env[] = {"HOME=/root", (char *)env_errors[i].var, NULL};
		struct err e = {0};
		struct config *c = load_real(NULL, env, &e);

		cr_expect_null(c, "%s accepted", env_errors[i].var);
		config_free(c);
		cr_expect_eq(e.code, env_errors[i].code, "%s", env_errors[i].var);
		cr_expect(strstr(e.msg, env_errors[i].fragment) != NULL, "'%s' lacks '%s'", e.msg,
			  env_errors[i].fragment);
	}
}

Test(config, overlong_env_value)
{
	char *var = malloc(CONFIG_VALUE_MAX + 64);
	char *env[] = {var, NULL};
	struct err e = {0};

	cr_assert_not_null(var);
	strcpy(var, "SECOND_STORE_URI=");
	memset(var + strlen(var), 'a', CONFIG_VALUE_MAX + 1);
	var[strlen("SECOND_STORE_URI=") + CONFIG_VALUE_MAX + 1] = '\0';
	cr_assert_null(load_real(NULL, env, &e));
	cr_expect_eq(e.code, ERR_TOO_LARGE, "%s", e.msg);
	free(var);
}

Test(config, allowed_foreign_variables)
{
	char *env[] = {"SECOND_TEST_ANYTHING=1",
		       "SECOND_TEST_=x",
		       "SECOND_CONFIG=",
		       "SECONDARY=1",
		       "SECOND=1",
		       "XSECOND_NOPE=1",
		       "second_nope=1",
		       "SECOND_NOEQUALS",
		       NULL};
	struct err e = {0};
	struct config *c = NULL;

	/* "SECOND_NOEQUALS" has no '=': not a variable, as getenv() would see it. */
	c = load_real(NULL, env, &e);
	cr_assert_not_null(c, "%s", e.msg);
	config_free(c);
}

Test(config, second_config_names_the_file)
{
	char var[600];
	char *env[] = {var, NULL};
	struct err e = {0};
	struct config *c = NULL;

	snprintf(var, sizeof(var), "SECOND_CONFIG=%s", write_text("log.level = notice\n"));
	cr_assert_eq(config_load(NULL, env, &c, &e), 0, "%s", e.msg);
	cr_expect_str_eq(config_str(c, "log.level"), "notice");
	config_free(c);
	/* An explicit file wins over SECOND_CONFIG. */
	snprintf(var, sizeof(var), "SECOND_CONFIG=/nonexistent/second.conf");
	cr_assert_eq(config_load(write_text("log.level = error\n"), env, &c, &e), 0, "%s", e.msg);
	cr_expect_str_eq(config_str(c, "log.level"), "error");
	config_free(c);
	cr_assert_eq(config_load(NULL, env, &c, &e), -1);
	cr_expect_eq(e.code, ERR_NOT_FOUND);
}

Test(config, print_shows_value_and_source)
{
	char *env[] = {"SECOND_LOG_LEVEL=debug", NULL};
	struct err e = {0};
	struct config *c = load_real("store.sqlite.pool_size = 12\n", env, &e);
	char *out = NULL, line[256];

	cr_assert_not_null(c, "%s", e.msg);
	out = print_to_string(c);
	cr_expect(strstr(out, "store.sqlite.pool_size = 12  # file\n") != NULL, "%s", out);
	cr_expect(strstr(out, "log.level = debug  # env\n") != NULL, "%s", out);
	cr_expect(strstr(out, "store.uri = sqlite:/var/lib/second/second.db  # default\n") != NULL,
		  "%s", out);
	for (size_t i = 0; i < config_nkeys; i++) {
		const char *first;

		/* Secret keys are printed as comments: "# key = (unset)". */
		snprintf(line, sizeof(line), "%s%s = ", config_keys[i].secret ? "# " : "",
			 config_keys[i].key);
		first = strstr(out, line);
		cr_expect(first != NULL && (first == out || first[-1] == '\n'), "%s missing",
			  config_keys[i].key);
		cr_expect(first == NULL || strstr(first + 1, line) == NULL, "%s twice",
			  config_keys[i].key);
	}
	free(out);
	config_free(c);
}

Test(config, print_masks_secrets)
{
	char *env[] = {"SECOND_T_PIN=4321", NULL};
	struct err e = {0};
	struct config *c = load_test_table(NULL, env, &e);
	char *out = NULL;

	cr_assert_not_null(c, "%s", e.msg);
	out = print_to_string(c);
	cr_expect(strstr(out, "# t.pin = (set)  # env\n") != NULL, "%s", out);
	cr_expect(strstr(out, "# t.token = (unset)  # default\n") != NULL, "%s", out);
	cr_expect(strstr(out, "4321") == NULL, "%s", out);
	cr_expect(strstr(out, "t.url = redis://:***@db.example:6379/0  # default\n") != NULL, "%s",
		  out);
	cr_expect(strstr(out, "hunter2") == NULL, "%s", out);
	free(out);
	config_free(c);
}

Test(config, print_masks_redis_url_password)
{
	char *env[] = {"SECOND_REDIS_URL=redis://app:s3cr%40t@10.0.0.1:6380/2", NULL};
	struct err e = {0};
	struct config *c = load_real(NULL, env, &e);
	char *out = NULL;

	cr_assert_not_null(c, "%s", e.msg);
	/* The value itself is intact: only printing masks. */
	cr_expect_str_eq(config_str(c, "redis.url"), "redis://app:s3cr%40t@10.0.0.1:6380/2");
	out = print_to_string(c);
	cr_expect(strstr(out, "redis.url = redis://app:***@10.0.0.1:6380/2  # env\n") != NULL, "%s",
		  out);
	cr_expect(strstr(out, "s3cr") == NULL, "%s", out);
	free(out);
	config_free(c);
}

Test(config, url_password_masking_table)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"redis://:pw@h:1/0", "redis://:***@h:1/0"},
		{"redis://user:pw@h", "redis://user:***@h"},
		{"redis://:@h", "redis://:***@h"},
		{"redis://h:6379/0", "redis://h:6379/0"},
		{"redis://user@h", "redis://user@h"},
		{"unix:///run/redis.sock?db=2", "unix:///run/redis.sock?db=2"},
		{"redis://:p@ss/w?rd@h/0", "redis://:***@h/0"},
		{"mongodb://u:p@h1:27017,h2/db", "mongodb://u:***@h1:27017,h2/db"},
		{"sqlite:/var/lib/second/second.db", "sqlite:/var/lib/second/second.db"},
		{"user:pw@host", "user:pw@host"},
		{"", ""},
	};
	char out[CONFIG_VALUE_MAX + 1];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		mask_url_password(cases[i].in, out, sizeof(out));
		cr_expect_str_eq(out, cases[i].want, "%s", cases[i].in);
	}
}

Test(config, print_output_loads_back)
{
	char *env[] = {"SECOND_STORE_URI= sqlite:/a b # c.db", "SECOND_REDIS_URL=#frag", NULL};
	struct err e = {0};
	struct config *c = load_real(NULL, env, &e), *d = NULL;
	char *out = NULL;

	cr_assert_not_null(c, "%s", e.msg);
	out = print_to_string(c);
	d = load_real(out, no_env, &e);
	cr_assert_not_null(d, "%s\n%s", e.msg, out);
	for (size_t i = 0; i < config_nkeys; i++)
		if (!config_keys[i].secret)
			cr_expect_str_eq(d->v[i].text, c->v[i].text, "%s", config_keys[i].key);
		else
			cr_expect_str_eq(d->v[i].text, config_keys[i].def, "%s",
					 config_keys[i].key);
	free(out);
	config_free(c);
	config_free(d);
}

Test(config, markdown_lists_every_key)
{
	static const char header[] = "| Key | Environment | Type | Default | Description |\n|---";
	char *buf = NULL, *line, *save = NULL, row[256];
	size_t len = 0, nlines = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	config_print_markdown(f);
	fclose(f);
	cr_expect(strncmp(buf, header, strlen(header)) == 0, "%s", buf);
	for (size_t i = 0; i < config_nkeys; i++) {
		char env[128];

		config_env_name(config_keys[i].key, env, sizeof(env));
		snprintf(row, sizeof(row), "\n| `%s` | `%s` | ", config_keys[i].key, env);
		cr_expect(strstr(buf, row) != NULL, "no row for %s", config_keys[i].key);
	}
	cr_expect(
		strstr(buf, "| one of `debug`, `info`, `notice`, `warning`, `error` | `info` |") !=
			NULL,
		"%s", buf);
	cr_expect(strstr(buf, "| integer, 1 to 64 | `8` |") != NULL, "%s", buf);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t bars = 0;

		for (const char *p = line; *p; p++)
			bars += *p == '|' && (p == line || p[-1] != '\\');
		cr_expect_eq(bars, 6, "cells of: %s", line);
		nlines++;
	}
	cr_expect_eq(nlines, config_nkeys + 2);
	free(buf);
}

Test(config, markdown_escapes_pipes)
{
	static const struct config_key keys[] = {
		{.key = "x.y", .type = CONFIG_STRING, .def = "a|b", .help = "Either a|b."},
		{.key = "x.z", .type = CONFIG_BOOL, .def = "", .help = "Flag."},
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	print_markdown_table(keys, ARRAY_LEN(keys), f);
	fclose(f);
	cr_expect(strstr(buf, "| `x.y` | `SECOND_X_Y` | string | `a\\|b` | Either a\\|b. |\n") !=
			  NULL,
		  "%s", buf);
	cr_expect(strstr(buf, "| `x.z` | `SECOND_X_Z` | boolean | (empty) | Flag. |\n") != NULL,
		  "%s", buf);
	free(buf);
}

Test(config, env_name)
{
	static const struct {
		const char *key, *want;
	} cases[] = {
		{"store.uri", "SECOND_STORE_URI"},
		{"store.sqlite.busy_timeout_ms", "SECOND_STORE_SQLITE_BUSY_TIMEOUT_MS"},
		{"a-b.c9", "SECOND_A_B_C9"},
		{"", "SECOND_"},
	};
	char buf[64];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		config_env_name(cases[i].key, buf, sizeof(buf));
		cr_expect_str_eq(buf, cases[i].want);
	}
	config_env_name("store.uri", buf, 10);
	cr_expect_str_eq(buf, "SECOND_ST");
	config_env_name("store.uri", buf, 3);
	cr_expect_str_eq(buf, "SE");
	buf[0] = 'q';
	config_env_name("store.uri", buf, 0);
	cr_expect_eq(buf[0], 'q');
}

Test(config, free_accepts_null)
{
	config_free(NULL);
}

Test(config, str_of_unknown_key_aborts, .signal = SIGABRT)
{
	struct config *c = load_real(NULL, no_env, NULL);

	config_str(c, "no.such.key");
}

Test(config, int_of_string_key_aborts, .signal = SIGABRT)
{
	struct config *c = load_real(NULL, no_env, NULL);

	config_int(c, "store.uri");
}

Test(config, str_of_int_key_aborts, .signal = SIGABRT)
{
	struct config *c = load_real(NULL, no_env, NULL);

	config_str(c, "store.sqlite.pool_size");
}

Test(config, bool_of_enum_key_aborts, .signal = SIGABRT)
{
	struct config *c = load_real(NULL, no_env, NULL);

	config_bool(c, "log.level");
}
