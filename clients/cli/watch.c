/* watch.c - mpstore watch NAME|PREFIX* [--from REV] [--count N] [--pub URL]:
 * one JSON object per line per change, a resync as its own line
 * (docs/cli.md, docs/watch.md). The packed states of the synchronisation
 * kinds and queues (docs/protocol.md section 11) print decoded. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
print_str(const char *s)
{
	mps_value v = mps_str(s);
	cli_print_value(stdout, &v);
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++) {
		v |= (uint64_t) p[i] << (8 * i);
	}
	return v;
}

/* A client id: JSON numbers lose precision past 2^53, so a hex string
 * (as `mpstore clients` shows sessions); null for none. */
static void
print_owner(uint64_t id)
{
	if (id == 0) {
		fputs("null", stdout);
	} else {
		printf("\"%016llx\"", (unsigned long long) id);
	}
}

/*
 * ", \"state\": {...}" for the packed state of a CH_STATE or a sync
 * kind's (or queue's) CH_RESYNC (layouts in docs/protocol.md section 11);
 * 0 when v is not one (then it prints as bytes).
 */
static int
print_state(mps_kind k, const mps_value *v, int resync)
{
	if (v->type != MPS_BYTES) {
		return 0;
	}
	const unsigned char *b = (const unsigned char *) v->u.s.ptr;
	size_t               n = v->u.s.len;
	switch (k) {
	case MPS_KIND_LOCK:
	case MPS_KIND_RLOCK:
	case MPS_KIND_CONDITION:
		if (n != (resync ? 32u : 24u)) {
			return 0;
		}
		printf(", \"state\": {\"locked\": %s, \"owner\": ", get64(b) ? "true" : "false");
		print_owner(get64(b));
		printf(", \"depth\": %lld, \"token\": %llu}", (long long) get64(b + 8),
		    (unsigned long long) get64(b + 16));
		return 1;
	case MPS_KIND_SEMAPHORE:
	case MPS_KIND_BOUNDED_SEMAPHORE:
		if (resync ? n < 24 || (n - 24) % 16 != 0 : n != 16) {
			return 0;
		}
		printf(", \"state\": {\"value\": %lld, \"held\": %lld", (long long) get64(b),
		    (long long) get64(b + 8));
		if (resync) {
			fputs(", \"holders\": [", stdout);
			for (size_t i = 24; i < n; i += 16) {
				fputs(i > 24 ? ", {\"owner\": " : "{\"owner\": ", stdout);
				print_owner(get64(b + i));
				printf(", \"units\": %lld}", (long long) get64(b + i + 8));
			}
			putchar(']');
		}
		putchar('}');
		return 1;
	case MPS_KIND_EVENT:
		if (n != 1) {
			return 0;
		}
		printf(", \"state\": {\"set\": %s}", b[0] ? "true" : "false");
		return 1;
	case MPS_KIND_BARRIER:
		if (n != 24) {
			return 0;
		}
		printf(", \"state\": {\"waiting\": %lld, \"generation\": %lld, \"broken\": %s}",
		    (long long) get64(b), (long long) get64(b + 8), get64(b + 16) ? "true" : "false");
		return 1;
	case MPS_KIND_QUEUE:
		if (n != 8) {
			return 0;
		}
		printf(", \"state\": {\"unfinished\": %lld}", (long long) get64(b));
		return 1;
	default:
		return 0;
	}
}

