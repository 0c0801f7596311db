/* sse-bench: what second-sse adds between workerd and the browser.
 *
 * A stream source stands in for workerd's turn endpoint (a libmicrohttpd server on a unix
 * socket, the load generator of this benchmark, like wrk is for the API): each turn streams
 * CHUNKS text deltas whose text is the monotonic time they were sent, then a result and
 * [DONE]. Everything between it and the client is the product: second-sse (claim, translation,
 * replay in Redis, fold, store), lighttpd, Redis and SQLite. It prints
 *   1. the added latency per chunk (client receive time minus source send time), p50 and p99,
 *      with 1, 10 and 100 concurrent chat streams (one run each), chunks every 10 ms;
 *   2. chunks per second one second-sse process relays, 100 streams sending back to back;
 *   3. second-sse's RSS with 1,000 idle attached observers, per stream.
 * usage: sse-bench (run by make bench) */
#include <config.h>

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lib/jsonx.h"
#include "lib/sse.h"
#include "tests/api-client.h"

#define CHUNKS 100
#define OBSERVERS 1000

static struct tc_env env;
static char *cookie, ws[128], app[64], src_sock[600];
static int gap_us = 10000;   /* between source chunks */
static int hold_ms;          /* the source pauses up to this long before [DONE] */
static atomic_bool released; /* ends that pause early */

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The stream source: one turn per POST .../messages; JSON calls get minimal answers. */
struct turn_src {
	int sent;
};

static ssize_t src_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct turn_src *t = cls;
	int n;
	if (t->sent == 0)
		n = snprintf(buf, max,
			     "data: {\"type\":\"stream_event\",\"event\":{\"type\":"
			     "\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
			     "\"text\"}}}\n\n");
	else if (t->sent <= CHUNKS) {
		usleep((useconds_t)gap_us);
		n = snprintf(
			buf, max,
			"data: {\"type\":\"stream_event\",\"event\":{\"type\":"
			"\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
			"\"text\":\"%.0f \"}}}\n\n",
			now_us());
	} else if (t->sent == CHUNKS + 1) {
		for (int waited = 0; waited < hold_ms && !atomic_load(&released); waited += 10)
			usleep(10000);
		n = snprintf(buf, max,
			     "data: {\"type\":\"stream_event\",\"event\":{\"type\":"
			     "\"content_block_stop\",\"index\":0}}\n\ndata: {\"type\":"
			     "\"result\",\"subtype\":\"success\",\"modelUsage\":{}}\n\n"
			     "data: [DONE]\n\n");
	} else {
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	t->sent++;
	return n;
}

static enum MHD_Result src_access(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **ctx)
{
	(void)cls, (void)version, (void)upload;
	if (!*ctx) {
		*ctx = (void *)1;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	struct MHD_Response *r;
	if (strcmp(method, "POST") == 0 && strstr(url, "/messages")) {
		struct turn_src *t = calloc(1, sizeof(*t));
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, src_read, t, free);
		MHD_add_response_header(r, "Content-Type", "text/event-stream");
	} else {
		static const char body[] = "{\"sessionState\":null,\"ok\":true}";
		r = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
						    MHD_RESPMEM_PERSISTENT);
	}
	enum MHD_Result ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static struct MHD_Daemon *source_start(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(src_sock, sizeof(src_sock), "%s/source.sock", env.dir);
	if (snprintf(a.sun_path, sizeof(a.sun_path), "%s", src_sock) >= (int)sizeof(a.sun_path))
		return NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 512) < 0)
		return NULL;
	return MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
				NULL, NULL, src_access, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, 2000u, MHD_OPTION_END);
}

static char *new_run(void)
{
	struct tc_resp r;
	char path[300];
	snprintf(path, sizeof(path), "/api/workspaces/%s/apps/%s/runs", ws, app);
	if (tc_json(&env, cookie, "POST", path, NULL, &r) != 0 || r.status != 201)
		abort();
	char *id = strdup(jsonx_str(r.json, "id"));
	tc_resp_free(&r);
	return id;
}

struct stream {
	char *run;
	double *lat;
	int n;
	struct sse_reader rd;
	CURL *c;
	long chunks;
};

static int on_event(void *arg, const char *data, size_t len, const char *id)
{
	(void)len, (void)id;
	struct stream *s = arg;
	double now = now_us();
	s->chunks++;
	const char *d = strstr(data, "\"delta\":\"");
	if (d && s->n < CHUNKS + 8)
		s->lat[s->n++] = now - strtod(d + 9, NULL);
	return 0;
}

static size_t on_bytes(char *p, size_t sz, size_t n, void *ud)
{
	struct stream *s = ud;
	struct err e = {0};
	return sse_feed(&s->rd, p, sz * n, &e) < 0 ? 0 : sz * n;
}

