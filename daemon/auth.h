/*
 * auth.h - connection authentication when an auth key is set (auth.c):
 * HMAC-SHA256 challenge and response, docs/security.md.
 */
#ifndef MPSD_AUTH_H
#define MPSD_AUTH_H

#include <stddef.h>

#include "daemon.h"

/* The "nonce=HEX" fact for OP_HELLO into out; 0 when there is none (no key). */
int mpsd_auth_facts(mpsd_daemon *d, mpsd_req *r, char *out, size_t outlen);
/* OP_AUTH: 0, or a failure in x (the connection then gets nothing more). */
int mpsd_auth_op(mpsd_daemon *d, mpsd_req *r, mpsd_exec *x);
/* Whether r may run: NULL, or why not (answer ERR_AUTH). */
const char *mpsd_auth_check(mpsd_daemon *d, mpsd_req *r);

#endif
