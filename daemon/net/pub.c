/*
 * pub.c - notifications to subscribers (SP PUB v0): one frame per message,
 * shared by every subscriber's queue. A subscriber whose queue holds
 * max_subscriber_buffer bytes loses what is published until it reads
 * (the watch protocol sees the gap by revision and catches up through
 * OP_CHANGES, docs/watch.md); one that stays full for
 * subscriber_timeout_ms is disconnected (conn.c).
 */
#include <stdlib.h>
#include <string.h>

#include "net_int.h"

void pubframe_unref(pubframe *pf)
{
	if (--pf->refs == 0)
		free(pf);
}

void mpsd_net_publish(mpsd_net *n, const char *name, const uint8_t *data, size_t len)
{
	if (n->stopping)
		return;
	tls_publish(n, name, data, len);
	if (n->nsubs == 0)
		return;
	size_t    nl = strlen(name) + 1;
	size_t    body = nl + len;
	pubframe *pf = malloc(sizeof(*pf) + MPS_SP_HDR_MAX + body);
	if (pf == NULL)
		return; /* lost like a dropped message: watchers catch up */
	pf->refs = 1;
	pf->len = mps_sp_hdr(pf->data, 1, body) + body;
	memcpy(pf->data + MPS_SP_HDR_MAX, name, nl);
	memcpy(pf->data + MPS_SP_HDR_MAX + nl, data, len);
	n->st.pub_messages++;
	int64_t now = 0;
	for (mpsd_conn *c = n->conns; c != NULL; c = c->next) {
		if (!c->sub || c->state != CONN_OPEN)
			continue;
		size_t flen = c->ipc ? pf->len : pf->len - 1;
		if (conn_queued(c) + flen > n->cfg.max_subscriber_buffer) {
			n->st.pub_dropped++;
			if (c->full_since_ms == 0)
				c->full_since_ms = now ? now : (now = net_now_ms());
			continue;
		}
		pf->refs++;
		conn_queue(c, NULL, pf, c->ipc ? pf->data : pf->data + 1, flen);
	}
	pubframe_unref(pf);
}