static void
print_event(const mps_watch_event *ev)
{
	if (ev->type == MPS_WATCH_RESYNC) {
		printf("{\"resync\": true, \"revision\": %llu, \"name\": ",
		    (unsigned long long) ev->revision);
		print_str(ev->name);
		printf(", \"kind\": \"%s\"", ev->kind == MPS_KIND_NONE ? "none" : mps_kind_name(ev->kind));
		if (ev->kind == MPS_KIND_NONE) {
			fputs("}\n", stdout);
			return;
		}
		printf(", \"length\": %lld", (long long) ev->info.length);
		if (ev->kind == MPS_KIND_DICT || ev->kind == MPS_KIND_NAMESPACE) {
			fputs(", \"keys\": ", stdout);
			cli_print_array(stdout, ev->keys, ev->nkeys);
			fputs(", \"values\": ", stdout);
			cli_print_array(stdout, ev->values, ev->nvalues);
		} else if (ev->nvalues > 0 || ev->kind == MPS_KIND_LIST || ev->kind == MPS_KIND_ARRAY ||
		    ev->kind == MPS_KIND_QUEUE) {
			fputs(", \"values\": ", stdout);
			cli_print_array(stdout, ev->values, ev->nvalues);
		}
		if ((ev->value.type != MPS_NULL || ev->kind == MPS_KIND_VALUE) &&
		    !print_state(ev->kind, &ev->value, 1)) {
			fputs(", \"value\": ", stdout);
			cli_print_value(stdout, &ev->value);
		}
		printf(", \"index\": %zu, \"of\": %zu}\n", ev->resync_index, ev->resync_count);
		return;
	}
	printf("{\"revision\": %llu, \"name\": ", (unsigned long long) ev->revision);
	print_str(ev->name);
	printf(", \"kind\": \"%s\", \"op\": \"%s\"", mps_kind_name(ev->kind),
	    mps_change_type_name(ev->change));
	switch (ev->change) {
	case MPS_CH_CREATE:
		if (ev->has_info) {
			printf(", \"type\": \"%s\", \"capacity\": %lld", mps_elem_type_name(ev->info.elem_type),
			    (long long) ev->info.capacity);
		}
		if (ev->value.type != MPS_NULL) {
			fputs(", \"value\": ", stdout);
			cli_print_value(stdout, &ev->value);
		}
		break;
	case MPS_CH_STATE:
		if (print_state(ev->kind, &ev->value, 0)) {
			break;
		}
		__attribute__((fallthrough));
	case MPS_CH_SET:
		fputs(", \"value\": ", stdout);
		cli_print_value(stdout, &ev->value);
		break;
	case MPS_CH_LIST_INSERT:
	case MPS_CH_QUEUE_PUT:
		if (ev->change == MPS_CH_LIST_INSERT) {
			printf(", \"index\": %lld", (long long) ev->index);
		}
		fputs(", \"values\": ", stdout);
		cli_print_array(stdout, ev->values, ev->nvalues);
		break;
	case MPS_CH_LIST_SET:
		printf(", \"index\": %lld", (long long) ev->index);
		if (ev->nvalues > 0) {
			fputs(", \"values\": ", stdout);
			cli_print_array(stdout, ev->values, ev->nvalues);
		} else {
			fputs(", \"value\": ", stdout);
			cli_print_value(stdout, &ev->value);
		}
		break;
	case MPS_CH_LIST_DELETE:
		printf(", \"index\": %lld, \"count\": %lld", (long long) ev->index, (long long) ev->count);
		break;
	case MPS_CH_QUEUE_GET:
		printf(", \"count\": %lld", (long long) ev->count);
		break;
	case MPS_CH_DICT_SET:
		fputs(", \"keys\": ", stdout);
		cli_print_array(stdout, ev->keys, ev->nkeys);
		fputs(", \"values\": ", stdout);
		cli_print_array(stdout, ev->values, ev->nvalues);
		break;
	case MPS_CH_DICT_DELETE:
		fputs(", \"keys\": ", stdout);
		cli_print_array(stdout, ev->keys, ev->nkeys);
		break;
	default:
		break;
	}
	fputs("}\n", stdout);
}

int
cli_watch(mps_client *c, const cli_opts *opts, int argc, char **argv)
{
	int64_t        count = opts->wcount, from = opts->from;
	mps_watch_opts o     = {0};
	if (argc != 2) {
		return cli_fail(MPS_ERR_INVALID,
		    "usage: mpstore watch NAME|PREFIX* [--from REV] [--count N] [--pub URL]");
	}
	const char *name = argv[1];
	o.pub_url        = opts->pub;
	o.from_revision = (uint64_t) from;
	mps_watcher *w;
	mps_err      e = mps_watch(c, name, &o, &w);
	if (e != MPS_OK) {
		return cli_fail_lib(e);
	}
	for (int64_t n = 0; (count < 0 || n < count) && !cli_interrupted;) {
		const mps_watch_event *ev;
		e = mps_watch_next(w, &ev, 1000);
		if (e == MPS_ERR_TIMEOUT) {
			continue;
		}
		if (e != MPS_OK) {
			mps_unwatch(w);
			return cli_fail_lib(e);
		}
		if (ev->type == MPS_WATCH_PROGRESS) {
			continue;
		}
		print_event(ev);
		fflush(stdout);
		n++;
	}
	mps_unwatch(w);
	return 0;
}
