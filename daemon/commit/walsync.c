/*
 * walsync.c - `--durability log`: the write-ahead log is synced once
 * a second when something was committed, by a thread of its own.
 *
 * A `log` commit writes the WAL into the page cache and replies (a crash
 * of the process loses nothing); without this only SQLite's checkpoints
 * synced the file, so a power loss could take everything since the last
 * checkpoint, however old. Now it takes at most the writes acknowledged in
 * the last second or so (plus the sync's own duration), as Redis's
 * `appendfsync everysec` (the period is one second plus the sync's own
 * duration, which a slow disk stretches). The sync runs beside the commit thread (it uses
 * no SQLite connection: mpsp_wal_sync), so a slow disk never holds up
 * commits. A failed sync turns the daemon read-only, as a failed write does.
 */
#include <time.h>

#include "commit_int.h"

static void *walsync_main(void *arg)
{
	mpsd_commit *cm = arg;
	uint64_t     synced = 0; /* commit batches covered by the last sync */
	int          failed = 0;
	pthread_mutex_lock(&cm->wmtx);
	while (!cm->wstop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&cm->wcond, &cm->wmtx, &ts);
		if (cm->wstop)
			break;
		pthread_mutex_unlock(&cm->wmtx);
		/* after a failed write (read-only) the writes acknowledged before
		 * it still get their sync; after a failed sync, nothing more */
		uint64_t b = __atomic_load_n(&cm->batches, __ATOMIC_ACQUIRE);
		if (b != synced && !failed) {
			char err[512];
			int64_t t0 = mpsd_hist_now_ns();
			if (mpsp_wal_sync(cm->db, err, sizeof(err)) == 0) {
				__atomic_add_fetch(&cm->wal_sync_ns, (uint64_t)(mpsd_hist_now_ns() - t0),
				    __ATOMIC_RELAXED);
				synced = b;
				__atomic_add_fetch(&cm->wal_syncs, 1, __ATOMIC_RELAXED);
			} else {
				failed = 1;
				commit_go_readonly(cm, err);
			}
		}
		pthread_mutex_lock(&cm->wmtx);
	}
	pthread_mutex_unlock(&cm->wmtx);
	return NULL;
}

int walsync_start(mpsd_commit *cm)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* wall-clock steps do not delay syncs */
	pthread_mutex_init(&cm->wmtx, NULL);
	pthread_cond_init(&cm->wcond, &ca);
	pthread_condattr_destroy(&ca);
	if (cm->cfg.durability != MPSD_DUR_LOG || cm->db == NULL)
		return 0;
	if (pthread_create(&cm->wthr, NULL, walsync_main, cm) != 0)
		return -1;
	cm->wstarted = 1;
	return 0;
}

void walsync_stop(mpsd_commit *cm)
{
	if (cm->wstarted) {
		pthread_mutex_lock(&cm->wmtx);
		cm->wstop = 1;
		pthread_cond_signal(&cm->wcond);
		pthread_mutex_unlock(&cm->wmtx);
		pthread_join(cm->wthr, NULL);
		cm->wstarted = 0;
	}
}
