/* guard_test.c - every public entry point of ops_*.c, op.c, value.c and
 * json.c refuses a NULL handle (or a NULL pointer it needs) with
 * MPS_ERR_INVALID and a message instead of crashing: what a program that
 * did not check mps_open's result gets (README's first C snippet). The
 * last test reads those source files and fails when an entry point that
 * takes a handle is missing from the list here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mpstore/mpstore.h"

static const char *called[128];
static size_t      ncalled;

/* e must be MPS_ERR_INVALID with a message naming fn and the handle */
static void
check(const char *fn, mps_err e)
{
	assert_int_equal(e, MPS_ERR_INVALID);
	const char *m = mps_last_error();
	if (strstr(m, fn) == NULL || strstr(m, "NULL") == NULL) {
		fail_msg("%s: message [%s]", fn, m);
	}
	called[ncalled++] = fn;
}

#define NULLC(fn, ...) check(#fn, fn(NULL, __VA_ARGS__))

static void
test_null_handle(void **state)
{
	(void) state;
	mps_client     *c = NULL;
	mps_value       v = mps_int(1), k = mps_str("k"), out, *arr;
	mps_info        info, *infos;
	mps_dump        dump;
	mps_create_opts co = {.kind = MPS_KIND_LIST};
	mps_op          op = {.code = MPS_OP_PING};
	size_t          n;
	int64_t         i64;
	uint64_t        u64;
	int             flag;

	check("mps_exec_op", mps_exec_op(c, &op));
	NULLC(mps_create, "x", &co);
	NULLC(mps_create_simple, "x", MPS_KIND_LIST, MPS_TYPE_ANY);
	NULLC(mps_delete, "x");
	NULLC(mps_ls, "", &infos, &n);
	NULLC(mps_info_get, "x", &info);
	NULLC(mps_snapshot, &u64);
	NULLC(mps_backup, "/tmp/x");
	NULLC(mps_register_schema, "x", 1, 0);
	NULLC(mps_get_schema, &out);
	NULLC(mps_dump_get, "x", &dump);
	NULLC(mps_stats, &arr, &n);

	NULLC(mps_value_get, "x", &out);
	NULLC(mps_value_set, "x", &v);
	NULLC(mps_value_add, "x", &v, &out);
	NULLC(mps_value_cas, "x", &v, &v, &flag, &out);
	NULLC(mps_counter_add, "x", 1, &i64);
	NULLC(mps_counter_get, "x", &i64);
	NULLC(mps_value_add_double, "x", 1.0, NULL);

	NULLC(mps_list_append, "x", &v, &i64);
	NULLC(mps_list_extend, "x", &v, 1, &i64);
	NULLC(mps_list_insert, "x", 0, &v);
	NULLC(mps_list_get, "x", 0, &out);
	NULLC(mps_list_slice, "x", 0, 0, 0, &arr, &n);
	NULLC(mps_list_set, "x", 0, &v);
	NULLC(mps_list_pop, "x", &out);
	NULLC(mps_list_pop_index, "x", 0, &out);
	NULLC(mps_list_remove, "x", &v);
	NULLC(mps_list_index, "x", &v, &i64);
	NULLC(mps_list_len, "x", &i64);
	NULLC(mps_list_clear, "x");
	NULLC(mps_array_get, "x", 0, &out);
	NULLC(mps_array_set, "x", 0, &v);
	NULLC(mps_array_slice, "x", 0, 0, 0, &arr, &n);
	NULLC(mps_array_len, "x", &i64);

	NULLC(mps_dict_set, "x", &k, &v);
	NULLC(mps_dict_get, "x", &k, &out);
	NULLC(mps_dict_get_default, "x", &k, &v, &out);
	NULLC(mps_dict_del, "x", &k);
	NULLC(mps_dict_contains, "x", &k, &flag);
	NULLC(mps_dict_len, "x", &i64);
	NULLC(mps_dict_page, "x", MPS_OP_DICT_ITEMS, 0, 0, &arr, &arr, &n, &i64);
	NULLC(mps_dict_keys, "x", &arr, &n);
	NULLC(mps_dict_values, "x", &arr, &n);
	NULLC(mps_dict_items, "x", &arr, &arr, &n);
	NULLC(mps_dict_update, "x", &k, &v, 1);
	NULLC(mps_dict_setdefault, "x", &k, &v, &out);
	NULLC(mps_dict_pop, "x", &k, NULL, &out);
	NULLC(mps_dict_clear, "x");
	NULLC(mps_ns_set, "x", "a", &v);
	NULLC(mps_ns_get, "x", "a", &out);
	NULLC(mps_ns_del, "x", "a");
	NULLC(mps_ns_items, "x", &arr, &arr, &n);

	NULLC(mps_queue_put, "x", &v, 0, &i64);
	NULLC(mps_queue_get, "x", 0, &out);
	NULLC(mps_queue_size, "x", &i64);
	NULLC(mps_queue_empty, "x", &flag);
	NULLC(mps_queue_full, "x", &flag);
	NULLC(mps_queue_task_done, "x");
	NULLC(mps_queue_join, "x", 0);
	NULLC(mps_lock_acquire, "x", 0, &u64);
	NULLC(mps_rlock_acquire, "x", 0, &u64, &i64);
	NULLC(mps_lock_release, "x");
	NULLC(mps_lock_release_token, "x", 1);
	NULLC(mps_lock_locked, "x", &flag, &u64);
	NULLC(mps_sem_acquire, "x", 0, &i64);
	NULLC(mps_sem_release, "x", &i64);
	NULLC(mps_sem_value, "x", &i64);
	NULLC(mps_event_set, "x");
	NULLC(mps_event_clear, "x");
	NULLC(mps_event_is_set, "x", &flag);
	NULLC(mps_event_wait, "x", 0, &flag);
	NULLC(mps_cond_acquire, "x", 0, &u64);
	NULLC(mps_cond_release, "x");
	NULLC(mps_cond_wait, "x", 0, &flag);
	NULLC(mps_cond_notify, "x", 1, &i64);
	NULLC(mps_cond_notify_all, "x", &i64);
	NULLC(mps_barrier_wait, "x", 0, &i64);
	NULLC(mps_barrier_abort, "x");
	NULLC(mps_barrier_reset, "x");
	NULLC(mps_barrier_info, "x", &i64, &i64, &flag);
}

