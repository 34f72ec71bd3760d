/*
 * pack.h - the daemon's replies, packed with the hand-written codec
 * (schema/wire.h) into nng messages.
 */
#ifndef MPSD_PACK_H
#define MPSD_PACK_H

#include <nng/nng.h>

#include "mpstore.pb-c.h"

/* A reply message, or NULL when out of memory. */
nng_msg *mpsd_pack_response(const Mpstore__Response *resp);

#endif
