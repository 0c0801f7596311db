/* Opening logging, the store and Redis from the configuration, the same way in every program.
 *
 * The store keys are passed to the backends as URI options because the store's interface takes
 * a URI only: SQLite reads busy_timeout_ms, synchronous and pool; mongo-c-driver's client pool
 * reads maxPoolSize. An option the operator already wrote into store.uri is left alone. */
#include <config.h>

#include <execinfo.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/service.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CRASH_REPORT 0 /* the sanitizer reports a crash itself, better */
#else
#define CRASH_REPORT 1
#endif
#define CRASH_FRAMES 64

/* A fatal signal writes the call stack (binary+offset frames, for addr2line) to stderr, which
 * is the log, and then dies of the same signal: a crash in a test or in production names its
 * place. Only async-signal-safe calls; backtrace() is primed at install time so it does not
 * load its unwinder inside the handler. */
static void crash_report(int sig)
{
	static const char head[] = "fatal signal, call stack follows:\n";
	void *frames[CRASH_FRAMES];
	int n = backtrace(frames, CRASH_FRAMES);

	if (write(STDERR_FILENO, head, sizeof(head) - 1) > 0)
		backtrace_symbols_fd(frames, n, STDERR_FILENO);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void crash_report_install(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	void *prime[1];

	if (!CRASH_REPORT)
		return;
	(void)backtrace(prime, 1);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction sa = {.sa_handler = crash_report, .sa_flags = SA_RESETHAND};

		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
}

int service_log_init(const struct config *cfg, const char *ident, struct err *e)
{
	crash_report_install();
	enum log_level level;
	enum log_target target;

	/* The key table's enum choices make these parse; check anyway rather than assume. */
	if (log_level_parse(config_str(cfg, "log.level"), &level) != 0 ||
	    log_target_parse(config_str(cfg, "log.target"), &target) != 0)
		return err_set(e, ERR_INVALID, "log.level or log.target is not a known value");
	log_init(ident, level, target);
	return 0;
}

/* True when the URI's query already sets option `name`. */
static bool has_option(const char *uri, const char *name)
{
	const char *q = strchr(uri, '?');
	size_t len = strlen(name);

	while (q != NULL) {
		q++;
		if (strncasecmp(q, name, len) == 0 && q[len] == '=')
			return true;
		q = strchr(q, '&');
	}
	return false;
}

static void add_option(char **uri, const char *name, const char *value)
{
	char *next = NULL;

	if (has_option(*uri, name))
		return;
	if (asprintf(&next, "%s%c%s=%s", *uri, strchr(*uri, '?') ? '&' : '?', name, value) < 0)
		abort();
	free(*uri);
	*uri = next;
}

static void add_int_option(char **uri, const char *name, long long value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", value);
	add_option(uri, name, buf);
}

char *service_store_uri(const struct config *cfg)
{
	char *uri = strdup(config_str(cfg, "store.uri"));

	if (uri == NULL)
		abort();
	if (strncmp(uri, "sqlite:", 7) == 0) {
		add_int_option(&uri, "busy_timeout_ms",
			       config_int(cfg, "store.sqlite.busy_timeout_ms"));
		add_option(&uri, "synchronous", config_str(cfg, "store.sqlite.synchronous"));
		add_int_option(&uri, "pool", config_int(cfg, "store.sqlite.pool_size"));
	} else if (strncmp(uri, "mongodb:", 8) == 0 || strncmp(uri, "mongodb+srv:", 12) == 0) {
		add_int_option(&uri, "maxPoolSize", config_int(cfg, "store.mongodb.pool_max"));
	}
	return uri;
}

int service_store_open(const struct config *cfg, const struct store_schema *schema,
		       struct store **out, struct err *e)
{
	char *uri = service_store_uri(cfg);
	int rc = store_open(uri, schema, out, e);

	free(uri);
	return rc;
}

void service_redis_opts(const struct config *cfg, struct rds_opts *o)
{
	o->url = config_str(cfg, "redis.url");
	o->connect_timeout_ms = (int)config_int(cfg, "redis.connect_timeout_ms");
	o->command_timeout_ms = (int)config_int(cfg, "redis.command_timeout_ms");
}

int service_redis_open(const struct config *cfg, struct rds **out, struct err *e)
{
	struct rds_opts o;

	service_redis_opts(cfg, &o);
	return rds_open(&o, out, e);
}

static pthread_key_t redis_key;
static pthread_once_t redis_once = PTHREAD_ONCE_INIT;

static void redis_close_key(void *r)
{
	rds_close(r);
}

static void redis_key_init(void)
{
	if (pthread_key_create(&redis_key, redis_close_key) != 0)
		abort();
}

struct rds *service_thread_redis(const struct rds_opts *o, struct err *e)
{
	struct rds *r;

	pthread_once(&redis_once, redis_key_init);
	r = pthread_getspecific(redis_key);
	if (r != NULL)
		return r;
	if (rds_open(o, &r, e) != 0)
		return NULL;
	if (pthread_setspecific(redis_key, r) != 0)
		abort();
	return r;
}

extern char **environ;

int service_responder_config(int argc, char **argv, const char *ident, struct config **cfg)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'C'},
		{NULL, 0, NULL, 0},
	};
	struct err e = {0};
	const char *file = NULL;
	int c, check = 0;

	*cfg = NULL;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'c')
			file = optarg;
		else if (c == 'C')
			check = 1;
		else
			return 2;
	}
	if (config_load(file, environ, cfg, &e) != 0) {
		fprintf(stderr, "%s: configuration: %s\n", ident, e.msg);
		return 2;
	}
	if (!check)
		return -1;
	config_print(*cfg, stdout);
	config_free(*cfg);
	*cfg = NULL;
	return 0;
}
