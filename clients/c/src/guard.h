/*
 * guard.h - argument checks at libmpstore's public entry points (ops_*.c,
 * op.c, value.c, json.c). A NULL handle (typically an mps_open whose
 * failure was not checked) or a NULL pointer the call needs gets
 * MPS_ERR_INVALID and a message naming the function and the argument,
 * never a crash. Optional pointers (documented "may be NULL") are not
 * checked. Not installed.
 */
#ifndef MPS_GUARD_H
#define MPS_GUARD_H

#include "mpstore/mpstore.h"

/* Record "<fn>: <arg> is NULL" (for the handle: a hint about mps_open) as
 * the thread's last error; returns MPS_ERR_INVALID. */
mps_err mps__null_arg(const char *fn, const char *arg) __attribute__((visibility("hidden")));

#define MPS__NEED(p)                                  \
	do {                                          \
		if ((p) == NULL) {                    \
			return mps__null_arg(__func__, #p); \
		}                                     \
	} while (0)

#endif
