/* second-admin: the operator's command line, sharing the responders' configuration.
 *
 * Commands read the same key table, file and SECOND_* environment as every responder, so
 * `second-admin check-config` is the ExecStartPre check of each unit, and `health` reports
 * exactly what the API's health route will. Output is JSON on stdout for the health commands
 * and plain text otherwise; diagnostics go through the logger. */
#include <config.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/audit.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/redis.h"
#include "lib/service.h"
#include "lib/store.h"

extern char **environ;

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: second-admin [--config FILE] COMMAND\n"
		"\n"
		"  check-config        validate the configuration and print it (secrets masked)\n"
		"  config-keys         print every configuration key as a Markdown table\n"
		"  init                create the store's collections and indexes\n"
		"  health              check the store and Redis; JSON on stdout, exit 1 if down\n"
		"  watch [SECONDS]     print health every SECONDS (default 10) until stopped\n"
		"  audit verify WORKSPACE\n"
		"                      check a workspace's audit hash chain; exit 1 at the\n"
		"                      first edited, missing or relinked event\n");
}

static json_t *component(int ok, const char *backend, const struct err *e)
{
	json_t *c = json_object();

	json_object_set_new(c, "status", json_string(ok ? "ok" : "down"));
	if (backend != NULL)
		json_object_set_new(c, "backend", json_string(backend));
	if (!ok)
		json_object_set_new(c, "error", json_string(e->msg));
	return c;
}

/* One health probe of both services; returns 0 when both answer. */
static int health_once(const struct config *cfg)
{
	struct err se = {0}, re = {0};
	struct store *s = NULL;
	struct rds *r = NULL;
	json_t *out = json_object();
	int sok, rok;
	char *text;

	sok = service_store_open(cfg, &store_schema_second, &s, &se) == 0 &&
	      store_ping(s, &se) == 0;
	rok = service_redis_open(cfg, &r, &re) == 0 && rds_ping(r, &re) == 0;
	json_object_set_new(out, "status", json_string(sok && rok ? "ok" : "degraded"));
	json_object_set_new(out, "store", component(sok, s ? store_backend_name(s) : NULL, &se));
	json_object_set_new(out, "redis", component(rok, NULL, &re));
	text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
	printf("%s\n", text ? text : "{}");
	fflush(stdout);
	free(text);
	json_decref(out);
	store_close(s);
	rds_close(r);
	return sok && rok ? 0 : -1;
}

static int cmd_watch(const struct config *cfg, int argc, char **argv)
{
	long secs = argc > 1 ? strtol(argv[1], NULL, 10) : 10;

	if (secs < 1 || secs > 3600) {
		fprintf(stderr, "second-admin: watch interval must be 1..3600 seconds\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stopping) {
		/* A failed probe is reported in its JSON line; watching goes on. */
		(void)health_once(cfg);
		for (long i = 0; i < secs && !stopping; i++)
			sleep(1);
	}
	return 0;
}

static int cmd_init(const struct config *cfg)
{
	struct err e = {0};
	struct store *s = NULL;

	if (service_store_open(cfg, &store_schema_second, &s, &e) != 0) {
		log_error("store: %s", e.msg);
		return 1;
	}
	printf("store ready: %s, %zu collections\n", store_backend_name(s),
	       store_schema_second.ncollections);
	store_close(s);
	return 0;
}

/* `audit verify WORKSPACE`: 0 when the chain holds, 1 when an event does not fit, 2 when the
 * check could not run. */
static int cmd_audit(const struct config *cfg, int argc, char **argv)
{
	struct audit_verify_result res;
	struct err e = {0};
	struct store *s = NULL;
	int rc = 2;

	if (argc != 3 || strcmp(argv[1], "verify") != 0) {
		fprintf(stderr, "second-admin: usage: audit verify WORKSPACE\n");
		return 2;
	}
	if (service_store_open(cfg, &store_schema_second, &s, &e) != 0 ||
	    audit_verify(s, argv[2], &res, &e) != 0) {
		log_error("audit verify: %s", e.msg);
		goto out;
	}
	if (res.ok)
		printf("ok: %zu events\n", res.count);
	else
		printf("bad event %s (seq %lld): %s\n", res.bad_id, res.bad_seq, res.reason);
	rc = res.ok ? 0 : 1;
out:
	store_close(s);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL, *cmd;
	struct config *cfg = NULL;
	struct err e = {0};
	int c, check = 0, rc = 2;

	log_init("second-admin", LOG_LEVEL_INFO, LOG_TARGET_STDERR);
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		if (c == 'c')
			file = optarg;
		else if (c == 'C')
			check = 1;
		else {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	cmd = check ? "check-config" : optind < argc ? argv[optind] : NULL;
	if (cmd == NULL) {
		usage(stderr);
		return 2;
	}
	if (strcmp(cmd, "config-keys") == 0) {
		config_print_markdown(stdout);
		return 0;
	}
	if (config_load(file, environ, &cfg, &e) != 0) {
		fprintf(stderr, "second-admin: configuration: %s\n", e.msg);
		return 2;
	}
	if (service_log_init(cfg, "second-admin", &e) != 0) {
		fprintf(stderr, "second-admin: %s\n", e.msg);
		goto out;
	}
	if (strcmp(cmd, "check-config") == 0) {
		config_print(cfg, stdout);
		rc = 0;
	} else if (strcmp(cmd, "init") == 0) {
		rc = cmd_init(cfg);
	} else if (strcmp(cmd, "health") == 0) {
		rc = health_once(cfg) == 0 ? 0 : 1;
	} else if (strcmp(cmd, "watch") == 0) {
		rc = cmd_watch(cfg, argc - optind, argv + optind);
	} else if (strcmp(cmd, "audit") == 0) {
		rc = cmd_audit(cfg, argc - optind, argv + optind);
	} else {
		fprintf(stderr, "second-admin: unknown command '%s'\n", cmd);
		usage(stderr);
	}
out:
	config_free(cfg);
	return rc;
}
