/*
 * stats.c - OP_STATS: "key=value" lines about the daemon, by sections
 * (`mpstore info [SECTION]`, `mpstore stats`): server, clients, memory,
 * persistence, watch, limits. Result.values holds the lines and
 * Result.keys each line's section, so a client that only wants the lines
 * (`mpstore stats`, tools and tests that parse "key=") reads them as
 * before. Every limit is shown beside what it bounds (limits: the limit,
 * and KEY_used, its use now). With FLAG_CONTAINERS, `containers` lists
 * every container with its memory, largest first.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clients.h"
#include "mpstore/mpstore.h"
#include "operator.h"
#include "persist.h"
#include "req.h"
#include "session.h"

#define MAX_LINES 128

static const char *const sections[] = {"server", "clients", "memory", "persistence", "watch",
	"limits", NULL};

typedef struct lines {
	mpsd_exec  *x;
	const char *want;    /* a section, or NULL for all */
	const char *section; /* of the lines added now */
	size_t      n;
	int         oom;
} lines;

static Mpstore__Value *str_value(mpsd_exec *x, char *s)
{
	Mpstore__Value *v = mpsd_exec_alloc(x, sizeof(*v));
	if (v == NULL || s == NULL)
		return NULL;
	mpstore__value__init(v);
	v->v_case = MPSTORE__VALUE__V_STRING_VALUE;
	v->string_value = s;
	return v;
}

