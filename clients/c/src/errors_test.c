/* errors_test.c - every code of MPS_ERRORS has a name and a message; unknown
 * codes get constant fallbacks; codes match the wire's Status enum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <nng/nng.h>

#include "mps_int.h"

static void
test_every_code(void **state)
{
	(void) state;
	int n = 0;
#define CHECK_(nm, code, msg)                                          \
	assert_string_equal(mps_strerror(code), msg);                    \
	assert_string_equal(mps_err_name(code), "MPS_" #nm);           \
	assert_int_equal((int) MPS_##nm, code);                        \
	assert_non_null(protobuf_c_enum_descriptor_get_value(            \
	    &mpstore__status__descriptor, code));                       \
	assert_string_equal(protobuf_c_enum_descriptor_get_value(        \
	    &mpstore__status__descriptor, code)->name, #nm);           \
	n++;
	MPS_ERRORS(CHECK_)
#undef CHECK_
	/* the list covers the whole Status enum */
	assert_int_equal(n, (int) mpstore__status__descriptor.n_values);
}

static void
test_unknown(void **state)
{
	(void) state;
	int unknown[] = {-1, 26, 99, 105, 1000, 0x7fffffff};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		assert_string_equal(mps_strerror(unknown[i]), "unknown error");
		assert_string_equal(mps_err_name(unknown[i]), "MPS_ERR_UNKNOWN");
	}
}

static void
test_last_error(void **state)
{
	(void) state;
	mps__clear_error();
	assert_string_equal(mps_last_error(), "");
	assert_int_equal(mps__fail(MPS_ERR_INDEX, "index %d", 7), MPS_ERR_INDEX);
	assert_string_equal(mps_last_error(), "index 7");
	assert_int_equal(mps__from_nng(NNG_ETIMEDOUT), MPS_ERR_TIMEOUT);
	assert_int_equal(mps__from_nng(NNG_ECONNREFUSED), MPS_ERR_CONNECT);
	assert_int_equal(mps__from_nng(NNG_ECLOSED), MPS_ERR_CLOSED);
	assert_int_equal(mps__from_nng(NNG_EPROTO), MPS_ERR_TRANSPORT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_last_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
