/* fcgi-hello: the benchmark's baseline responder, the least a FastCGI JSON answer can cost.
 *
 * The same thread pool shape as second-api (N threads on FCGX_Accept_r), answering every
 * request with a fixed small JSON object, so wrk through the same lighttpd measures the web
 * server and FastCGI hop alone. */
#include <config.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fcgiapp.h>

#define HELLO_MAX_THREADS 64

static pthread_mutex_t accept_mu = PTHREAD_MUTEX_INITIALIZER;
static int listen_fd;

static void *serve(void *arg)
{
	FCGX_Request req;

	(void)arg;
	if (FCGX_InitRequest(&req, listen_fd, 0) != 0)
		return NULL;
	for (;;) {
		int rc;

		pthread_mutex_lock(&accept_mu);
		rc = FCGX_Accept_r(&req);
		pthread_mutex_unlock(&accept_mu);
		if (rc < 0)
			break;
		FCGX_PutS("Status: 200 OK\r\nContent-Type: application/json\r\n\r\n{\"ok\":true}",
			  req.out);
		FCGX_Finish_r(&req);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[HELLO_MAX_THREADS];
	int n = argc > 2 ? atoi(argv[2]) : 8;

	if (argc < 2 || n < 1 || n > HELLO_MAX_THREADS) {
		fprintf(stderr, "usage: fcgi-hello SOCKET_PATH [THREADS]\n");
		return 2;
	}
	if (FCGX_Init() != 0 || (listen_fd = FCGX_OpenSocket(argv[1], 128)) < 0) {
		fprintf(stderr, "fcgi-hello: cannot listen on %s\n", argv[1]);
		return 1;
	}
	/* libfcgi turns SIGTERM into a flag checked only at the next accept; a benchmark's
	 * baseline should simply end when told to. */
	signal(SIGTERM, SIG_DFL);
	/* lighttpd runs as the same user here; the socket needs no wider access. */
	(void)chmod(argv[1], 0600);
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, serve, NULL) != 0)
			return 1;
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return 0;
}
