/*
 * backup.c - online backup (sqlite3_backup_*) and counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "persist_int.h"

int
mpsp_backup(mpsp *p, const char *dest, char *err, size_t errlen)
{
	sqlite3        *src = NULL, *dst = NULL;
	sqlite3_backup *b;
	int             rc, rv = 0, fd, locked = 0;

	if (p->db == NULL)
		return mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_INVALID,
		    "backup: durability memory keeps no database to copy");
	if (dest == NULL || dest[0] == '\0' || strcmp(dest, ":memory:") == 0)
		return mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_INVALID, "backup: no destination path");
	/* O_EXCL: never overwrite; SQLite takes an empty file as a new database */
	if ((fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
		return mpsp__fail(err, errlen,
		    errno == EEXIST ? MPSTORE__STATUS__ERR_EXISTS : MPSTORE__STATUS__ERR_IO,
		    "backup: cannot create %s: %s", dest, strerror(errno));
	close(fd);

	rc = sqlite3_open_v2(dest, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rv = mpsp__fail(err, errlen, mpsp__status_of(rc), "backup: cannot open %s: %s", dest,
		    dst != NULL ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		goto out;
	}
	if (p->memdb) {
		/* one connection: copy under the commit lock, committed state only */
		pthread_mutex_lock(&p->mu);
		locked = 1;
		if ((rv = mpsp__flush_batch(p, err, errlen)) != 0)
			goto out;
		src = p->db;
	} else {
		rc = sqlite3_open_v2(p->path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
		if (rc != SQLITE_OK) {
			rv = mpsp__sqlfail(p, src, rc, err, errlen, "backup: cannot read");
			goto out;
		}
		sqlite3_busy_timeout(src, 5000);
	}
	b = sqlite3_backup_init(dst, "main", src, "main");
	if (b == NULL) {
		rv = mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_IO, "backup to %s: %s", dest,
		    sqlite3_errmsg(dst));
		goto out;
	}
	/* all pages in one step: one read transaction on the source, so
	 * concurrent commits neither restart the copy nor wait for it */
	do {
		rc = sqlite3_backup_step(b, -1);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(10);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		rv = mpsp__fail(err, errlen, mpsp__status_of(rc), "backup to %s failed: %s", dest,
		    sqlite3_errstr(rc));
out:
	if (locked)
		pthread_mutex_unlock(&p->mu);
	if (src != NULL && src != p->db)
		sqlite3_close(src);
	if (dst != NULL && sqlite3_close(dst) != SQLITE_OK && rv == 0)
		rv = mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_IO, "backup: cannot close %s", dest);
	if (rv != 0) {
		char side[4200];
		unlink(dest);
		snprintf(side, sizeof(side), "%s-wal", dest);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", dest);
		unlink(side);
		snprintf(side, sizeof(side), "%s-journal", dest);
		unlink(side);
	}
	return rv;
}

int
mpsp_backup_name_check(const char *name, char *err, size_t errlen)
{
	size_t n = name != NULL ? strlen(name) : 0;
	if (n == 0 || n > 255)
		return mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_INVALID,
		    "backup: the name must be 1 to 255 bytes");
	if (strchr(name, '/') != NULL)
		return mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_INVALID,
		    "backup: '%s' is a path; give a file name, which the daemon creates in its "
		    "--backup-dir", name);
	if (name[0] == '.')
		return mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_INVALID,
		    "backup: a name may not start with '.' ('%s')", name);
	return 0;
}

int
mpsp_backup_in(mpsp *p, const char *dir, const char *name, char *err, size_t errlen)
{
	char path[4352];
	int  rv = mpsp_backup_name_check(name, err, errlen);
	if (rv != 0)
		return rv;
	if (dir == NULL || dir[0] == '\0')
		return mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_INVALID,
		    "backup: no backup directory (mpstored --backup-dir DIR)");
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_INVALID, "backup: path too long");
	return mpsp_backup(p, path, err, errlen);
}

static uint64_t
file_size(const char *path, const char *suffix)
{
	char        buf[4200];
	struct stat st;
	snprintf(buf, sizeof(buf), "%s%s", path, suffix);
	return stat(buf, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int
mpsp_stats_get(mpsp *p, mpsp_stats *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&p->mu);
	st->durability     = p->d;
	st->last_rev       = p->last_rev;
	st->token          = p->token;
	st->log_rows       = p->log_rows;
	st->log_bytes      = p->log_bytes;
	st->log_batches    = p->log_batches;
	st->log_floor      = p->log_floor;
	st->snapshot_rev   = p->snap_rev;
	st->snapshot_rows  = p->snap_rows;
	st->snapshot_bytes = p->snap_bytes;
	st->upgraded_from  = p->upgraded_from;
	if (p->path != NULL && !p->memdb) {
		st->file_bytes = file_size(p->path, "");
		st->wal_bytes  = file_size(p->path, "-wal");
	}
	pthread_mutex_unlock(&p->mu);
	return 0;
}