/* NULL for a pointer the call needs (the handle is NULL too, but it is
 * checked first; these take no handle) */
static void
test_null_values(void **state)
{
	(void) state;
	mps_value v = mps_int(7);
	assert_int_equal(mps_value_dup(NULL, &v), MPS_ERR_INVALID);
	assert_int_equal(mps_value_dup(&v, NULL), MPS_ERR_INVALID);
	assert_int_equal(v.type, MPS_NULL);
	assert_non_null(strstr(mps_last_error(), "mps_value_dup"));
	assert_int_equal(mps_value_from_json(NULL, &v), MPS_ERR_INVALID);
	assert_int_equal(mps_value_from_json("1", NULL), MPS_ERR_INVALID);
	assert_null(mps_value_to_json(NULL));
	assert_non_null(strstr(mps_last_error(), "mps_value_to_json"));
	assert_int_equal(mps_value_equal(NULL, &v), 0);
	assert_int_equal(mps_value_equal(NULL, NULL), 1);
	assert_int_equal(mps_kind_parse(NULL), -1);
	assert_int_equal(mps_elem_type_parse(NULL), -1);
	mps_value_free(NULL);
	mps_values_free(NULL, 3);
	mps_info_free(NULL);
	mps_infos_free(NULL, 2);
	mps_dump_free(NULL);
	v = mps_str(NULL);
	assert_int_equal(v.u.s.len, 0);
}

/* every mps_*(mps_client *c, ...) defined in the guarded files is above */
static void
test_all_covered(void **state)
{
	(void) state;
	static const char *const files[] = {"op.c", "ops_admin.c", "ops_dict.c", "ops_list.c",
		"ops_sync.c", "ops_value.c"};
	int found = 0;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char path[1024], line[512], prev[512] = "";
		snprintf(path, sizeof(path), "%s/%s", MPS_SRC_DIR, files[f]);
		FILE *fp = fopen(path, "r");
		assert_non_null(fp);
		while (fgets(line, sizeof(line), fp) != NULL) {
			/* a definition: "mps_err\nmps_name(mps_client *c, ..." */
			if (strncmp(line, "mps_", 4) == 0 && strncmp(line, "mps__", 5) != 0 &&
			    strstr(line, "(mps_client *c") != NULL && strncmp(prev, "mps_err", 7) == 0) {
				*strchr(line, '(') = '\0';
				int ok = 0;
				for (size_t i = 0; i < ncalled; i++) {
					ok |= strcmp(called[i], line) == 0;
				}
				if (!ok) {
					fail_msg("%s (%s) is not checked with a NULL handle", line, files[f]);
				}
				found++;
			}
			snprintf(prev, sizeof(prev), "%s", line);
		}
		fclose(fp);
	}
	assert_true(found >= 80);
	assert_int_equal((size_t) found, ncalled);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_handle),
		cmocka_unit_test(test_null_values),
		cmocka_unit_test(test_all_covered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
