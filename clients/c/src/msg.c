/* msg.c - packed requests with room for the frame header, replies, and
 * the envelope check of a decoded reply. */
#include <stdlib.h>
#include <string.h>

#include "mps_int.h"
#include "wire.h"

void
mps__msg_init(mps__msg *m, void *mem, size_t cap)
{
	memset(m, 0, sizeof(*m));
	if (mem != NULL && cap > MPS__MSG_HEAD) {
		m->buf = mem;
		m->cap = cap;
	}
}

void
mps__msg_fini(mps__msg *m)
{
	if (m->heap) {
		free(m->buf);
	}
	memset(m, 0, sizeof(*m));
}

mps_err
mps__pack(const Mpstore__Request *req, mps__msg *m)
{
	/* The hand-written encoder (wire.h) writes backwards from the end of
	 * the memory it is given: handed m's buffer past the head room, a
	 * request that fits is packed in place, ready to be framed. */
	mpw_buf w;
	if (m->buf != NULL) {
		mpw_init(&w, m->buf + MPS__MSG_HEAD, m->cap - MPS__MSG_HEAD);
	} else {
		mpw_init(&w, NULL, 0);
	}
	if (mpw_request(&w, req) != 0) {
		mpw_fini(&w);
		return mps__fail(MPS_ERR_NOMEM, "out of memory encoding a request");
	}
	size_t n = mpw_len(&w);
	if (!w.heap) {
		m->body = (uint8_t *) mpw_data(&w);
		m->len  = n;
		return MPS_OK;
	}
	/* it grew: keep a buffer of our own, big enough from now on */
	size_t   need = n + MPS__MSG_HEAD;
	uint8_t *nb   = m->heap ? realloc(m->buf, need) : malloc(need);
	if (nb == NULL) {
		mpw_fini(&w);
		return mps__fail(MPS_ERR_NOMEM, "out of memory encoding a request");
	}
	memcpy(nb + MPS__MSG_HEAD, mpw_data(&w), n);
	mpw_fini(&w);
	m->buf  = nb;
	m->cap  = need;
	m->heap = 1;
	m->body = nb + MPS__MSG_HEAD;
	m->len  = n;
	return MPS_OK;
}

void
mps__rbuf_free(mps__rbuf *r)
{
	if (r != NULL && r->mem != NULL && r->free != NULL) {
		r->free(r->mem);
	}
	if (r != NULL) {
		memset(r, 0, sizeof(*r));
	}
}

mps_err
mps__decode(const mps__rbuf *reply, mps__arena *a, Mpstore__Response **resp)
{
	Mpstore__Response *r = mpw_response_unpack(&a->pa, reply->len, reply->data);
	if (r == NULL) {
		return mps__fail(MPS_ERR_PROTOCOL, "cannot decode the daemon's reply (%zu bytes)",
		    reply->len);
	}
	*resp = r;
	if (r->status != MPSTORE__STATUS__OK) {
		return mps__fail((mps_err) r->status, "%s",
		    r->error != NULL && r->error[0] ? r->error : mps_strerror((int) r->status));
	}
	return MPS_OK;
}
