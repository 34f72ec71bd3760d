/* cli.h - shared pieces of the mpstore command-line client. */
#ifndef MPS_CLI_H
#define MPS_CLI_H

#include <stdio.h>

#include "mpstore/mpstore.h"

/* Exit statuses (docs/cli.md). */
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_TIMEOUT 3

typedef struct cli_opts {
	const char *url;
	double      timeout_s;     /* --timeout; < 0 when not given */
	int         have_count;
	int64_t     count;         /* --maxsize/--parties/--value/--length */
	int         key_type;      /* --key-type */
	int         declared;      /* register-schema --declared */
	const char *ifs[32];       /* txn --if */
	int         nifs;
	const char *thens[32];     /* txn --then */
	int         nthens;
	const char *elses[32];     /* txn --else */
	int         nelses;
} cli_opts;

/* Print "mpstore: <name>: <message>" and return the exit status for err. */
int  cli_fail(mps_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, with the library's last error text as the message. */
int  cli_fail_lib(mps_err err);

/* A command-line value: JSON, or else the word itself as a string. The
 * result is owned (mps_value_free). */
void cli_parse_value(const char *arg, mps_value *out);
/* An integer argument; 0 on success. */
int  cli_parse_int(const char *arg, int64_t *out);
/* A key for a container with key type kt: int64 keys must be integers;
 * string keys are taken literally. 0 on success (owned). */
int  cli_parse_key(const char *arg, int kt, mps_value *out);

/* Print v as JSON (no newline). */
void cli_print_value(FILE *f, const mps_value *v);
/* Print a JSON object of keys and values (keys as JSON strings). */
void cli_print_object(FILE *f, const mps_value *k, const mps_value *v, size_t n);
void cli_print_array(FILE *f, const mps_value *v, size_t n);

/* Build the op of a data command (get, set, append, pop, del, incr, len,
 * keys, put, ...) for container info. argv[0] is the command. Values of the
 * op are owned by `store` (freed by cli_opstore_fini). Returns 0 or an exit
 * status (after printing the error). */
typedef struct cli_opstore {
	mps_value vals[64];
	size_t    n;
} cli_opstore;
void cli_opstore_fini(cli_opstore *s);
int  cli_build_op(mps_client *c, const cli_opts *o, int argc, char **argv, mps_op *op,
     cli_opstore *s, mps_info *info);
/* Print an op's result as one JSON document ("null" for results without a
 * value when force is set; nothing otherwise). Returns 1 if it printed. */
int  cli_print_result(FILE *f, const mps_op *op, const mps_result *r, int force);

/* Milliseconds for an op's timeout from --timeout (forever when absent). */
int64_t cli_timeout_ms(const cli_opts *o);

int cli_txn(mps_client *c, const cli_opts *o);
/* watch.c: mpstore watch (argv[0] = "watch"). */
int cli_watch(mps_client *c, int argc, char **argv);

/* typed.c: message elements as JSON (field names from the daemon's schema,
 * fetched with OP_GET_SCHEMA on first use). cli_typed_note remembers the
 * message type of a container the command touches; cli_typed_use selects
 * the container whose values are printed next; cli_typed_parse turns a
 * JSON object (or {"$message": "<base64>"}) into a message value for info's
 * type (owned; 0 or an exit status after printing the error);
 * cli_typed_json gives v as JSON text (malloc'ed) or NULL when v is not a
 * message of the selected container (print it the generic way). */
void  cli_typed_note(mps_client *c, const mps_info *info);
void  cli_typed_use(const char *name);
int   cli_typed_parse(const mps_info *info, const char *arg, mps_value *out);
char *cli_typed_json(const mps_value *v);

#endif
