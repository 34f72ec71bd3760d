/* sync_death_test.c - holder death (docs/sync.md "Sessions and holder
 * death").
 *
 *  - SIGKILL: a child holds a lock, an rlock at depth 3, 2 of the 3 units of
 *    a bounded semaphore and a condition's lock, and is killed; waiters
 *    parked before the kill get them within a second (an ipc connection's
 *    close is seen at once), the semaphore is back to its initial value, and
 *    every fencing token is higher than the dead holder's. Three rounds, so
 *    tokens are seen to grow across grants.
 *  - lease: with the daemon started with --lease 1, a child holding a lock
 *    and a semaphore unit is stopped with SIGSTOP (its connection stays open
 *    but it stops pinging): its grants are released once the lease runs out
 *    (about 1 s, at most ~1.5 s plus the reaper's 200 ms), not before ~0.6 s.
 *    Continued with SIGCONT, the paused holder finds it no longer owns the
 *    lock (ERR_NOT_OWNER), and its token is below the new holder's.
 *  - a waiter that dies while parked is forgotten: the lock goes to the
 *    next live waiter. */
#include "sync_common.h"

#define LEASE_MS 1000

enum { T_HELD = 1, T_AFTER };

/* The holder: takes everything, reports its tokens, then waits for a byte
 * on the go pipe... it is killed or stopped instead. After a SIGCONT it
 * tries to release (arg != NULL: lease scenario). */
static volatile sig_atomic_t continued;
static void
on_cont(int sig)
{
	(void)sig;
	continued = 1;
}

static void *
parked_get(void *arg)
{
	mps_value v;
	(void)mps_queue_get(arg, "d.q", -1, &v); /* parks for ever */
	return NULL;
}

static int
holder(int id, mps_client *c, void *arg)
{
	uint64_t tl = 0, tr = 0, tc = 0;
	int64_t  depth = 0, sv = 0;
	mps_err  e;
	if ((e = mps_lock_acquire(c, "d.lock", 5000, &tl)) != MPS_OK ||
	    (e = mps_sem_acquire(c, "d.sem", 5000, &sv)) != MPS_OK)
		goto fail;
	if (arg == NULL) {
		if ((e = mps_sem_acquire(c, "d.sem", 5000, &sv)) != MPS_OK)
			goto fail;
		for (int i = 0; i < 3; i++)
			if ((e = mps_rlock_acquire(c, "d.rlock", 5000, &tr, &depth)) != MPS_OK)
				goto fail;
		if ((e = mps_cond_acquire(c, "d.cond", 5000, &tc)) != MPS_OK)
			goto fail;
	}
	pthread_t th;
	int       park = arg != NULL && strcmp(arg, "lease+park") == 0;
	if (park && pthread_create(&th, NULL, parked_get, c) != 0)
		return 1;
	sync_report(id, T_HELD, (int64_t)tl, (int64_t)tr, (int64_t)tc);
	if (arg == NULL) {
		for (;;)
			pause(); /* SIGKILL */
	}
	signal(SIGCONT, on_cont);
	while (!continued) /* SIGSTOP, then SIGCONT (handled by any thread) */
		mpst_sleep_ms(5);
	mpst_sleep_ms(100);
	e = mps_lock_release(c, "d.lock");
	sync_report(id, T_AFTER, e, 0, 0);
	if (park)
		_exit(0); /* a thread is still inside mps_queue_get */
	return 0;
fail:
	fprintf(stderr, "holder %d: %s %s\n", id, mps_err_name(e), mps_last_error());
	return 1;
}

typedef struct waiter {
	mps_client *c;
	const char *name;
	int         sem; /* semaphore: acquire 3 units */
	mps_err     e;
	uint64_t    token;
	long long   t_done;
} waiter;

static void *
wait_thread(void *arg)
{
	waiter *w = arg;
	if (w->sem) {
		for (int i = 0; i < 3 && w->e == MPS_OK; i++)
			w->e = mps_sem_acquire(w->c, w->name, 5000, NULL);
	} else {
		w->e = mps_lock_acquire(w->c, w->name, 5000, &w->token);
	}
	w->t_done = mpst_now_ms();
	return NULL;
}

