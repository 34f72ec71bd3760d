/*
 * test_util.h - helpers for mpsp's unit tests (header-only, tests only).
 */
#ifndef MPSP_TEST_UTIL_H
#define MPSP_TEST_UTIL_H

/* nftw(3); tests include this header first */
#define _XOPEN_SOURCE 700

#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "persist_int.h"

#define OK_ERR(expr)                                                                     \
	do {                                                                             \
		int rv_ = (expr);                                                        \
		if (rv_ != 0)                                                            \
			fail_msg("%s -> %d: %s", #expr, rv_, err);                       \
	} while (0)

/* A fresh scratch directory per test, removed by tu_rmdir. */
static inline char *
tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char        tmpl[4096];
	snprintf(tmpl, sizeof(tmpl), "%s/mpsp-test-XXXXXX", base != NULL ? base : "/tmp");
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static inline int
tu_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	chmod(path, 0700);
	return remove(path);
}

static inline void
tu_rmdir(char *dir)
{
	chmod(dir, 0700);
	nftw(dir, tu_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

static inline char *
tu_path(const char *dir, const char *name)
{
	char *s = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(s, "%s/%s", dir, name);
	return s;
}

/* FNV-1a of a whole file; 0 when missing. */
static inline uint64_t
tu_checksum(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	uint64_t h = 1469598103934665603ull;
	int      c;
	while ((c = fgetc(f)) != EOF)
		h = (h ^ (uint64_t)c) * 1099511628211ull;
	fclose(f);
	return h;
}

static inline int
tu_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static inline void
tu_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Run SQL on a file with a plain SQLite connection (fixtures). */
static inline void
tu_sql(const char *path, const char *sql)
{
	sqlite3 *db;
	char    *msg = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

/* Collected records: "rev name data" strings, for comparisons. */
typedef struct tu_recs {
	size_t n, cap;
	char **s;
} tu_recs;

static inline int
tu_collect_cb(void *arg, const mpsp_rec *r)
{
	tu_recs *c = arg;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->s   = realloc(c->s, c->cap * sizeof(*c->s));
	}
	char *s = malloc(r->len + strlen(r->name) + 48);
	int   k = sprintf(s, "%llu %s %d ", (unsigned long long)r->rev, r->name, r->kind);
	if (r->len > 0) /* an empty record may come with data == NULL */
		memcpy(s + k, r->data, r->len);
	s[k + r->len] = '\0';
	c->s[c->n++]  = s;
	return 0;
}

static inline void
tu_recs_free(tu_recs *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->s[i]);
	free(c->s);
	memset(c, 0, sizeof(*c));
}

static inline mpsp_rec
tu_rec(uint64_t rev, const char *name, const char *data)
{
	mpsp_rec r = { rev, name, 2, (const uint8_t *)data, strlen(data) };
	return r;
}

#endif
