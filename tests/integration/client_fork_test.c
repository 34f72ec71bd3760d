/*
 * A handle (and a pull watch) used across fork() (issue 12): the parent
 * opens them and uses them, then forks 10 children, one of which forks a
 * grandchild, and they all use the inherited handle.
 *  - every op succeeds in every child and grandchild, each with a session
 *    of its own (a client id other than its parent's);
 *  - the parent's handle works meanwhile and after (its connection was
 *    never touched), and its watch sees every child's change;
 *  - an inherited pull watch works in a child (it subscribes anew);
 *  - a lock a child takes is the child's: the parent can neither release
 *    it nor take it while the child lives, and takes it once the child
 *    exits (the child's own connection closed).
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client_test_util.h"
#include "support.h"

#define CHILDREN 10
#define ADDS     20 /* counter increments per process */

static mpst_daemon d;
static mps_client *c;
static mps_watcher *w;

static void stop_daemon(void) { mpst_daemon_cleanup(&d); }

/* The work of a child (or grandchild) on the inherited handle. */
static void child_ops(int id, uint64_t parent_id)
{
	for (int i = 0; i < ADDS; i++)
		CT_OK(mps_counter_add(c, "f.ctr", 1, NULL));
	CT_TRUE(mps_server(c)->client_id != parent_id); /* a session of its own */
	mps_value v = mps_int(id), k, got;
	char      key[32];
	snprintf(key, sizeof(key), "k%d", id);
	k = mps_str(key);
	CT_OK(mps_list_append(c, "f.list", &v, NULL));
	CT_OK(mps_dict_set(c, "f.dict", &k, &v));
	CT_OK(mps_dict_get(c, "f.dict", &k, &got));
	CT_TRUE(got.type == MPS_INT && got.u.i == id);
	mps_value_free(&got);
	/* a blocking op and a lock of its own */
	CT_OK(mps_queue_put(c, "f.q", &v, 0, NULL));
	CT_OK(mps_queue_get(c, "f.q", 5000, &got));
	mps_value_free(&got);
	char lock[32];
	snprintf(lock, sizeof(lock), "f.lock%d", id);
	CT_OK(mps_create_simple(c, lock, MPS_KIND_LOCK, MPS_TYPE_ANY));
	CT_OK(mps_lock_acquire(c, lock, 5000, NULL));
	CT_OK(mps_lock_release(c, lock));
}

/* Child 1: the inherited pull watch works here too: it sees the child's
 * own append (the parent's subscription is not shared). */
static void child_watch(int id)
{
	mps_value v = mps_int(1000 + id);
	CT_OK(mps_list_append(c, "f.list", &v, NULL));
	long long until = mpst_now_ms() + 20000;
	for (;;) {
		const mps_watch_event *ev;
		CT_TRUE(mpst_now_ms() < until);
		mps_err e = mps_watch_next(w, &ev, 500);
		if (e == MPS_ERR_TIMEOUT)
			continue;
		CT_OK(e);
		if (ev->type == MPS_WATCH_CHANGE && strcmp(ev->name, "f.list") == 0 &&
		    ev->nvalues == 1 && ev->values[0].type == MPS_INT && ev->values[0].u.i == 1000 + id)
			break;
	}
}

static void run_child(int id, uint64_t parent_id)
{
	ct_on_fail = NULL; /* the daemon is the first process's to stop */
	child_ops(id, parent_id);
	if (id == 1) {
		child_watch(id);
		/* release it before the handle: a subscriber that leaves just as
		 * its session's end is published makes nng 1.5.2's PUB (in the
		 * daemon) leak that message, which LeakSanitizer reports */
		mps_unwatch(w);
	}
	if (id == 0) {
		/* a grandchild, on the handle inherited twice */
		uint64_t mine = mps_server(c)->client_id;
		fflush(NULL);
		pid_t g = fork();
		CT_TRUE(g >= 0);
		if (g == 0) {
			child_ops(100, mine);
			_exit(0);
		}
		int st;
		CT_TRUE(waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0);
		CT_OK(mps_counter_add(c, "f.ctr", 0, NULL)); /* still the child's own */
	}
	mps_close(c);
	_exit(0);
}

