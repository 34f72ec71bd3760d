/* client_cli_run.c - runs a CLI test script (cli_*.sh) against a fresh
 * mpstored: `client_cli_run SCRIPT`, with MPSTORE_URL and MPSTORE (the CLI's
 * path), MPSTORED_DIR (the daemon's scratch directory) and MPSTORED_BACKUP_DIR
 * (its --backup-dir) in the script's environment. Exits with the script's
 * status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

int
main(int argc, char **argv)
{
	mpst_daemon d;
	if (argc != 2) {
		fprintf(stderr, "usage: client_cli_run SCRIPT\n");
		return 2;
	}
	const char *tmp = getenv("TMPDIR");
	char        bdir[256];
	snprintf(bdir, sizeof(bdir), "%s/mpst-backups.XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(bdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if (mpst_daemon_start(&d, (const char *const[]){"--backup-dir", bdir, NULL}) != 0) {
		fprintf(stderr, "cannot start mpstored (see %s)\n", d.log);
		return 1;
	}
	setenv("MPSTORED_BACKUP_DIR", bdir, 1);
	setenv("MPSTORE_URL", d.url, 1);
	setenv("MPSTORE", mpst_cli_path(), 1);
	setenv("MPSTORED_DIR", d.dir, 1);
	static char out[1 << 16], err[1 << 16];
	const char *const av[] = {"/bin/sh", argv[1], NULL};
	/* no limit of its own (a day): the test's TIMEOUT in CMake is the bound,
	 * so a loaded machine slows a script down without failing it */
	int rv = mpst_run_ms(av, out, sizeof(out), err, sizeof(err), 86400000);
	fputs(out, stdout);
	fputs(err, stderr);
	mpst_daemon_cleanup(&d);
	char rm[300];
	snprintf(rm, sizeof(rm), "rm -rf '%s'", bdir);
	if (system(rm) != 0)
		fprintf(stderr, "could not remove %s\n", bdir);
	return rv;
}
