/* errors.c - the error list's names and messages, the thread's last error. */
#include <stdarg.h>
#include <stdio.h>

#include <string.h>

#include <nng/nng.h>

#include "guard.h"
#include "mps_int.h"

const char *
mps_strerror(int err)
{
	switch (err) {
#define MPS_ERR_MSG_(name, code, msg) \
	case code:                    \
		return msg;
		MPS_ERRORS(MPS_ERR_MSG_)
#undef MPS_ERR_MSG_
	}
	return "unknown error";
}

const char *
mps_err_name(int err)
{
	switch (err) {
#define MPS_ERR_NAME_(name, code, msg) \
	case code:                     \
		return "MPS_" #name;
		MPS_ERRORS(MPS_ERR_NAME_)
#undef MPS_ERR_NAME_
	}
	return "MPS_ERR_UNKNOWN";
}

static _Thread_local char mps__errbuf[512];

const char *
mps_last_error(void)
{
	return mps__errbuf;
}

void
mps__clear_error(void)
{
	mps__errbuf[0] = '\0';
}

mps_err
mps__fail(mps_err err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(mps__errbuf, sizeof(mps__errbuf), fmt, ap);
	va_end(ap);
	return err;
}

mps_err
mps__null_arg(const char *fn, const char *arg)
{
	if (strcmp(arg, "c") == 0) {
		return mps__fail(MPS_ERR_INVALID,
		    "%s: the client handle is NULL (did mps_open fail? check what it returns)", fn);
	}
	return mps__fail(MPS_ERR_INVALID, "%s: %s is NULL", fn, arg);
}

/* nng's failures, mapped by meaning (the original text is kept as the
 * thread's last error). */
mps_err
mps__from_nng(int rv)
{
	mps_err e;
	switch (rv) {
	case 0:
		return MPS_OK;
	case NNG_ETIMEDOUT:
		e = MPS_ERR_TIMEOUT;
		break;
	case NNG_ECLOSED:
	case NNG_ECANCELED:
		e = MPS_ERR_CLOSED;
		break;
	case NNG_ENOMEM:
		e = MPS_ERR_NOMEM;
		break;
	case NNG_ECONNREFUSED:
	case NNG_EADDRINVAL:
	case NNG_ENOENT:
	case NNG_ENOTSUP:
	case NNG_EUNREACHABLE:
	case NNG_EPERM:
		e = MPS_ERR_CONNECT;
		break;
	case NNG_EMSGSIZE:
		e = MPS_ERR_TOO_BIG;
		break;
	default:
		e = MPS_ERR_TRANSPORT;
		break;
	}
	return mps__fail(e, "nng: %s", nng_strerror(rv));
}
