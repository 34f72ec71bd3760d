/*
 * notify.c - what happens once a group of changes is durable: its records
 * are published to subscribers (one message per run of changes to one
 * container) and its requests answered, in revision order, on the loop.
 * The commit thread hands a whole group over with one wake-up; a group
 * handed back on the loop itself (memory and snapshot durability) is
 * handled at once.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

static size_t varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* One Notification (repeated Change, field 1) per run of records of one
 * container. */
static void publish_run(mpsd_daemon *d, const crec *recs, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += 1 + 10 + recs[i].len;
	uint8_t  stack[2048] = {0};
	uint8_t *buf = total <= sizeof(stack) ? stack : malloc(total);
	if (buf == NULL)
		return; /* lost like a dropped message: watchers catch up */
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		buf[off++] = 0x0a; /* field 1, length-delimited */
		off += varint(buf + off, recs[i].len);
		memcpy(buf + off, recs[i].data, recs[i].len);
		off += recs[i].len;
	}
	mpsd_net_publish(d->net, recs[0].name, buf, off);
	if (buf != stack)
		free(buf);
}

static void publish_job(mpsd_daemon *d, const mpsd_job *j)
{
	size_t start = 0;
	for (size_t i = 1; i <= j->nrec; i++)
		if (i == j->nrec || strcmp(j->recs[i].name, j->recs[start].name) != 0) {
			/* a schema registration (CH_SCHEMA) has no container: the
			 * empty topic is the heartbeat's, so it is not published */
			if (j->recs[start].name[0] != '\0')
				publish_run(d, j->recs + start, i - start);
			start = i;
		}
}

static void handle(mpsd_daemon *d, mpsd_job *list)
{
	int subs = mpsd_net_subscribers(d->net) > 0;
	for (mpsd_job *j = list; j != NULL; j = j->next) {
		if (j->nrec > 0)
			d->chg_pending = 1; /* waiting OP_CHANGES: at the top level */
		if (subs && j->nrec > 0)
			publish_job(d, j);
		if (j->owner != NULL)
			mpsd_dispatch_job_done(d, j);
	}
	mpsd_commit_jobs_free(list);
}

/* Publish and answer what was handed back so far. */
static int handle_all(mpsd_daemon *d)
{
	pthread_mutex_lock(&d->done_mtx);
	mpsd_job *list = d->done_head;
	d->done_head = d->done_tail = NULL;
	pthread_mutex_unlock(&d->done_mtx);
	if (list == NULL)
		return 0;
	handle(d, list);
	return 1;
}

void mpsd_notify_drain(void *arg)
{
	mpsd_daemon *d = arg;
	if (handle_all(d))
		mpsd_dispatch_rearm(d); /* waiting OP_CHANGES, deadlines */
}

void mpsd_notify_done(void *arg, mpsd_job *list)
{
	mpsd_daemon *d = arg;
	mpsd_job    *last = list;
	while (last->next != NULL)
		last = last->next;
	pthread_mutex_lock(&d->done_mtx);
	int was_empty = d->done_head == NULL;
	if (d->done_tail != NULL)
		d->done_tail->next = list;
	else
		d->done_head = list;
	d->done_tail = last;
	pthread_mutex_unlock(&d->done_mtx);
	if (pthread_equal(pthread_self(), d->loop_thread))
		handle_all(d); /* on the loop already, inside a request (the store
		                * locked): now, after earlier groups; its caller
		                * re-arms at the top level */
	else if (was_empty) /* else the loop has a wake-up coming and takes this too */
		mpsd_net_post(d->net, &d->done_post);
}

void mpsd_notify_heartbeat(mpsd_daemon *d)
{
	if (mpsd_net_subscribers(d->net) == 0)
		return;
	uint8_t buf[16];
	size_t  n = 0;
	buf[n++] = 0x10; /* field 2 (revision), varint */
	n += varint(buf + n, mpsd_commit_last(d->commit));
	mpsd_net_publish(d->net, "", buf, n);
}
