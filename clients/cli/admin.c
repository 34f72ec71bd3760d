/* admin.c - the operator's commands (docs/cli.md, docs/operations.md):
 * info [SECTION] [--containers] (the daemon by sections, like Redis's
 * INFO), clients (one line per connection), holders NAME (who holds and
 * who waits), monitor (every request as the daemon receives it). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *const cli_info_sections[] = {"server", "clients", "memory", "persistence", "watch",
	"limits", NULL};

int
cli_is_section(const char *word)
{
	for (int i = 0; cli_info_sections[i] != NULL; i++) {
		if (strcmp(cli_info_sections[i], word) == 0) {
			return 1;
		}
	}
	return 0;
}

/* A word of a key=value line: as is, or as a JSON string when it is
 * empty or holds what would make the line ambiguous. */
static void
print_word(const char *s)
{
	int plain = s[0] != '\0';
	for (const unsigned char *p = (const unsigned char *) s; *p && plain; p++) {
		plain = *p > 0x20 && *p != 0x7f && *p != '"' && *p != '=' && *p != ',' && *p != '(' &&
		    *p != ')';
	}
	if (plain) {
		fputs(s, stdout);
	} else {
		mps_value v = mps_str(s);
		cli_print_value(stdout, &v);
	}
}

static void
print_secs(const char *key, int64_t ms)
{
	printf(" %s=%.1f", key, (double) ms / 1000);
}

/* "OP_LOCK_ACQUIRE" as the daemon's op names go: lock_acquire */
static const char *
op_name(mps_opcode op)
{
	switch (op) {
	case MPS_OP_QUEUE_PUT: return "put";
	case MPS_OP_QUEUE_GET: return "get";
	case MPS_OP_QUEUE_JOIN: return "join";
	case MPS_OP_LOCK_ACQUIRE: return "acquire";
	case MPS_OP_SEM_ACQUIRE: return "acquire";
	case MPS_OP_EVENT_WAIT: return "wait";
	case MPS_OP_COND_WAIT: return "wait";
	case MPS_OP_BARRIER_WAIT: return "wait";
	default: return "op";
	}
}

/* info [SECTION] [--containers] */
int
cli_info_daemon(mps_client *c, const cli_opts *o, const char *section)
{
	mps_stat   *st;
	mps_memory *mem = NULL;
	size_t      n, nmem = 0;
	int         want_mem = (o->given & CLI_O_CONTAINERS) != 0;
	mps_err     e = mps_daemon_info(c, section, &st, &n, want_mem ? &mem : NULL, &nmem);
	if (e != MPS_OK) {
		return cli_fail_lib(e);
	}
	const char *cur = NULL;
	for (size_t i = 0; i < n; i++) {
		if (cur == NULL || strcmp(cur, st[i].section) != 0) {
			printf("%s# %s\n", cur != NULL ? "\n" : "", st[i].section);
			cur = st[i].section;
		}
		printf("%s=%s\n", st[i].key, st[i].value);
	}
	if (want_mem) {
		printf("%s# containers (name, kind, bytes; largest first)\n", n > 0 ? "\n" : "");
		for (size_t i = 0; i < nmem; i++) {
			printf("%s\t%s\t%lld\n", mem[i].name, mps_kind_name(mem[i].kind),
			    (long long) mem[i].bytes);
		}
	}
	free(st);
	free(mem);
	return 0;
}

static void
print_who(const mps_party *p)
{
	printf("id=%u name=", p->conn);
	print_word(p->name);
	printf(" pid=%lld", (long long) p->pid);
}

