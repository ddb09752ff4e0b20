/* pintest — a process with named threads for the system test.
 *
 *   pintest [-s SECONDS] [-c COMM] NAME...
 *
 * Starts one thread per NAME, names it with pthread_setname_np (what pinnerd's
 * `threads =` globs match, /proc/PID/task/TID/comm), prints "NAME TID" per thread
 * once all are named, then sleeps SECONDS (default 600, so a forgotten one goes
 * away) and exits 0. -c renames the process itself (/proc/PID/comm) first.
 * Built by run.sh on the host and run in the guest (same Debian release). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_THREADS 64

struct worker {
	const char *name;
	pid_t tid;
	pthread_t thread;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t named = PTHREAD_COND_INITIALIZER;
static int n_named;
static unsigned lifetime = 600;

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int r;

	r = pthread_setname_np(pthread_self(), w->name);
	if (r != 0)
		fprintf(stderr, "pintest: pthread_setname_np(%s): %s\n", w->name, strerror(r));
	pthread_mutex_lock(&lock);
	w->tid = (pid_t)syscall(SYS_gettid);
	n_named++;
	pthread_cond_signal(&named);
	pthread_mutex_unlock(&lock);
	sleep(lifetime);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	int opt, n, i;

	while ((opt = getopt(argc, argv, "s:c:")) != -1) {
		switch (opt) {
		case 's':
			lifetime = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			if (prctl(PR_SET_NAME, optarg) < 0) {
				perror("pintest: prctl(PR_SET_NAME)");
				return 1;
			}
			break;
		default:
			fprintf(stderr, "usage: pintest [-s SECONDS] [-c COMM] NAME...\n");
			return 2;
		}
	}
	n = argc - optind;
	if (n > MAX_THREADS) {
		fprintf(stderr, "pintest: at most %d threads\n", MAX_THREADS);
		return 2;
	}
	for (i = 0; i < n; i++) {
		int r;

		workers[i].name = argv[optind + i];
		r = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
		if (r != 0) {
			fprintf(stderr, "pintest: pthread_create: %s\n", strerror(r));
			return 1;
		}
	}
	pthread_mutex_lock(&lock);
	while (n_named < n)
		pthread_cond_wait(&named, &lock);
	pthread_mutex_unlock(&lock);
	for (i = 0; i < n; i++)
		printf("%s %d\n", workers[i].name, (int)workers[i].tid);
	fflush(stdout);
	sleep(lifetime);
	return 0;
}
