/*
 * stats.c - OP_STATS: "key=value" lines about the daemon (mpstore stats).
 * Every limit is shown beside what it bounds.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon.h"
#include "persist.h"
#include "session.h"

#define MAX_LINES 64

typedef struct lines {
	char   v[MAX_LINES][96];
	size_t n;
} lines;

static void add(lines *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(lines *l, const char *fmt, ...)
{
	if (l->n == MAX_LINES)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->v[l->n++], sizeof(l->v[0]), fmt, ap);
	va_end(ap);
}

void mpsd_stats(mpsd_daemon *d, mpsd_exec *x)
{
	static lines l;
	struct rusage ru;
	mpsd_commit_stats cs;
	mpsd_net_stats    ns;
	const char       *why = NULL;
	getrusage(RUSAGE_SELF, &ru);
	mpsd_commit_stats_get(d->commit, &cs);
	mpsd_net_stats_get(d->net, &ns);
	l.n = 0;
	add(&l, "pid=%ld", (long)getpid());
	add(&l, "uptime_ms=%lld", (long long)(mpsd_now_ms() - d->started_ms));
	add(&l, "revision=%llu", (unsigned long long)mpsd_store_revision(d->st));
	add(&l, "containers=%zu", mpsd_store_count(d->st));
	add(&l, "waiters=%zu", mpsd_store_nwaiters(d->st));
	add(&l, "parked=%zu", d->parked);
	add(&l, "max_parked=%zu", d->cfg.max_parked);
	add(&l, "max_parked_per_client=%zu", d->cfg.max_parked_per_client);
	add(&l, "sessions=%zu", mpsd_sessions_count(d->sess));
	add(&l, "durability=%s", mpsp_durability_name((mpsp_durability)d->cfg.commit.durability));
	add(&l, "committed_changes=%llu", (unsigned long long)cs.committed_changes);
	add(&l, "commit_batches=%llu", (unsigned long long)cs.batches);
	add(&l, "wal_syncs=%llu", (unsigned long long)cs.wal_syncs);
	add(&l, "snapshot_revision=%llu", (unsigned long long)cs.snapshot_rev);
	add(&l, "history_changes=%zu", cs.history_changes);
	add(&l, "history_bytes=%zu", cs.history_bytes);
	add(&l, "readonly=%d", mpsd_commit_readonly(d->commit, &why));
	add(&l, "requests=%llu", (unsigned long long)d->requests);
	add(&l, "clients=%zu", ns.clients);
	add(&l, "max_clients=%zu", ns.clients_max);
	add(&l, "clients_total=%llu", (unsigned long long)ns.clients_total);
	add(&l, "clients_refused=%llu", (unsigned long long)ns.clients_refused);
	add(&l, "clients_dropped=%llu", (unsigned long long)ns.clients_dropped);
	add(&l, "client_buffer=%zu", ns.client_buffer);
	add(&l, "client_buffer_peak=%zu", ns.client_buffer_peak);
	add(&l, "max_client_buffer=%zu", d->cfg.net.max_client_buffer);
	add(&l, "bad_frames=%llu", (unsigned long long)ns.bad_frames);
	add(&l, "subscribers=%zu", ns.subscribers);
	add(&l, "max_subscribers=%zu", d->cfg.net.max_subscribers);
	add(&l, "subscriber_buffer=%zu", ns.subscriber_buffer);
	add(&l, "max_subscriber_buffer=%zu", d->cfg.net.max_subscriber_buffer);
	add(&l, "pub_messages=%llu", (unsigned long long)ns.pub_messages);
	add(&l, "pub_dropped=%llu", (unsigned long long)ns.pub_dropped);
	add(&l, "subscribers_dropped=%llu", (unsigned long long)ns.subscribers_dropped);
	add(&l, "max_message=%zu", d->cfg.net.max_msg);
	/* the store's limits (0: none) and what they count */
	const mpsd_limits *lim = mpsd_store_limits(d->st);
	size_t             hist_bytes = mpsd_commit_history_bytes(d->commit);
	add(&l, "used_memory=%zu", mpsd_store_memory(d->st) + hist_bytes);
	add(&l, "store_memory=%zu", mpsd_store_memory(d->st));
	add(&l, "history_memory=%zu", hist_bytes);
	add(&l, "max_memory=%llu", (unsigned long long)lim->max_memory);
	add(&l, "max_containers=%llu", (unsigned long long)lim->max_containers);
	add(&l, "max_elements=%llu", (unsigned long long)lim->max_elements);
	add(&l, "resend_cache_bytes=%zu", mpsd_sessions_cache_bytes(d->sess));
	add(&l, "max_rss_kb=%ld", ru.ru_maxrss);
	add(&l, "cpu_user_ms=%ld", (long)(ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000));
	add(&l, "cpu_sys_ms=%ld", (long)(ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000));
	add(&l, "ctx_switches_voluntary=%ld", ru.ru_nvcsw);
	add(&l, "ctx_switches_involuntary=%ld", ru.ru_nivcsw);
	x->res->values = mpsd_exec_vals(x, l.n);
	if (x->res->values == NULL)
		return;
	for (size_t i = 0; i < l.n; i++) {
		Mpstore__Value *v = mpsd_exec_alloc(x, sizeof(*v));
		if (v == NULL)
			return;
		mpstore__value__init(v);
		v->v_case = MPSTORE__VALUE__V_STRING_VALUE;
		v->string_value = mpsd_arena_memdup(x->arena, l.v[i], strlen(l.v[i]));
		x->res->values[i] = v;
		x->res->n_values = i + 1;
	}
	x->res->revision = mpsd_store_revision(d->st);
}