/* clients: one line per connection */
int
cli_clients(mps_client *c, int argc)
{
	mps_party *cl, *holds;
	size_t     n, nh;
	if (argc != 1) {
		return cli_fail(MPS_ERR_INVALID, "usage: mpstore clients");
	}
	mps_err e = mps_clients(c, &cl, &n, &holds, &nh);
	if (e != MPS_OK) {
		return cli_fail_lib(e);
	}
	for (size_t i = 0; i < n; i++) {
		const mps_party *p = &cl[i];
		print_who(p);
		printf(" session=%016llx addr=", (unsigned long long) p->client_id);
		print_word(p->addr);
		print_secs("age", p->age_ms);
		print_secs("idle", p->idle_ms);
		printf(" requests=%llu parked=%lld holds=", (unsigned long long) p->requests,
		    (long long) p->parked);
		int any = 0;
		for (size_t k = 0; k < nh; k++) {
			const mps_party *h = &holds[k];
			if (h->conn != p->conn) {
				continue;
			}
			printf("%s", any++ ? "," : "");
			print_word(h->container);
			printf("(%s,%s=%lld,token=%llu)", mps_kind_name(h->kind),
			    h->kind == MPS_KIND_SEMAPHORE || h->kind == MPS_KIND_BOUNDED_SEMAPHORE ? "units"
			                                                                           : "depth",
			    (long long) h->count, (unsigned long long) h->token);
		}
		printf("%s\n", any ? "" : "-");
	}
	free(cl);
	free(holds);
	return 0;
}

/* holders NAME: who holds it, who waits, in order */
int
cli_holders(mps_client *c, int argc, char **argv)
{
	mps_party *h, *w;
	size_t     nh, nw;
	mps_info   info;
	if (argc != 2) {
		return cli_fail(MPS_ERR_INVALID, "usage: mpstore holders NAME");
	}
	mps_err e = mps_info_get(c, argv[1], &info);
	if (e == MPS_OK) {
		e = mps_holders(c, argv[1], &h, &nh, &w, &nw);
	}
	if (e != MPS_OK) {
		return cli_fail_lib(e);
	}
	int units = info.kind == MPS_KIND_SEMAPHORE || info.kind == MPS_KIND_BOUNDED_SEMAPHORE;
	printf("%s (%s): %zu holder%s, %zu waiter%s\n", argv[1], mps_kind_name(info.kind), nh,
	    nh == 1 ? "" : "s", nw, nw == 1 ? "" : "s");
	for (size_t i = 0; i < nh; i++) {
		printf("holder ");
		print_who(&h[i]);
		printf(" token=%llu %s=%lld", (unsigned long long) h[i].token, units ? "units" : "depth",
		    (long long) h[i].count);
		print_secs("held", h[i].age_ms);
		putchar('\n');
	}
	for (size_t i = 0; i < nw; i++) {
		printf("waiter ");
		print_who(&w[i]);
		printf(" op=%s", op_name(w[i].op));
		print_secs("waiting", w[i].age_ms);
		if (w[i].timeout_ms < 0) {
			printf(" timeout=none");
		} else {
			print_secs("timeout", w[i].timeout_ms);
			print_secs("left", w[i].remaining_ms);
		}
		putchar('\n');
	}
	mps_info_free(&info);
	free(h);
	free(w);
	return 0;
}

/* monitor [--count N]: the daemon's requests as they arrive */
int
cli_monitor(mps_client *c, const cli_opts *o, int argc)
{
	uint64_t cursor = 0;
	int64_t  shown = 0, count = o->wcount;
	if (argc != 1) {
		return cli_fail(MPS_ERR_INVALID, "usage: mpstore monitor [--count N]");
	}
	while ((count < 0 || shown < count) && !cli_interrupted) {
		mps_value *lines;
		size_t     n;
		uint64_t   lost = 0;
		mps_err    e = mps_monitor(c, &cursor, 1000, &lines, &n, &lost);
		if (e != MPS_OK) {
			return cli_fail_lib(e);
		}
		if (lost > 0) {
			printf("(%llu requests not shown: this monitor fell behind)\n",
			    (unsigned long long) lost);
		}
		for (size_t i = 0; i < n && (count < 0 || shown < count); i++, shown++) {
			printf("%s\n", lines[i].type == MPS_STRING ? lines[i].u.s.ptr : "");
		}
		fflush(stdout);
		mps_values_free(lines, n);
	}
	return 0;
}