static void
scenario_sigkill(void)
{
	enum { ROUNDS = 3 };
	sync_workers w;
	sync_spawn(&w, ROUNDS, holder, NULL, 1);
	mps_client *c = sync_open();
	sync_create(c, "d.lock", MPS_KIND_LOCK, MPS_TYPE_ANY, 0);
	sync_create(c, "d.rlock", MPS_KIND_RLOCK, MPS_TYPE_ANY, 0);
	sync_create(c, "d.cond", MPS_KIND_CONDITION, MPS_TYPE_ANY, 0);
	sync_create(c, "d.sem", MPS_KIND_BOUNDED_SEMAPHORE, MPS_TYPE_ANY, 3);
	uint64_t last_token = 0;
	for (int round = 0; round < ROUNDS; round++) {
		sync_rec r;
		sync_go(&w, round);
		ST_TRUE(sync_recv(&w, &r, 10000) == 0 && r.tag == T_HELD, "round %d: holder", round);
		ST_TRUE((uint64_t)r.a > last_token && (uint64_t)r.b > (uint64_t)r.a &&
		        (uint64_t)r.c > (uint64_t)r.b,
		    "round %d: holder's tokens %lld %lld %lld after %llu", round, (long long)r.a,
		    (long long)r.b, (long long)r.c, (unsigned long long)last_token);
		uint64_t dead_max = (uint64_t)r.c;
		int64_t  sv;
		CT_OK(mps_sem_value(c, "d.sem", &sv));
		ST_TRUE(sv == 1, "semaphore value with the holder alive: %lld", (long long)sv);

		/* waiters, each its own session, parked before the kill */
		waiter    ws[4] = {{.name = "d.lock"}, {.name = "d.rlock"}, {.name = "d.cond"},
                    {.name = "d.sem", .sem = 1}};
		pthread_t th[4];
		for (int i = 0; i < 4; i++) {
			ws[i].c = sync_open();
			CT_TRUE(pthread_create(&th[i], NULL, wait_thread, &ws[i]) == 0);
		}
		long long n = sync_stat_wait(c, "waiters", 4, 5000);
		ST_TRUE(n == 4, "round %d: waiters %lld", round, n);
		long long t_kill = mpst_now_ms();
		kill(w.pid[round], SIGKILL);
		for (int i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			ST_TRUE(ws[i].e == MPS_OK, "round %d: %s: %s", round, ws[i].name,
			    mps_err_name(ws[i].e));
			long long ms = ws[i].t_done - t_kill;
			ST_TRUE(ms <= 1000, "round %d: %s granted %lld ms after the kill", round,
			    ws[i].name, ms);
			if (!ws[i].sem) {
				ST_TRUE(ws[i].token > dead_max, "round %d: %s token %llu <= %llu", round,
				    ws[i].name, (unsigned long long)ws[i].token,
				    (unsigned long long)dead_max);
				if (ws[i].token > last_token)
					last_token = ws[i].token;
			}
		}
		ST_TRUE(sync_wait_one(&w, round) == 128 + SIGKILL, "holder's exit");
		/* the dead holder's 2 units came back: the waiter took all 3 */
		CT_OK(mps_sem_value(c, "d.sem", &sv));
		ST_TRUE(sv == 0, "semaphore value %lld", (long long)sv);
		for (int i = 0; i < 4; i++)
			mps_close(ws[i].c); /* their grants go with their sessions */
		/* wait until the closes are seen */
		long long end = mpst_now_ms() + 5000;
		int       locked = 1;
		while (mpst_now_ms() < end) {
			int l1, l2, l3;
			CT_OK(mps_lock_locked(c, "d.lock", &l1, NULL));
			CT_OK(mps_lock_locked(c, "d.rlock", &l2, NULL));
			CT_OK(mps_lock_locked(c, "d.cond", &l3, NULL));
			CT_OK(mps_sem_value(c, "d.sem", &sv));
			locked = l1 || l2 || l3 || sv != 3;
			if (!locked)
				break;
			mpst_sleep_ms(10);
		}
		ST_TRUE(!locked, "round %d: closed waiters' grants not released", round);
	}
	sync_wait_all(&w);
	mps_close(c);
}

static void
scenario_dead_waiter(void)
{
	/* worker 0 holds the lock (SIGKILL later), worker 1 parks an acquire
	 * and is killed while parked; the runner's parked acquire must get the
	 * lock when worker 0 dies. */
	sync_workers w;
	sync_spawn(&w, 2, holder, NULL, 1);
	mps_client *c = sync_open();
	sync_create(c, "d.lock", MPS_KIND_LOCK, MPS_TYPE_ANY, 0);
	sync_create(c, "d.rlock", MPS_KIND_RLOCK, MPS_TYPE_ANY, 0);
	sync_create(c, "d.cond", MPS_KIND_CONDITION, MPS_TYPE_ANY, 0);
	sync_create(c, "d.sem", MPS_KIND_BOUNDED_SEMAPHORE, MPS_TYPE_ANY, 3);
	sync_rec r;
	sync_go(&w, 0);
	ST_TRUE(sync_recv(&w, &r, 10000) == 0 && r.tag == T_HELD, "holder");
	sync_go(&w, 1); /* parks on d.lock */
	long long n = sync_stat_wait(c, "waiters", 1, 5000);
	ST_TRUE(n == 1, "waiters %lld", n);
	waiter    me = {.name = "d.lock", .c = sync_open()};
	pthread_t th;
	CT_TRUE(pthread_create(&th, NULL, wait_thread, &me) == 0);
	n = sync_stat_wait(c, "waiters", 2, 5000);
	ST_TRUE(n == 2, "waiters %lld", n);
	kill(w.pid[1], SIGKILL);
	sync_wait_one(&w, 1);
	n = sync_stat_wait(c, "waiters", 1, 5000);
	ST_TRUE(n == 1, "dead waiter not forgotten: waiters %lld", n);
	long long t_kill = mpst_now_ms();
	kill(w.pid[0], SIGKILL);
	sync_wait_one(&w, 0);
	pthread_join(th, NULL);
	ST_TRUE(me.e == MPS_OK, "acquire: %s", mps_err_name(me.e));
	ST_TRUE(me.t_done - t_kill <= 1000, "granted %lld ms after the kill", me.t_done - t_kill);
	ST_TRUE(me.token > (uint64_t)r.c, "token %llu", (unsigned long long)me.token);
	mps_close(me.c);
	sync_wait_all(&w);
	mps_close(c);
}

