/* workerd-bench: what workerd adds to a turn, and how fast its MCP broker answers.
 *
 * 1. Time to first event: the `text` scenario of the scripted model run N times through
 *    workerd (POST /sessions/:id/messages, until the first SSE data frame arrives) and N times
 *    by the Claude Code CLI directly (same flags, until its first stdout line), in the same
 *    run; prints p50 of both and their ratio.
 * 2. MCP round trip: while a turn holds a broker session, M tools/call requests of
 *    present_plan over HTTP with keep-alive (the path a CLI takes); prints p50 and p99.
 * Needs the CLIs of tests/e2e (npm ci --prefix tests/e2e). usage: workerd-bench [N] [M] */
#include <config.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "tests/wd-client.h"

static struct wd_env env;
static char model_env[3][600];

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	int i = (int)(p * (n - 1) + 0.5);
	return v[i];
}

struct first {
	double start, first;
	bool error;
};

static size_t on_first(char *p, size_t s, size_t n, void *ud)
{
	struct first *f = ud;
	if (f->first == 0 && memmem(p, s * n, "data: ", 6)) {
		f->first = now_ms();
		f->error = memmem(p, s * n, "\"type\":\"error\"", 14) != NULL;
		if (f->error)
			fprintf(stderr, "%.*s\n", (int)(s * n > 600 ? 600 : s * n), p);
	}
	return s * n;
}

static double via_workerd(int i)
{
	char app[64], url[128];
	char *body = wd_turn_body("text", "claude-code", "claude-sonnet-4-5", NULL);
	struct first f = {now_ms(), 0, false};
	struct curl_slist *h = NULL;
	char auth[128];
	snprintf(app, sizeof(app), "bench-%d", i);
	snprintf(url, sizeof(url), "http://workerd/sessions/%s/messages", app);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", env.token);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, env.sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_first);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(body);
	if (f.error) {
		fprintf(stderr, "workerd-bench: the turn failed; see %s\n", env.log);
		exit(1);
	}
	return f.first ? f.first - f.start : -1;
}

/* The CLI with the adapter's flags, prompt on stdin, until its first stdout line. */
static double direct(int i)
{
	char bin[600], cwd[600], home[600];
	snprintf(bin, sizeof(bin), "%s/claude", env.cli_bin);
	snprintf(cwd, sizeof(cwd), "%s/direct-%d", env.dir, i);
	snprintf(home, sizeof(home), "HOME=%s", env.home);
	mkdir(cwd, 0700);
	int in[2], out[2];
	if (pipe(in) || pipe(out))
		abort();
	double start = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = {bin,
				"-p",
				"--output-format",
				"stream-json",
				"--input-format",
				"stream-json",
				"--verbose",
				"--include-partial-messages",
				"--model",
				"claude-sonnet-4-5",
				"--max-turns",
				"500",
				"--setting-sources",
				"project",
				NULL};
		char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin",
				home,
				model_env[0],
				model_env[1],
				model_env[2],
				NULL};
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		if (chdir(cwd) != 0)
			_exit(127);
		execve(bin, argv, envp);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	const char *msg =
		"{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":[{\"type\":"
		"\"text\",\"text\":\"[scenario:text] Please go ahead.\"}]}}\n";
	if (write(in[1], msg, strlen(msg)) < 0)
		abort();
	close(in[1]);
	char ch;
	double first = -1;
	while (read(out[0], &ch, 1) == 1)
		if (ch == '\n') {
			first = now_ms() - start;
			break;
		}
	char buf[4096];
	while (read(out[0], buf, sizeof(buf)) > 0)
		;
	close(out[0]);
	waitpid(pid, NULL, 0);
	return first;
}

static void *slow_turn(void *arg)
{
	(void)arg;
	struct wd_stream s;
	char *body = wd_turn_body("slow", "claude-code", "claude-sonnet-4-5", NULL);
	wd_turn(&env, "bench-broker", body, &s);
	wd_stream_free(&s);
	free(body);
	return NULL;
}

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
	(void)p, (void)ud;
	return s * n;
}