/* A child takes a lock and holds it until told to exit (without release). */
static pid_t lock_holder(int *tell)
{
	int up[2], down[2];
	CT_TRUE(pipe(up) == 0 && pipe(down) == 0);
	fflush(NULL);
	pid_t pid = fork();
	CT_TRUE(pid >= 0);
	if (pid == 0) {
		ct_on_fail = NULL;
		close(up[0]);
		close(down[1]);
		CT_OK(mps_lock_acquire(c, "f.lock", 5000, NULL));
		CT_TRUE(write(up[1], "x", 1) == 1);
		char ch;
		(void)!read(down[0], &ch, 1);
		_exit(0); /* with the lock: the daemon frees it when we are gone */
	}
	close(up[1]);
	close(down[0]);
	char ch;
	struct pollfd p = {up[0], POLLIN, 0};
	CT_TRUE(poll(&p, 1, 20000) == 1 && read(up[0], &ch, 1) == 1);
	close(up[0]);
	*tell = down[1];
	return pid;
}

int main(void)
{
	ct_on_fail = stop_daemon;
	CT_TRUE(mpst_daemon_start(&d, NULL) == 0);
	CT_OK(mps_open(&c, d.url, 10000));
	uint64_t me = mps_server(c)->client_id;
	CT_OK(mps_create_simple(c, "f.ctr", MPS_KIND_VALUE, MPS_TYPE_INT64));
	CT_OK(mps_create_simple(c, "f.list", MPS_KIND_LIST, MPS_TYPE_INT64));
	CT_OK(mps_create_simple(c, "f.dict", MPS_KIND_DICT, MPS_TYPE_ANY));
	CT_OK(mps_create_simple(c, "f.q", MPS_KIND_QUEUE, MPS_TYPE_ANY));
	CT_OK(mps_create_simple(c, "f.lock", MPS_KIND_LOCK, MPS_TYPE_ANY));
	mps_watch_opts wo = {0};
	CT_OK(mps_watch(c, "f.list", &wo, &w));
	CT_OK(mps_counter_add(c, "f.ctr", 1, NULL)); /* the parent has used it all */

	pid_t kids[CHILDREN];
	for (int i = 0; i < CHILDREN; i++) {
		fflush(NULL);
		kids[i] = fork();
		CT_TRUE(kids[i] >= 0);
		if (kids[i] == 0)
			run_child(i, me);
		/* the parent's handle works while the children run */
		CT_OK(mps_counter_add(c, "f.ctr", 1, NULL));
	}
	for (int i = 0; i < CHILDREN; i++) {
		int st;
		CT_TRUE(waitpid(kids[i], &st, 0) == kids[i]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fprintf(stderr, "child %d: status %d\n", i, st);
		CT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	CT_TRUE(mps_server(c)->client_id == me);

	/* every increment once: 1 + CHILDREN by the parent, ADDS by each of
	 * CHILDREN + 1 (grandchild) processes */
	int64_t n = 0;
	CT_OK(mps_counter_get(c, "f.ctr", &n));
	CT_TRUE(n == 1 + CHILDREN + ADDS * (CHILDREN + 1));

	/* the parent's watch saw every append of the children */
	int seen[CHILDREN + 1] = {0}, extra = 0, want = CHILDREN + 2; /* + grandchild, child 1's 2nd */
	long long until = mpst_now_ms() + 30000;
	while (want > 0) {
		const mps_watch_event *ev;
		CT_TRUE(mpst_now_ms() < until);
		mps_err e = mps_watch_next(w, &ev, 500);
		if (e == MPS_ERR_TIMEOUT)
			continue;
		CT_OK(e);
		CT_TRUE(ev->type == MPS_WATCH_CHANGE);
		for (size_t i = 0; i < ev->nvalues; i++) {
			int64_t id = ev->values[i].u.i;
			if (id >= 0 && id < CHILDREN && !seen[id])
				seen[id] = 1, want--;
			else if ((id == 100 || id == 1001) && extra < 2)
				extra++, want--;
		}
	}

	/* a lock taken in a child belongs to the child */
	int   tell;
	pid_t holder = lock_holder(&tell);
	int   locked = 0;
	CT_OK(mps_lock_locked(c, "f.lock", &locked, NULL));
	CT_TRUE(locked);
	CT_CHECK(mps_lock_release(c, "f.lock"), MPS_ERR_NOT_OWNER);
	CT_CHECK(mps_lock_acquire(c, "f.lock", 0, NULL), MPS_ERR_TIMEOUT);
	CT_TRUE(write(tell, "x", 1) == 1);
	close(tell);
	int st;
	CT_TRUE(waitpid(holder, &st, 0) == holder && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CT_OK(mps_lock_acquire(c, "f.lock", 20000, NULL)); /* freed with the child */
	CT_OK(mps_lock_release(c, "f.lock"));

	mps_unwatch(w);
	mps_close(c);
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	mpst_daemon_cleanup(&d);
	printf("ok\n");
	return 0;
}