static void add(lines *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(lines *l, const char *fmt, ...)
{
	if (l->n == MAX_LINES || (l->want != NULL && strcmp(l->want, l->section) != 0))
		return;
	char    buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	Mpstore__Result *res = l->x->res;
	res->values[l->n] = str_value(l->x, mpsd_arena_memdup(l->x->arena, buf, strlen(buf)));
	res->keys[l->n] = str_value(l->x, (char *)l->section);
	if (res->values[l->n] == NULL || res->keys[l->n] == NULL) {
		l->oom = 1;
		return;
	}
	l->n++;
}

long mpsd_stats_rss_kb(void)
{
	long  pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static long long file_bytes(const char *path, const char *suffix)
{
	char        p[4200];
	struct stat st;
	snprintf(p, sizeof(p), "%s%s", path, suffix);
	return stat(p, &st) == 0 ? (long long)st.st_size : 0;
}

/* The most parked requests of one connection now. */
static void parked_max_cb(void *arg, mpsd_client *c)
{
	size_t *max = arg;
	if (c->nparked > *max)
		*max = c->nparked;
}

static void server(lines *l, mpsd_daemon *d, const struct rusage *ru)
{
	const char *why = NULL;
	int64_t     up = mpsd_now_ms() - d->started_ms;
	char        listen[512] = "";
	for (int i = 0; i < d->cfg.net.nlisten; i++)
		snprintf(listen + strlen(listen), sizeof(listen) - strlen(listen), "%s%s", i ? "," : "",
		    d->cfg.net.listen[i]);
	l->section = "server";
	add(l, "version=mpstored %s", MPS_VERSION_STRING);
	add(l, "protocol=%d", MPS_PROTOCOL_VERSION);
	add(l, "pid=%ld", (long)getpid());
	add(l, "uptime_ms=%lld", (long long)up);
	add(l, "started=%lld", (long long)time(NULL) - up / 1000);
	add(l, "listen=%s", listen);
	add(l, "pub=%s", d->cfg.net.pub_url != NULL ? d->cfg.net.pub_url : "");
	add(l, "auth=%s", d->cfg.auth_len > 0 ? "key" : "none");
	add(l, "durability=%s", mpsp_durability_name((mpsp_durability)d->cfg.commit.durability));
	add(l, "database=%s", d->cfg.commit.durability == MPSD_DUR_MEMORY ? "" : d->cfg.commit.db_path);
	add(l, "busy_poll_us=%d", d->cfg.net.busy_poll_us);
	add(l, "readonly=%d", mpsd_commit_readonly(d->commit, &why));
	if (why != NULL)
		add(l, "readonly_reason=%s", why);
	add(l, "revision=%llu", (unsigned long long)mpsd_store_revision(d->st));
	add(l, "containers=%zu", mpsd_store_count(d->st));
	add(l, "cpu_user_ms=%ld", (long)(ru->ru_utime.tv_sec * 1000 + ru->ru_utime.tv_usec / 1000));
	add(l, "cpu_sys_ms=%ld", (long)(ru->ru_stime.tv_sec * 1000 + ru->ru_stime.tv_usec / 1000));
	add(l, "ctx_switches_voluntary=%ld", ru->ru_nvcsw);
	add(l, "ctx_switches_involuntary=%ld", ru->ru_nivcsw);
}

static size_t changes_waiting(const mpsd_daemon *d)
{
	size_t n = 0;
	for (const mpsd_req *r = d->chg_waiters; r != NULL; r = r->cw_next)
		n++;
	return n;
}

static void clients_etc(lines *l, mpsd_daemon *d, const mpsd_net_stats *ns, size_t monitors)
{
	l->section = "clients";
	add(l, "clients=%zu", ns->clients);
	add(l, "clients_total=%llu", (unsigned long long)ns->clients_total);
	add(l, "clients_refused=%llu", (unsigned long long)ns->clients_refused);
	add(l, "clients_dropped=%llu", (unsigned long long)ns->clients_dropped);
	add(l, "client_buffer=%zu", ns->client_buffer);
	add(l, "client_buffer_peak=%zu", ns->client_buffer_peak);
	add(l, "bad_frames=%llu", (unsigned long long)ns->bad_frames);
	add(l, "busy_polls=%llu", (unsigned long long)ns->busy_polls);
	add(l, "busy_poll_hits=%llu", (unsigned long long)ns->busy_poll_hits);
	add(l, "sessions=%zu", mpsd_sessions_count(d->sess));
	add(l, "requests=%llu", (unsigned long long)d->requests);
	add(l, "waiters=%zu", mpsd_store_nwaiters(d->st));
	add(l, "parked=%zu", d->parked);
	add(l, "monitors=%zu", monitors);
}

static void memory(lines *l, mpsd_daemon *d, const struct rusage *ru, size_t mon_kept)
{
	l->section = "memory";
	add(l, "rss_kb=%ld", mpsd_stats_rss_kb());
	add(l, "max_rss_kb=%ld", ru->ru_maxrss);
	add(l, "monitor_lines=%zu", mon_kept);
	/* what --max-memory counts: the store's own accounting, kept as it goes */
	size_t hist_bytes = mpsd_commit_history_bytes(d->commit);
	add(l, "used_memory=%zu", mpsd_store_memory(d->st) + hist_bytes);
	add(l, "store_memory=%zu", mpsd_store_memory(d->st));
	add(l, "history_memory=%zu", hist_bytes);
	add(l, "resend_cache_bytes=%zu", mpsd_sessions_cache_bytes(d->sess));
	add(l, "heap_trims=%llu", (unsigned long long)d->heap_trims);
}

static void persistence(lines *l, mpsd_daemon *d, const mpsd_commit_stats *cs)
{
	int has = d->cfg.commit.durability != MPSD_DUR_MEMORY;
	l->section = "persistence";
	add(l, "snapshot_revision=%llu", (unsigned long long)cs->snapshot_rev);
	add(l, "snapshot_time=%lld", (long long)cs->snapshot_time);
	add(l, "committed_changes=%llu", (unsigned long long)cs->committed_changes);
	add(l, "commit_batches=%llu", (unsigned long long)cs->batches);
	add(l, "commit_time_ms=%llu", (unsigned long long)(cs->commit_ns / 1000000));
	add(l, "wal_syncs=%llu", (unsigned long long)cs->wal_syncs);
	add(l, "wal_sync_time_ms=%llu", (unsigned long long)(cs->wal_sync_ns / 1000000));
	add(l, "db_bytes=%lld", has ? file_bytes(d->cfg.commit.db_path, "") : 0);
	add(l, "wal_bytes=%lld", has ? file_bytes(d->cfg.commit.db_path, "-wal") : 0);
}

static void watch(lines *l, mpsd_daemon *d, const mpsd_net_stats *ns, const mpsd_commit_stats *cs)
{
	l->section = "watch";
	add(l, "subscribers=%zu", ns->subscribers);
	add(l, "subscriber_buffer=%zu", ns->subscriber_buffer);
	add(l, "pub_messages=%llu", (unsigned long long)ns->pub_messages);
	add(l, "pub_dropped=%llu", (unsigned long long)ns->pub_dropped);
	add(l, "subscribers_dropped=%llu", (unsigned long long)ns->subscribers_dropped);
	add(l, "history_changes=%zu", cs->history_changes);
	add(l, "history_bytes=%zu", cs->history_bytes);
	add(l, "changes_waiting=%zu", changes_waiting(d));
}

static int longest_cb(void *arg, mpsd_container *c)
{
	Mpstore__ContainerInfo i = MPSTORE__CONTAINER_INFO__INIT;
	mpsd_store_info(c, &i);
	int64_t *max = arg;
	if (i.length > *max)
		*max = i.length;
	return 0;
}

static void limits(lines *l, mpsd_daemon *d, const mpsd_net_stats *ns, size_t monitors)
{
	size_t parked_max = 0;
	l->section = "limits";
	if (l->want != NULL && strcmp(l->want, "limits") != 0)
		return; /* spares the walk over the connections */
	mpsd_clients_foreach(d->clients, parked_max_cb, &parked_max);
	add(l, "max_clients=%zu", ns->clients_max);
	add(l, "max_clients_used=%zu", ns->clients);
	add(l, "max_client_buffer=%zu", d->cfg.net.max_client_buffer);
	add(l, "max_client_buffer_used=%zu", ns->client_buffer_max);
	add(l, "max_subscribers=%zu", d->cfg.net.max_subscribers);
	add(l, "max_subscribers_used=%zu", ns->subscribers);
	add(l, "max_subscriber_buffer=%zu", d->cfg.net.max_subscriber_buffer);
	add(l, "max_subscriber_buffer_used=%zu", ns->subscriber_buffer_max);
	add(l, "max_parked=%zu", d->cfg.max_parked);
	add(l, "max_parked_used=%zu", d->parked);
	add(l, "max_parked_per_client=%zu", d->cfg.max_parked_per_client);
	add(l, "max_parked_per_client_used=%zu", parked_max);
	add(l, "max_message=%zu", d->cfg.net.max_msg);
	add(l, "max_message_used=%zu", d->largest_request);
	add(l, "max_history=%zu", d->cfg.commit.history);
	add(l, "max_monitors=%d", MPSD_MONITORS_MAX);
	add(l, "max_monitors_used=%zu", monitors);
	add(l, "lease_ms=%lld", (long long)d->cfg.lease_ms);
	/* the store's limits (0: none) */
	const mpsd_limits *lim = mpsd_store_limits(d->st);
	add(l, "max_memory=%llu", (unsigned long long)lim->max_memory);
	add(l, "max_memory_used=%zu",
	    mpsd_store_memory(d->st) + mpsd_commit_history_bytes(d->commit));
	add(l, "max_containers=%llu", (unsigned long long)lim->max_containers);
	add(l, "max_containers_used=%zu", mpsd_store_count(d->st));
	add(l, "max_elements=%llu", (unsigned long long)lim->max_elements);
	int64_t longest = 0;
	mpsd_store_foreach(d->st, longest_cb, &longest);
	add(l, "max_elements_used=%lld", (long long)longest); /* the longest container */
}

/* ---- every container's memory ---- */

typedef struct mem_ctx {
	mpsd_exec               *x;
	Mpstore__ContainerInfo **v;
	size_t                   n;
} mem_ctx;

static int mem_visit(void *arg, mpsd_container *c)
{
	mem_ctx                *m = arg;
	Mpstore__ContainerInfo *i = mpsd_exec_alloc(m->x, sizeof(*i));
	if (i == NULL)
		return -1;
	mpsd_store_info(c, i);
	i->name = mpsd_arena_memdup(m->x->arena, c->name, strlen(c->name));
	i->message_type = mpsd_arena_memdup(m->x->arena, c->message_type, strlen(c->message_type));
	i->memory = (int64_t)mpsd_store_container_memory(c);
	if (i->name == NULL || i->message_type == NULL)
		return -1;
	m->v[m->n++] = i;
	return 0;
}

static int by_memory(const void *a, const void *b)
{
	const Mpstore__ContainerInfo *x = *(Mpstore__ContainerInfo *const *)a;
	const Mpstore__ContainerInfo *y = *(Mpstore__ContainerInfo *const *)b;
	if (x->memory != y->memory)
		return x->memory < y->memory ? 1 : -1;
	return strcmp(x->name, y->name);
}

static int containers(mpsd_daemon *d, mpsd_exec *x)
{
	size_t  n = mpsd_store_count(d->st);
	mem_ctx m = {x, mpsd_exec_alloc(x, (n ? n : 1) * sizeof(*m.v)), 0};
	if (m.v == NULL || mpsd_store_foreach(d->st, mem_visit, &m) != 0)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	qsort(m.v, m.n, sizeof(*m.v), by_memory);
	x->res->containers = m.v;
	x->res->n_containers = m.n;
	return 0;
}

/* STATS [name = section] [flags & FLAG_CONTAINERS] -> values, keys (sections)[, containers] */
int mpsd_stats(mpsd_daemon *d, mpsd_exec *x)
{
	const char *want = x->op->name != NULL && x->op->name[0] != '\0' ? x->op->name : NULL;
	if (want != NULL) {
		int known = 0;
		for (int i = 0; sections[i] != NULL; i++)
			known |= strcmp(sections[i], want) == 0;
		if (!known)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID,
			    "no stats section '%s' (server, clients, memory, persistence, watch, limits)",
			    want);
	}
	struct rusage     ru;
	mpsd_commit_stats cs;
	mpsd_net_stats    ns;
	uint64_t          mon_lines;
	size_t            mon_kept, monitors;
	getrusage(RUSAGE_SELF, &ru);
	mpsd_commit_stats_get(d->commit, &cs);
	mpsd_net_stats_get(d->net, &ns);
	mpsd_monitor_stats(d, &mon_lines, &mon_kept, &monitors);
	x->res->values = mpsd_exec_vals(x, MAX_LINES);
	x->res->keys = mpsd_exec_vals(x, MAX_LINES);
	if (x->res->values == NULL || x->res->keys == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	lines l = {x, want, "", 0, 0};
	server(&l, d, &ru);
	clients_etc(&l, d, &ns, monitors);
	memory(&l, d, &ru, mon_kept);
	persistence(&l, d, &cs);
	watch(&l, d, &ns, &cs);
	limits(&l, d, &ns, monitors);
	if (l.oom)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	x->res->n_values = x->res->n_keys = l.n;
	x->res->revision = mpsd_store_revision(d->st);
	if (x->op->flags & MPSTORE__OP_FLAG__FLAG_CONTAINERS)
		return containers(d, x);
	return 0;
}