static int broker_round_trips(int m, double *lat)
{
	char path[700], text[8192] = {0};
	snprintf(path, sizeof(path), "%s/claude-code/bench-broker/mcp.json", env.rt_dir);
	for (int w = 0; w < 600 && !text[0]; w++) {
		FILE *f = fopen(path, "r");
		if (f) {
			if (fread(text, 1, sizeof(text) - 1, f) == 0)
				text[0] = '\0';
			fclose(f);
		}
		usleep(100000);
	}
	json_error_t je;
	json_t *cfg = json_loads(text, 0, &je);
	json_t *second = json_object_get(json_object_get(cfg, "mcpServers"), "second");
	const char *url = json_string_value(json_object_get(second, "url"));
	const char *auth = json_string_value(
		json_object_get(json_object_get(second, "headers"), "Authorization"));
	if (!url || !auth)
		return -1;
	char hdr[256];
	snprintf(hdr, sizeof(hdr), "Authorization: %s", auth);
	struct curl_slist *h = curl_slist_append(NULL, hdr);
	h = curl_slist_append(h, "Content-Type: application/json");
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	const char *call = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
			   "\"name\":\"present_plan\",\"arguments\":{\"title\":\"T\",\"overview\":"
			   "\"O\",\"features\":[],\"dataFlow\":\"D\"}}}";
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, call);
	int ok = 0;
	for (int i = 0; i < m; i++) {
		double t = now_ms();
		long st = 0;
		curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
		lat[i] = now_ms() - t;
		ok += st == 200;
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	json_decref(cfg);
	return ok == m ? 0 : -1;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5, m = argc > 2 ? atoi(argv[2]) : 500;
	if (n < 1 || n > 100 || m < 10 || m > 100000)
		return fprintf(stderr, "usage: workerd-bench [N 1..100] [M 10..100000]\n"), 2;
	wd_require_clis();
	curl_global_init(CURL_GLOBAL_ALL);
	wd_env_init(&env);
	if (wd_model_start(&env) < 0)
		return fprintf(stderr, "workerd-bench: the model server did not start\n"), 1;
	snprintf(model_env[0], sizeof(model_env[0]), "ANTHROPIC_BASE_URL=%s", env.model_url);
	snprintf(model_env[1], sizeof(model_env[1]), "ANTHROPIC_API_KEY=bench-key");
	snprintf(model_env[2], sizeof(model_env[2]), "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1");
	const char *extra[] = {model_env[0], model_env[1], model_env[2], "SECOND_LOG_LEVEL=warning",
			       NULL};
	if (wd_start(&env, extra) < 0)
		return fprintf(stderr, "workerd-bench: workerd did not start\n"), 1;
	double *wd = calloc((size_t)n, sizeof(double)), *dr = calloc((size_t)n, sizeof(double));
	double *lat = calloc((size_t)m, sizeof(double));
	if (!wd || !dr || !lat)
		abort();
	via_workerd(-1); /* warm caches on both paths once */
	direct(-1);
	for (int i = 0; i < n; i++) {
		wd[i] = via_workerd(i);
		dr[i] = direct(i);
	}
	double wp = pct(wd, n, 0.5), dp = pct(dr, n, 0.5);
	printf("workerd-bench: time to first event, %d turns each (Claude Code, scripted model)\n",
	       n);
	printf("  through workerd  p50 %8.1f ms\n", wp);
	printf("  CLI directly     p50 %8.1f ms\n", dp);
	printf("  ratio (workerd / direct): %.2f\n", wp / dp);
	pthread_t th;
	pthread_create(&th, NULL, slow_turn, NULL);
	int rc = broker_round_trips(m, lat);
	struct tc_resp r;
	wd_call(&env, "POST", "/sessions/bench-broker/cancel", "{}", NULL, &r);
	tc_resp_free(&r);
	pthread_join(th, NULL);
	if (rc == 0)
		printf("workerd-bench: MCP tools/call present_plan round trip, %d calls: p50 %.3f "
		       "ms, "
		       "p99 %.3f ms\n",
		       m, pct(lat, m, 0.5), pct(lat, m, 0.99));
	else
		printf("workerd-bench: the broker round trips failed\n");
	wd_env_stop(&env);
	return rc == 0 ? 0 : 1;
}
