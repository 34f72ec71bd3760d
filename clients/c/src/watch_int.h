/*
 * watch_int.h - what mirror.c needs of watch.c beyond mpstore.h (hidden).
 */
#ifndef MPS_WATCH_INT_H
#define MPS_WATCH_INT_H

#include "mps_int.h"

/* From the watch's own callback: deliver a fresh resync next (used when a
 * change does not apply to a local copy). */
void mps__watch_request_resync(mps_watcher *w);

#endif
