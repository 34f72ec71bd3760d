/*
 * auth.c - the client's half of the connection handshake when a key is
 * set (docs/protocol.md section 3a): OP_HELLO gave a nonce; OP_AUTH sends
 * HMAC-SHA256(key, "mpstore-auth-v1\0" || nonce || client_id) so that
 * the key itself never crosses the wire.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "mps_int.h"
#include "sp.h"
#include "sp_conn.h"
#include "wire.h"

#define NONCE_LEN 32

static int unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char ch = s[2 * i + k];
			v <<= 4;
			if (ch >= '0' && ch <= '9')
				v |= ch - '0';
			else if (ch >= 'a' && ch <= 'f')
				v |= ch - 'a' + 10;
			else
				return -1;
		}
		out[i] = (uint8_t)v;
	}
	return s[2 * n] == '\0' ? 0 : -1;
}

void mps__auth_mac(const void *key, size_t keylen, const uint8_t *nonce, uint64_t client_id,
    uint8_t out[32])
{
	static const char ctx[] = "mpstore-auth-v1";
	uint8_t           msg[sizeof(ctx) + NONCE_LEN + 8];
	unsigned int      len = 32;
	memcpy(msg, ctx, sizeof(ctx));
	memcpy(msg + sizeof(ctx), nonce, NONCE_LEN);
	for (int i = 0; i < 8; i++)
		msg[sizeof(ctx) + NONCE_LEN + i] = (uint8_t)(client_id >> (56 - 8 * i));
	HMAC(EVP_sha256(), key, (int)keylen, msg, sizeof(msg), out, &len);
}

mps_err mps__authenticate(mps_client *c, const char *nonce_hex)
{
	uint8_t nonce[NONCE_LEN], mac[32];
	if (unhex(nonce_hex, nonce, NONCE_LEN) != 0)
		return mps__fail(MPS_ERR_PROTOCOL, "the daemon's nonce is malformed");
	mps__auth_mac(c->auth.data, c->auth.len, nonce, c->client_id, mac);
	mps_op op;
	memset(&op, 0, sizeof(op));
	op.code = MPS_OP_AUTH;
	op.data = mac;
	op.datalen = sizeof(mac);
	mps__call call;
	mps_err   e = mps__call_op(c, &op, &call);
	mps__call_fini(&call);
	if (e == MPS_ERR_AUTH)
		return mps__fail(MPS_ERR_AUTH, "authentication failed: the daemon has another key");
	return e;
}

/* ---- the handshake on a fresh connection of the SP transport ---- */

