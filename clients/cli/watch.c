/* watch.c - mpstore watch NAME|PREFIX* [--from REV] [--count N] [--pub URL]:
 * one JSON object per line per change, a resync as its own line
 * (docs/cli.md, docs/watch.md). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
print_str(const char *s)
{
	mps_value v = mps_str(s);
	cli_print_value(stdout, &v);
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
		if (ev->value.type != MPS_NULL || ev->kind == MPS_KIND_VALUE) {
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
	case MPS_CH_SET:
	case MPS_CH_STATE:
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
