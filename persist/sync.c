/*
 * sync.c - mpsp_wal_sync: fdatasync the write-ahead log from any thread.
 *
 * In `log` mode SQLite runs with synchronous=NORMAL: a commit writes its
 * WAL frames into the page cache (so a crash of the process loses nothing)
 * and only checkpoints sync the file. The daemon calls this once a second
 * when something was committed, which bounds what a power loss can take to
 * about the last second (Redis's appendfsync everysec).
 *
 * It uses no SQLite connection, so it never waits for the commit thread.
 * The WAL is opened by path at every call: a WAL removed from under the
 * daemon is an error (what it holds would be lost), never a silent sync of
 * a file nobody will read again.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persist_int.h"

#define E_IO    MPSTORE__STATUS__ERR_IO
#define E_LIMIT MPSTORE__STATUS__ERR_LIMIT

/* fsync the database's directory once, so the WAL file's directory entry
 * (created at open) survives power loss too. */
static int sync_dir(mpsp *p, char *err, size_t errlen)
{
	if (__atomic_load_n(&p->dir_synced, __ATOMIC_ACQUIRE))
		return 0;
	char *copy = strdup(p->path);
	if (copy == NULL)
		return mpsp__fail(err, errlen, E_LIMIT, "out of memory");
	const char *dir = dirname(copy);
	int         fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int         rv = 0;
	if (fd < 0 || fsync(fd) != 0)
		rv = mpsp__fail(err, errlen, E_IO, "cannot sync the directory %s: %s", dir,
		    strerror(errno));
	if (fd >= 0)
		close(fd);
	free(copy);
	if (rv == 0)
		__atomic_store_n(&p->dir_synced, 1, __ATOMIC_RELEASE);
	return rv;
}

int
mpsp_wal_sync(mpsp *p, char *err, size_t errlen)
{
	if (p == NULL || p->memdb || p->path == NULL || p->d == MPSP_MEMORY)
		return 0;
	size_t n = strlen(p->path);
	char  *wal = malloc(n + 5);
	if (wal == NULL)
		return mpsp__fail(err, errlen, E_LIMIT, "out of memory");
	memcpy(wal, p->path, n);
	memcpy(wal + n, "-wal", 5);
	int rv = 0;
	int fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rv = mpsp__fail(err, errlen, E_IO,
		    "cannot open the write-ahead log %s to sync it: %s", wal, strerror(errno));
	} else {
		if (fdatasync(fd) != 0)
			rv = mpsp__fail(err, errlen, E_IO, "cannot sync the write-ahead log %s: %s", wal,
			    strerror(errno));
		close(fd);
	}
	free(wal);
	return rv != 0 ? rv : sync_dir(p, err, errlen);
}