/* One request on fd as SP request id 0x80000000 | n, and its answer. */
static mps_err
raw_call(mps_client *c, int fd, int ipc, int64_t deadline, uint32_t n, const mps_op *op,
    mps__arena *a, Mpstore__Response **out, char *why, size_t whylen)
{
	Mpstore__Request req;
	Mpstore__Op     *ops[1];
	mps_err          e = mps__op_build(a, op, &ops[0]);
	if (e != MPS_OK) {
		snprintf(why, whylen, "out of memory");
		return e;
	}
	mpstore__request__init(&req);
	req.version   = MPS_PROTOCOL_VERSION;
	req.id        = atomic_fetch_add(&c->next_id, 1);
	req.client_id = c->client_id;
	req.n_ops     = 1;
	req.ops       = ops;
	uint8_t mem[512];
	mpw_buf b;
	mpw_init(&b, mem, sizeof(mem));
	if (mpw_request(&b, &req) != 0) {
		mpw_fini(&b);
		snprintf(why, whylen, "out of memory");
		return MPS_ERR_NOMEM;
	}
	uint8_t hdr[MPS_SP_HDR_MAX + 4];
	size_t  hl = mps_sp_hdr(hdr, ipc, 4 + mpw_len(&b));
	mps_sp_put32(hdr + hl, 0x80000000u | n);
	struct iovec iov[2] = {{hdr, hl + 4}, {(void *) mpw_data(&b), mpw_len(&b)}};
	int          wrv = mps__sp_write(fd, iov, 2, deadline);
	mpw_fini(&b);
	if (wrv != 0) {
		snprintf(why, whylen, "the connection failed during the auth handshake");
		return MPS_ERR_CONNECT;
	}
	mps__rd rd;
	mps__rd_init(&rd, ipc, 1u << 20);
	uint8_t    *body = NULL;
	size_t      len  = 0;
	const char *bad  = NULL;
	for (;;) {
		int k = mps__rd_next(&rd, &body, &len, &bad);
		if (k > 0 && len >= 4 && mps_sp_get32(body) == (0x80000000u | n)) {
			break;
		}
		if (k > 0) { /* not ours: nothing else is in flight here */
			free(body);
			body = NULL;
			continue;
		}
		if (k < 0 || mps__sp_wait(fd, POLLIN, deadline) <= 0 || mps__rd_fill(&rd, fd) < 0) {
			mps__rd_fini(&rd);
			snprintf(why, whylen, "no answer to the auth handshake");
			return MPS_ERR_CONNECT;
		}
	}
	mps__rd_fini(&rd);
	*out = mpw_response_unpack(&a->pa, len - 4, body + 4);
	free(body);
	if (*out == NULL) {
		snprintf(why, whylen, "a malformed answer to the auth handshake");
		return MPS_ERR_PROTOCOL;
	}
	/* refused (a bad client name, say): the daemon's status and words */
	const Mpstore__Response *r  = *out;
	uint32_t                 st = r->status;
	const char              *er = r->error;
	if (st == 0 && r->n_results >= 1) {
		st = r->results[0]->status;
		er = r->results[0]->error;
	}
	if (st != 0) {
		snprintf(why, whylen, "%s", er != NULL && er[0] ? er : mps_strerror((int) st));
		return (mps_err) st;
	}
	if (r->n_results < 1) {
		snprintf(why, whylen, "a malformed answer to the auth handshake");
		return MPS_ERR_PROTOCOL;
	}
	return MPS_OK;
}

mps_err
mps__auth_fd(void *arg, int fd, int ipc, int64_t deadline, char *why, size_t whylen)
{
	mps_client        *c = arg;
	mps__arena         a;
	Mpstore__Response *r;
	mps_op             op;
	mps_err            e;
	uint8_t            nonce[NONCE_LEN], mac[32];
	const char        *hex = NULL;
	mps__arena_init(&a, NULL, 0);
	mps__hello_op(c, &op);
	if ((e = raw_call(c, fd, ipc, deadline, 1, &op, &a, &r, why, whylen)) != MPS_OK) {
		goto out;
	}
	for (size_t i = 0; i < r->results[0]->n_values; i++) {
		const Mpstore__Value *pv = r->results[0]->values[i];
		if (pv->v_case == MPSTORE__VALUE__V_STRING_VALUE &&
		    strncmp(pv->string_value, "nonce=", 6) == 0) {
			hex = pv->string_value + 6;
		}
	}
	if (!c->greeted) {
		/* the first connection, opened by mps_open in its own thread:
		 * this answer is the handle's hello */
		char ignore[80];
		if ((e = mps__hello_apply(c, r->results[0], ignore, sizeof(ignore))) != MPS_OK) {
			snprintf(why, whylen, "out of memory");
			goto out;
		}
		c->greeted = 1;
	}
	if (hex == NULL) {
		goto out; /* a daemon without a key: nothing to prove */
	}
	if (!c->has_auth) {
		snprintf(why, whylen, "the daemon needs an auth key ($MPSTORE_AUTH_KEY or mps_open_auth)");
		e = MPS_ERR_AUTH;
		goto out;
	}
	if (unhex(hex, nonce, NONCE_LEN) != 0) {
		snprintf(why, whylen, "the daemon's nonce is malformed");
		e = MPS_ERR_PROTOCOL;
		goto out;
	}
	mps__auth_mac(c->auth.data, c->auth.len, nonce, c->client_id, mac);
	memset(&op, 0, sizeof(op));
	op.code    = MPS_OP_AUTH;
	op.data    = mac;
	op.datalen = sizeof(mac);
	e = raw_call(c, fd, ipc, deadline, 2, &op, &a, &r, why, whylen);
	if (e == MPS_ERR_AUTH) {
		snprintf(why, whylen, "authentication failed: the daemon has another key");
	}
out:
	mps__arena_fini(&a);
	return e;
}
