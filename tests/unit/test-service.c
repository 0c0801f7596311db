/* The store URI is composed from the configuration keys; options in store.uri win. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "lib/config.h"
#include "lib/service.h"

struct uri_case {
	char uri[160];
	char extra_env[80];
	char want[240];
};

ParameterizedTestParameters(service, store_uri)
{
	static struct uri_case cases[] = {
		{"sqlite:/d/s.db", "",
		 "sqlite:/d/s.db?busy_timeout_ms=5000&synchronous=full&pool=8"},
		{"sqlite:s.db?pool=2", "",
		 "sqlite:s.db?pool=2&busy_timeout_ms=5000&synchronous=full"},
		{"sqlite:s.db", "SECOND_STORE_SQLITE_SYNCHRONOUS=normal",
		 "sqlite:s.db?busy_timeout_ms=5000&synchronous=normal&pool=8"},
		{"sqlite:s.db?synchronous=normal", "SECOND_STORE_SQLITE_SYNCHRONOUS=full",
		 "sqlite:s.db?synchronous=normal&busy_timeout_ms=5000&pool=8"},
		{"mongodb://h/db", "", "mongodb://h/db?maxPoolSize=32"},
		{"mongodb://h/db?maxPoolSize=4", "SECOND_STORE_MONGODB_POOL_MAX=9",
		 "mongodb://h/db?maxPoolSize=4"},
		{"mongodb://h/db?w=1", "SECOND_STORE_MONGODB_POOL_MAX=9",
		 "mongodb://h/db?w=1&maxPoolSize=9"},
	};

	return cr_make_param_array(struct uri_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct uri_case *c, service, store_uri)
{
	char env_uri[200];
	char *envp[3] = {env_uri, c->extra_env[0] ? c->extra_env : NULL, NULL};
	struct config *cfg = NULL;
	struct err e = {0};
	char *uri;

	snprintf(env_uri, sizeof(env_uri), "SECOND_STORE_URI=%s", c->uri);
	cr_assert_eq(config_load(NULL, envp, &cfg, &e), 0, "%s", e.msg);
	uri = service_store_uri(cfg);
	cr_expect_str_eq(uri, c->want);
	free(uri);
	config_free(cfg);
}

Test(service, redis_opts_follow_keys)
{
	char *envp[] = {"SECOND_REDIS_URL=unix:///tmp/r.sock",
			"SECOND_REDIS_COMMAND_TIMEOUT_MS=250", NULL};
	struct config *cfg = NULL;
	struct err e = {0};
	struct rds_opts o;

	cr_assert_eq(config_load(NULL, envp, &cfg, &e), 0, "%s", e.msg);
	service_redis_opts(cfg, &o);
	cr_expect_str_eq(o.url, "unix:///tmp/r.sock");
	cr_expect_eq(o.command_timeout_ms, 250);
	cr_expect_eq(o.connect_timeout_ms, 2000);
	config_free(cfg);
}
