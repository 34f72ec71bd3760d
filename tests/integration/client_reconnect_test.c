/*
 * Reconnect and re-send (sp_req.c): 8 threads on one handle append
 * unique values and add to a counter without pause, synchronously and in
 * asynchronous batches, while their connection is lost:
 *  1. cut: the handle talks to the daemon through a relay in this test,
 *     which drops every connection, five times, with requests in flight.
 *     Every call completes (the library reconnects and re-sends what was
 *     waiting, byte for byte) and every mutation is applied exactly once:
 *     the daemon answers a re-sent write from its answer cache.
 *  2. kill: the daemon (durability log) is killed with SIGKILL and
 *     restarted, three times. Every call completes, nothing is lost and
 *     nothing is applied twice: a write committed just before the kill
 *     whose answer was lost is answered, when re-sent, from the answer the
 *     daemon kept with it in the database (issue 13, "applied once, across
 *     restarts").
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client_test_util.h"
#include "support.h"

#define THREADS 8
#define KILLS   3

static mpst_daemon d;
static mps_client *c;
static volatile int stop;
static int         done_adds[THREADS], done_appends[THREADS];

static void stop_daemon(void) { mpst_daemon_cleanup(&d); }

/* ---- a relay between the handle and the daemon, whose connections the
 * test can cut ---- */

#define MAXPAIRS 64

static int             relay_lfd = -1;
static int             pairs[MAXPAIRS][2]; /* client side, daemon side; -1: free */
static pthread_mutex_t relay_mtx = PTHREAD_MUTEX_INITIALIZER;
static volatile int    relay_stop;
static char            relay_url[300];

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void *relay_main(void *arg)
{
	(void)arg;
	while (!relay_stop) {
		struct pollfd p[1 + 2 * MAXPAIRS];
		int           idx[1 + 2 * MAXPAIRS], n = 0;
		p[n++] = (struct pollfd){relay_lfd, POLLIN, 0};
		pthread_mutex_lock(&relay_mtx);
		for (int i = 0; i < MAXPAIRS; i++)
			for (int s = 0; s < 2 && pairs[i][0] >= 0; s++) {
				idx[n] = i * 2 + s;
				p[n++] = (struct pollfd){pairs[i][s], POLLIN, 0};
			}
		pthread_mutex_unlock(&relay_mtx);
		if (poll(p, (nfds_t)n, 20) <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			int cfd = accept(relay_lfd, NULL, NULL);
			int dfd = cfd >= 0 ? unix_connect(d.url + 6) : -1;
			pthread_mutex_lock(&relay_mtx);
			for (int i = 0; i < MAXPAIRS && dfd >= 0; i++)
				if (pairs[i][0] < 0) {
					pairs[i][0] = cfd, pairs[i][1] = dfd, cfd = dfd = -1;
					break;
				}
			pthread_mutex_unlock(&relay_mtx);
			if (cfd >= 0)
				close(cfd);
			if (dfd >= 0)
				close(dfd);
		}
		for (int k = 1; k < n; k++) {
			if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			int     i = idx[k] / 2, s = idx[k] % 2;
			char    buf[65536];
			ssize_t r = read(p[k].fd, buf, sizeof(buf));
			pthread_mutex_lock(&relay_mtx);
			int ok = pairs[i][s] == p[k].fd && r > 0;
			for (ssize_t off = 0; ok && off < r;) {
				ssize_t w = write(pairs[i][1 - s], buf + off, (size_t)(r - off));
				if (w <= 0 && errno != EINTR)
					ok = 0;
				else if (w > 0)
					off += w;
			}
			if (!ok && pairs[i][s] == p[k].fd) {
				close(pairs[i][0]);
				close(pairs[i][1]);
				pairs[i][0] = pairs[i][1] = -1;
			}
			pthread_mutex_unlock(&relay_mtx);
		}
	}
	return NULL;
}

/* Drop every relayed connection, both ways. */
static void relay_cut(void)
{
	pthread_mutex_lock(&relay_mtx);
	for (int i = 0; i < MAXPAIRS; i++)
		if (pairs[i][0] >= 0) {
			close(pairs[i][0]);
			close(pairs[i][1]);
			pairs[i][0] = pairs[i][1] = -1;
		}
	pthread_mutex_unlock(&relay_mtx);
}

static void relay_start(pthread_t *th)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(relay_url, sizeof(relay_url), "ipc://%.200s/relay.ipc", d.dir);
	CT_TRUE(strlen(relay_url + 6) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, relay_url + 6, strlen(relay_url + 6));
	for (int i = 0; i < MAXPAIRS; i++)
		pairs[i][0] = pairs[i][1] = -1;
	relay_lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CT_TRUE(relay_lfd >= 0 && bind(relay_lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	        listen(relay_lfd, 16) == 0);
	CT_TRUE(pthread_create(th, NULL, relay_main, NULL) == 0);
}


