/*
 * nng_dial.h - dialing an nng socket for tls+tcp:// (hidden): the TLS
 * configuration from mps__dialopts, and the guard against nng in a forked
 * child (nng 1.5.2 aborts there once the parent has used it).
 */
#ifndef MPS_NNG_DIAL_H
#define MPS_NNG_DIAL_H

#include <nng/nng.h>

#include "transport.h"

/* Dial s to o->url with o's TLS settings (a CA file makes the server's
 * certificate required; its name is o->tls_server_name when given).
 * flags as nng_dialer_start's. 0, or an nng error with a message in err. */
int mps__nng_dial(nng_socket s, const mps__dialopts *o, int flags, char *err, size_t errlen);

/* Before any nng call: MPS_ERR_INVALID (with a message) in a child forked
 * from a process that has used nng; else MPS_OK, and this process is
 * marked as using it. */
mps_err mps__nng_enter(void);
/* 1 in a child forked from a process that has used nng. */
int     mps__nng_in_child(void);

#endif