static int lease_park;

static void
scenario_lease(void)
{
	sync_workers w;
	sync_spawn(&w, 1, holder, lease_park ? (void *)"lease+park" : (void *)"lease", 1);
	mps_client *c = sync_open();
	ST_TRUE(mps_server(c)->lease_ms == LEASE_MS, "lease %llu ms",
	    (unsigned long long)mps_server(c)->lease_ms);
	sync_create(c, "d.lock", MPS_KIND_LOCK, MPS_TYPE_ANY, 0);
	sync_create(c, "d.sem", MPS_KIND_SEMAPHORE, MPS_TYPE_ANY, 1);
	sync_create(c, "d.q", MPS_KIND_QUEUE, MPS_TYPE_ANY, 0);
	sync_rec r;
	sync_go(&w, 0);
	ST_TRUE(sync_recv(&w, &r, 10000) == 0 && r.tag == T_HELD, "holder");
	uint64_t old_token = (uint64_t)r.a;
	/* the holder is alive and pinging: its grants outlive several leases */
	mpst_sleep_ms(LEASE_MS * 2);
	int locked;
	CT_OK(mps_lock_locked(c, "d.lock", &locked, NULL));
	ST_TRUE(locked, "lock released while its holder was alive and pinging");

	/* ws[0] parks an acquire of the lock; ws[1] takes the semaphore's unit
	 * once it is back (checked by value below) */
	waiter    ws[2] = {{.name = "d.lock", .c = sync_open()}, {.name = "d.sem", .c = sync_open()}};
	pthread_t th[1];
	CT_TRUE(pthread_create(&th[0], NULL, wait_thread, &ws[0]) == 0);
	long long n = sync_stat_wait(c, "waiters", 1 + lease_park, 5000);
	ST_TRUE(n == 1 + lease_park, "waiters %lld", n);
	long long t_stop = mpst_now_ms();
	kill(w.pid[0], SIGSTOP);
	pthread_join(th[0], NULL);
	long long ms = ws[0].t_done - t_stop;
	ST_TRUE(ws[0].e == MPS_OK, "acquire: %s", mps_err_name(ws[0].e));
	ST_WITHIN(ms, LEASE_MS * 6 / 10, LEASE_MS * 3);
	ST_TRUE(ws[0].token > old_token, "token %llu <= %llu", (unsigned long long)ws[0].token,
	    (unsigned long long)old_token);
	int64_t sv;
	CT_OK(mps_sem_value(c, "d.sem", &sv));
	ST_TRUE(sv == 1, "semaphore unit not given back: value %lld", (long long)sv);
	CT_OK(mps_sem_acquire(ws[1].c, "d.sem", 0, NULL));

	/* the paused holder wakes up: it owns nothing any more */
	kill(w.pid[0], SIGCONT);
	ST_TRUE(sync_recv(&w, &r, 10000) == 0 && r.tag == T_AFTER, "holder after SIGCONT");
	/* its parked get went with its session */
	n = sync_stat(c, "waiters");
	ST_TRUE(n == 0, "waiters after the lease ran out: %lld", n);
	ST_TRUE(r.a == MPS_ERR_NOT_OWNER, "paused holder's release: %s", mps_err_name((int)r.a));
	uint64_t tok;
	CT_OK(mps_lock_locked(c, "d.lock", &locked, &tok));
	ST_TRUE(locked && tok == ws[0].token, "lock: locked %d token %llu", locked,
	    (unsigned long long)tok);
	sync_wait_all(&w);
	fprintf(stderr, "         lease %d ms: lock released %lld ms after SIGSTOP\n", LEASE_MS, ms);
	mps_close(ws[0].c);
	mps_close(ws[1].c);
	mps_close(c);
}

int
main(void)
{
	int fails = 0;
	int reps  = sync_soak() ? 5 : 1;
	sync_start(NULL);
	for (int i = 0; i < reps; i++) {
		fails += sync_scenario("SIGKILL of a holder: lock, rlock, condition, semaphore",
		    scenario_sigkill, 60);
		fails += sync_scenario("a waiter killed while parked is forgotten",
		    scenario_dead_waiter, 60);
	}
	mpst_daemon_cleanup(&sync_d);

	const char *lease[] = {"--lease", "1", NULL};
	sync_start(lease);
	for (int i = 0; i < reps; i++)
	{
		lease_park = 0;
		fails += sync_scenario("lease: SIGSTOPped holder loses its grants", scenario_lease, 60);
		lease_park = 1;
		fails += sync_scenario("lease: SIGSTOPped holder with a parked get loses its grants",
		    scenario_lease, 60);
	}
	mpst_daemon_cleanup(&sync_d);
	return fails == 0 ? 0 : 1;
}
