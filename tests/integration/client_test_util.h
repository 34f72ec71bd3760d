/* client_test_util.h - assertions on mps_err for the client integration
 * tests (prints mps_strerror and the daemon's message). */
#ifndef CLIENT_TEST_UTIL_H
#define CLIENT_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "mpstore/mpstore.h"

/* Called before abort() on a failed check (e.g. stops the test's daemon). */
static void (*ct_on_fail)(void);
static inline void
ct_die(void)
{
	if (ct_on_fail != NULL) {
		void (*f)(void) = ct_on_fail;
		ct_on_fail      = NULL;
		f();
	}
	abort();
}

#define CT_CHECK(expr, want)                                                          \
	do {                                                                          \
		mps_err ct_e_ = (expr);                                               \
		if (ct_e_ != (want)) {                                                \
			fprintf(stderr, "%s:%d: %s = %s (%s: %s), want %s\n", __FILE__, \
			    __LINE__, #expr, mps_err_name(ct_e_), mps_strerror(ct_e_), \
			    mps_last_error(), mps_err_name(want));                    \
			ct_die();                                                     \
		}                                                                     \
	} while (0)
#define CT_OK(expr) CT_CHECK(expr, MPS_OK)
#define CT_TRUE(cond)                                                                 \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
			ct_die();                                                     \
		}                                                                     \
	} while (0)

/* Run each test of a NULL-ended table, naming it on stderr. */
typedef struct ct_test {
	const char *name;
	void (*fn)(void);
} ct_test;
static inline void
ct_run(const ct_test *t)
{
	for (; t->name != NULL; t++) {
		fprintf(stderr, "[ RUN  ] %s\n", t->name);
		t->fn();
		fprintf(stderr, "[  OK  ] %s\n", t->name);
	}
}

#endif
