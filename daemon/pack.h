/*
 * pack.h - the daemon's outgoing bytes, packed with the hand-written codec
 * (schema/wire.h) in a per-thread buffer: replies as nng messages, change
 * records as malloc'd bytes.
 */
#ifndef MPSD_PACK_H
#define MPSD_PACK_H

#include <nng/nng.h>

#include "mpstore.pb-c.h"

/* A reply message, or NULL when out of memory. */
nng_msg *mpsd_pack_response(const Mpstore__Response *resp);

/* The packed change in a malloc'd block with `extra` spare bytes after it;
 * NULL when out of memory. */
uint8_t *mpsd_pack_change(const Mpstore__Change *ch, size_t extra, size_t *len);

#endif
