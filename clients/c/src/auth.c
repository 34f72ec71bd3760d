/*
 * auth.c - the client's half of the connection handshake when a key is
 * set (docs/protocol.md section 3a): OP_HELLO gave a nonce; OP_AUTH sends
 * HMAC-SHA256(key, "mpstore-auth-v1\0" || nonce || client_id) so that
 * the key itself never crosses the wire.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "mps_int.h"

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