static void *writer(void *arg)
{
	int t = (int)(intptr_t)arg;
	for (int i = 0; !stop; i++) {
		mps_value v = mps_int(t * 1000000 + i);
		if (t % 2 == 0) {
			CT_OK(mps_list_append(c, "r.list", &v, NULL));
			CT_OK(mps_counter_add(c, "r.ctr", 1, NULL));
			done_appends[t]++;
			done_adds[t]++;
		} else {
			/* the same through the asynchronous path */
			mps_batch *b;
			mps_op     ops[2] = {{.code = MPS_OP_LIST_APPEND, .name = "r.list", .value = v},
			        {.code = MPS_OP_VALUE_ADD, .name = "r.ctr", .value = mps_int(1)}};
			mps_result r;
			CT_OK(mps_batch_alloc(c, &b));
			CT_OK(mps_batch_append(b, &ops[0]));
			CT_OK(mps_batch_append(b, &ops[1]));
			CT_OK(mps_batch_submit(b, NULL, NULL));
			mps_batch_wait(b);
			CT_TRUE(mps_batch_nresults(b) == 2);
			CT_OK(mps_batch_result(b, 0, &r));
			CT_OK(r.status);
			CT_OK(mps_batch_result(b, 1, &r));
			CT_OK(r.status);
			mps_batch_free(b);
			done_appends[t]++;
			done_adds[t]++;
		}
	}
	return NULL;
}

static int total(const int *a)
{
	int n = 0;
	for (int t = 0; t < THREADS; t++)
		n += a[t];
	return n;
}

/* Run the writers while disrupt() breaks their connection, then check
 * the list and counter: nothing lost; returns how many writes were
 * applied more than once (extra list copies, or extra adds). */
static int run(void (*disrupt)(int k), int times)
{
	stop = 0;
	memset(done_adds, 0, sizeof(done_adds));
	memset(done_appends, 0, sizeof(done_appends));
	mps_delete(c, "r.list");
	mps_delete(c, "r.ctr");
	CT_OK(mps_create_simple(c, "r.list", MPS_KIND_LIST, MPS_TYPE_INT64));
	CT_OK(mps_create_simple(c, "r.ctr", MPS_KIND_VALUE, MPS_TYPE_INT64));
	pthread_t th[THREADS];
	for (int t = 0; t < THREADS; t++)
		CT_TRUE(pthread_create(&th[t], NULL, writer, (void *)(intptr_t)t) == 0);
	for (int k = 0; k <= times; k++) {
		int before = total(done_adds);
		while (total(done_adds) < before + 200) /* requests are in flight */
			mpst_sleep_ms(5);
		if (k < times)
			disrupt(k);
	}
	stop = 1;
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);

	int64_t n = 0;
	CT_OK(mps_counter_get(c, "r.ctr", &n));
	CT_TRUE(n >= total(done_adds));
	mps_value *vals;
	size_t     nv;
	CT_OK(mps_list_slice(c, "r.list", 0, 0, 0, &vals, &nv));
	CT_TRUE(nv >= (size_t)total(done_appends));
	int extra = 0;
	for (int t = 0; t < THREADS; t++) {
		char *seen = calloc((size_t)done_appends[t] + 1, 1);
		CT_TRUE(seen != NULL);
		for (size_t i = 0; i < nv; i++) {
			int64_t x = vals[i].u.i;
			if (x / 1000000 == t) {
				CT_TRUE(x % 1000000 < done_appends[t]);
				extra += seen[x % 1000000]++ > 0;
			}
		}
		for (int i = 0; i < done_appends[t]; i++)
			CT_TRUE(seen[i] > 0); /* none lost */
		free(seen);
	}
	mps_values_free(vals, nv);
	fprintf(stderr, "adds %d, counter %" PRId64 ", appends %d, extra copies %d\n",
	    total(done_adds), n, total(done_appends), extra);
	return extra > n - total(done_adds) ? extra : (int)(n - total(done_adds));
}

static void cut(int k)
{
	(void)k;
	relay_cut();
}

static void kill_restart(int k)
{
	CT_TRUE(mpst_daemon_kill(&d, SIGKILL) == 128 + SIGKILL);
	mpst_sleep_ms(100 + 100 * k);
	CT_TRUE(mpst_daemon_restart(&d) == 0);
}

int main(void)
{
	ct_on_fail = stop_daemon;
	CT_TRUE(mpst_daemon_start(&d, (const char *const[]){"--durability", "log", NULL}) == 0);

	pthread_t relay;
	relay_start(&relay);
	CT_OK(mps_open(&c, relay_url, 30000));
	CT_TRUE(run(cut, 5) == 0); /* exactly once */
	mps_close(c);
	relay_stop = 1;
	pthread_join(relay, NULL);
	relay_cut();
	close(relay_lfd);

	CT_OK(mps_open(&c, d.url, 30000)); /* room for the restarts */
	CT_TRUE(run(kill_restart, KILLS) == 0); /* exactly once, across kill -9 */
	mps_close(c);
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	mpst_daemon_cleanup(&d);
	printf("ok\n");
	return 0;
}
