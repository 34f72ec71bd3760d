/*
 * auth.c - with an auth key, connections authenticate by challenge and
 * response, as Python's BaseManager(authkey=...) does: OP_HELLO hands out
 * the connection's random nonce (made when it was accepted), OP_AUTH
 * brings HMAC-SHA256(key, "mpstore-auth-v1\0" || nonce || client_id), the
 * daemon compares in constant time, and the connection is then
 * authenticated for that client_id. The key never crosses the wire, and a
 * MAC taken from one connection is worth nothing on another (its nonce
 * differs). Until then only OP_HELLO and OP_AUTH are served. After a
 * failed OP_AUTH the connection gets nothing more (one guess per
 * connection; closing it instead raced nng clients' reading of the
 * answer), and the failure is logged, at most one line a second.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "clients.h"
#include "req.h"

#define AUTH_CONTEXT     "mpstore-auth-v1"
#define AUTH_MAC_LEN     32

static void hexify(char *out, const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int mpsd_auth_facts(mpsd_daemon *d, mpsd_req *r, char *out, size_t outlen)
{
	if (d->cfg.auth_len == 0 || r->cl == NULL)
		return 0;
	char hex[2 * MPSD_NONCE_LEN + 1];
	hexify(hex, r->cl->nonce, MPSD_NONCE_LEN);
	snprintf(out, outlen, "nonce=%s", hex);
	return 1;
}

static void mac_of(const mpsd_daemon *d, const uint8_t *nonce, uint64_t client_id,
    uint8_t out[AUTH_MAC_LEN])
{
	uint8_t      msg[sizeof(AUTH_CONTEXT) + MPSD_NONCE_LEN + 8];
	unsigned int len = AUTH_MAC_LEN;
	memcpy(msg, AUTH_CONTEXT, sizeof(AUTH_CONTEXT)); /* with its NUL */
	memcpy(msg + sizeof(AUTH_CONTEXT), nonce, MPSD_NONCE_LEN);
	for (int i = 0; i < 8; i++)
		msg[sizeof(AUTH_CONTEXT) + MPSD_NONCE_LEN + i] = (uint8_t)(client_id >> (56 - 8 * i));
	HMAC(EVP_sha256(), d->cfg.auth_key, (int)d->cfg.auth_len, msg, sizeof(msg), out, &len);
}

/* One log line a second at most, with how many were left out. */
static void log_failure(mpsd_daemon *d, const mpsd_client *cl, const char *why)
{
	static int64_t last;
	static long    quiet;
	int64_t        now = mpsd_now_ms();
	(void)d;
	if (now - last < 1000) {
		quiet++;
		return;
	}
	if (quiet > 0)
		mpsd_log("authentication failed from %s: %s (and %ld more in the last second)",
		    cl != NULL ? cl->addr : "?", why, quiet);
	else
		mpsd_log("authentication failed from %s: %s", cl != NULL ? cl->addr : "?", why);
	last = now;
	quiet = 0;
}

int mpsd_auth_op(mpsd_daemon *d, mpsd_req *r, mpsd_exec *x)
{
	mpsd_client *cl = r->cl;
	if (d->cfg.auth_len == 0)
		return 0; /* nothing to prove */
	if (cl == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_AUTH, "connection unknown");
	uint8_t want[AUTH_MAC_LEN];
	mac_of(d, cl->nonce, r->rq->client_id, want);
	const ProtobufCBinaryData *got = &x->op->data;
	if (got->len == AUTH_MAC_LEN && CRYPTO_memcmp(got->data, want, AUTH_MAC_LEN) == 0) {
		cl->authed = 1;
		cl->authed_id = r->rq->client_id;
		cl->auth_failures = 0;
		return 0;
	}
	log_failure(d, cl, got->len == AUTH_MAC_LEN ? "wrong key" : "malformed MAC");
	cl->auth_failures++; /* one guess per connection */
	return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_AUTH, "authentication failed: wrong key");
}

const char *mpsd_auth_check(mpsd_daemon *d, mpsd_req *r)
{
	const Mpstore__Request *rq = r->rq;
	mpsd_client            *cl = r->cl;
	if (d->cfg.auth_len == 0)
		return NULL;
	if (rq->auth.len > 0) {
		log_failure(d, cl, "a key sent in the request");
		return "this daemon authenticates connections (OP_HELLO's nonce, then OP_AUTH with an "
		       "HMAC): a key in the request is refused, it would cross the wire";
	}
	if (cl != NULL && cl->auth_failures > 0)
		return "authentication failed on this connection: open a new one";
	if (cl != NULL && cl->authed) {
		if (rq->client_id == 0 || rq->client_id == cl->authed_id)
			return NULL;
		return "this connection is authenticated for another client_id";
	}
	/* before OP_AUTH: only the greeting and the proof */
	if (rq->txn != NULL || rq->n_ops == 0)
		return "authentication required: OP_HELLO, then OP_AUTH";
	for (size_t i = 0; i < rq->n_ops; i++)
		if (rq->ops[i]->code != MPSTORE__OP_CODE__OP_HELLO &&
		    rq->ops[i]->code != MPSTORE__OP_CODE__OP_AUTH)
			return "authentication required: OP_HELLO, then OP_AUTH";
	return NULL;
}