static void *send_one(void *arg)
{
	struct stream *s = arg;
	char url[512], ck[256];
	snprintf(url, sizeof(url), "%s/api/workspaces/%s/apps/%s/runs/%s/chat", env.base_url, ws,
		 app, s->run);
	snprintf(ck, sizeof(ck), "second_session=%s", cookie);
	const char *body =
		"{\"id\":\"c\",\"messages\":[{\"id\":\"u1\",\"role\":\"user\",\"parts\":"
		"[{\"type\":\"text\",\"text\":\"go\"}]}],\"trigger\":\"submit-message\"}";
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	s->c = curl_easy_init();
	sse_reader_init(&s->rd, on_event, s);
	curl_easy_setopt(s->c, CURLOPT_URL, url);
	curl_easy_setopt(s->c, CURLOPT_COOKIE, ck);
	curl_easy_setopt(s->c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(s->c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(s->c, CURLOPT_WRITEFUNCTION, on_bytes);
	curl_easy_setopt(s->c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->c, CURLOPT_NOPROXY, "*");
	curl_easy_perform(s->c);
	curl_easy_cleanup(s->c);
	curl_slist_free_all(h);
	sse_reader_free(&s->rd);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* k concurrent chat streams; returns all latencies (us) in *all, their count in *n. */
static double run_streams(int k, double **all, int *n)
{
	struct stream *s = calloc((size_t)k, sizeof(*s));
	pthread_t *th = calloc((size_t)k, sizeof(*th));
	for (int i = 0; i < k; i++) {
		s[i].run = new_run();
		s[i].lat = calloc(CHUNKS + 8, sizeof(double));
	}
	double t0 = now_us();
	for (int i = 0; i < k; i++)
		pthread_create(&th[i], NULL, send_one, &s[i]);
	long chunks = 0;
	*all = calloc((size_t)k * (CHUNKS + 8), sizeof(double));
	*n = 0;
	for (int i = 0; i < k; i++) {
		pthread_join(th[i], NULL);
		memcpy(*all + *n, s[i].lat, (size_t)s[i].n * sizeof(double));
		*n += s[i].n;
		chunks += s[i].chunks;
		free(s[i].lat);
		free(s[i].run);
	}
	double secs = (now_us() - t0) / 1e6;
	free(s);
	free(th);
	return chunks / secs;
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static void *observe(void *arg)
{
	char url[512], ck[256];
	snprintf(url, sizeof(url), "%s/api/workspaces/%s/apps/%s/runs/%s/chat/stream", env.base_url,
		 ws, app, (char *)arg);
	snprintf(ck, sizeof(ck), "second_session=%s", cookie);
	CURL *c = curl_easy_init();
	FILE *null = fopen("/dev/null", "w");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_COOKIE, ck);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, null);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	fclose(null);
	return NULL;
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
	if (tc_env_start(&env) != 0)
		return fprintf(stderr, "sse-bench: the stack did not start\n"), 1;
	struct MHD_Daemon *src = source_start();
	char wl[700];
	snprintf(wl, sizeof(wl), "SECOND_WORKERD_LISTEN=unix:%s", src_sock);
	const char *extra[] = {wl, "SECOND_SSE_THREADS=1200", "SECOND_LOG_LEVEL=warning", NULL};
	if (!src || tc_sse_start(&env, extra) != 0)
		return fprintf(stderr, "sse-bench: second-sse did not start\n"), 1;
	cookie = tc_login(&env, "Bench Owner", "bench@example.com");
	char *w = tc_workspace_new(&env, cookie, "Bench");
	snprintf(ws, sizeof(ws), "%s", w);
	free(w);
	struct tc_resp r;
	char path[256];
	snprintf(path, sizeof(path), "/api/workspaces/%s/apps", ws);
	if (tc_json(&env, cookie, "POST", path,
		    "{\"appName\":\"Bench\",\"runtimeId\":\"claude-code\",\"runtimeModel\":\"m\","
		    "\"runtimeParams\":{}}",
		    &r) != 0 ||
	    r.status != 201)
		return fprintf(stderr, "sse-bench: no app\n"), 1;
	snprintf(app, sizeof(app), "%s", jsonx_str(r.json, "id"));
	tc_resp_free(&r);

	printf("sse-bench: chat streams through lighttpd and second-sse, %d chunks each\n", CHUNKS);
	int levels[] = {1, 10, 100};
	for (size_t i = 0; i < 3; i++) {
		double *lat;
		int n;
		run_streams(levels[i], &lat, &n);
		qsort(lat, (size_t)n, sizeof(double), cmp);
		printf("  %3d streams, a chunk every 10 ms: added latency p50 %.2f ms, p99 %.2f ms "
		       "(%d chunks)\n",
		       levels[i], n ? lat[n / 2] / 1000 : 0, n ? lat[(int)(n * 0.99)] / 1000 : 0,
		       n);
		free(lat);
	}
	gap_us = 0;
	double *lat;
	int n;
	double cps = run_streams(100, &lat, &n);
	free(lat);
	printf("  throughput: %.0f chunks/s relayed by one second-sse (100 streams back to back)\n",
	       cps);

	/* Idle observers: one run held open by the source, OBSERVERS attached to it. */
	gap_us = 1000;
	hold_ms = 60000;
	struct stream holder = {.run = new_run(), .lat = calloc(CHUNKS + 8, sizeof(double))};
	pthread_t hth, *obs = calloc(OBSERVERS, sizeof(pthread_t));
	pthread_create(&hth, NULL, send_one, &holder);
	sleep(2);
	long before = rss_kib(env.sse_pid);
	for (int i = 0; i < OBSERVERS; i++)
		pthread_create(&obs[i], NULL, observe, holder.run);
	sleep(8);
	long after = rss_kib(env.sse_pid);
	printf("  second-sse RSS: %ld KiB with one stream, %ld KiB with %d idle observers more: "
	       "%.1f KiB per observer\n",
	       before, after, OBSERVERS, (after - before) / (double)OBSERVERS);
	fflush(stdout);
	/* The held turn ends: every observer follows it to the end, then second-sse stops
	 * cleanly (a turn in flight would keep it finishing that request). */
	atomic_store(&released, true);
	pthread_join(hth, NULL);
	for (int i = 0; i < OBSERVERS; i++)
		pthread_join(obs[i], NULL);
	free(obs);
	free(holder.lat);
	free(holder.run);
	tc_sse_stop(&env);
	tc_env_stop(&env);
	MHD_stop_daemon(src);
	_exit(0);
}
