/* nng_dial.c - see nng_dial.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nng_dial.h"

#include <nng/supplemental/tls/tls.h>

static pid_t nng_pid; /* the process that started nng, 0: none */

mps_err
mps__nng_enter(void)
{
	if (mps__nng_in_child()) {
		return mps__fail(MPS_ERR_INVALID,
		    "tls+tcp:// goes through nng, which cannot run in a child forked after its "
		    "parent used it: open tls+tcp:// handles after fork, or exec");
	}
	__atomic_store_n(&nng_pid, getpid(), __ATOMIC_RELEASE);
	return MPS_OK;
}

int
mps__nng_in_child(void)
{
	pid_t p = __atomic_load_n(&nng_pid, __ATOMIC_ACQUIRE);
	return p != 0 && p != getpid();
}

/* A whole (PEM) file as a NUL-terminated string, or NULL. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		return NULL;
	}
	char  *buf = NULL;
	size_t len = 0, cap = 0, n;
	char   chunk[4096];
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n + 1 > cap) {
			cap     = (len + n + 1) * 2;
			char *nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	if (buf != NULL) {
		buf[len] = '\0';
	}
	return buf;
}

/* The host of a tls+tcp://host:port URL when it is a name, not an
 * address (mbedtls checks names only): 1 with it in out. */
static int
url_host_name(const char *url, char *out, size_t len)
{
	const char *h = strstr(url, "://");
	const char *colon = h != NULL ? strrchr(h + 3, ':') : NULL;
	if (colon == NULL || h[3] == '[' || (size_t) (colon - (h + 3)) >= len || colon == h + 3) {
		return 0;
	}
	memcpy(out, h + 3, (size_t) (colon - (h + 3)));
	out[colon - (h + 3)] = '\0';
	struct in_addr a4;
	return inet_pton(AF_INET, out, &a4) != 1 && strcmp(out, "*") != 0;
}

static int
tls_setup(nng_dialer d, const mps__dialopts *o, char *err, size_t errlen)
{
	nng_tls_config *cfg = NULL;
	int             rv  = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT);
	if (rv != 0) {
		snprintf(err, errlen, "TLS: %s", nng_strerror(rv));
		return rv;
	}
	/* the server's certificate is always checked: without a CA file
	 * nothing can be trusted and the connection is refused */
	rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED);
	if (rv == 0 && o->tls_ca_file != NULL && o->tls_ca_file[0] != '\0' &&
	    (rv = nng_tls_config_ca_file(cfg, o->tls_ca_file)) != 0) {
		snprintf(err, errlen, "TLS: cannot load the CA file %s: %s", o->tls_ca_file,
		    nng_strerror(rv));
	}
	char host[256];
	const char *name = o->tls_server_name;
	if ((name == NULL || name[0] == '\0') && url_host_name(o->url, host, sizeof(host))) {
		name = host; /* as a browser would: the name dialled */
	}
	if (rv == 0 && name != NULL && name[0] != '\0' &&
	    (rv = nng_tls_config_server_name(cfg, name)) != 0) {
		snprintf(err, errlen, "TLS: server name %s: %s", name, nng_strerror(rv));
	}
	if (rv == 0 && o->tls_cert_file != NULL && o->tls_cert_file[0] != '\0') {
		if (o->tls_key_file == NULL || o->tls_key_file[0] == '\0') {
			/* one file holding the certificate and its key */
			rv = nng_tls_config_cert_key_file(cfg, o->tls_cert_file, NULL);
		} else {
			char *cert = slurp(o->tls_cert_file), *key = slurp(o->tls_key_file);
			rv = cert == NULL || key == NULL ? NNG_ENOENT
			                                 : nng_tls_config_own_cert(cfg, cert, key, NULL);
			free(cert);
			free(key);
		}
		if (rv != 0) {
			snprintf(err, errlen, "TLS: cannot load the client certificate %s (key %s): %s",
			    o->tls_cert_file, o->tls_key_file ? o->tls_key_file : "in the same file",
			    nng_strerror(rv));
		}
	}
	if (rv == 0 && (rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg)) != 0) {
		snprintf(err, errlen, "TLS: %s", nng_strerror(rv));
	}
	nng_tls_config_free(cfg); /* the dialer holds its own reference */
	return rv;
}

int
mps__nng_dial(nng_socket s, const mps__dialopts *o, int flags, char *err, size_t errlen)
{
	nng_dialer d;
	int        rv = nng_dialer_create(&d, s, o->url);
	if (rv != 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", o->url, nng_strerror(rv));
		return rv;
	}
	if (strncmp(o->url, "tls+", 4) == 0 && (rv = tls_setup(d, o, err, errlen)) != 0) {
		nng_dialer_close(d);
		return rv;
	}
	if ((rv = nng_dialer_start(d, flags)) != 0) {
		if (rv == NNG_EPEERAUTH || rv == NNG_ECRYPTO) {
			snprintf(err, errlen,
			    "cannot connect to %s: TLS: the server could not be authenticated (%s)%s",
			    o->url, nng_strerror(rv),
			    o->tls_ca_file == NULL || o->tls_ca_file[0] == '\0'
			        ? ": no CA file (set MPSTORE_TLS_CA or mps_open_opts.tls_ca_file)"
			    : o->tls_cert_file != NULL && o->tls_cert_file[0] != '\0'
			        ? ": is its certificate signed by the CA file, for the server name? "
			          "Or did it refuse our client certificate (mpstored --tls-client-ca)?"
			        : ": is its certificate signed by the CA file, for the server name?");
		} else if (rv == NNG_ECONNSHUT || rv == NNG_ECLOSED) {
			snprintf(err, errlen,
			    "cannot connect to %s: %s (a daemon that requires client certificates, "
			    "mpstored --tls-client-ca, closes on a client without one: set "
			    "MPSTORE_TLS_CERT and MPSTORE_TLS_KEY)",
			    o->url, nng_strerror(rv));
		} else {
			snprintf(err, errlen, "cannot connect to %s: %s", o->url, nng_strerror(rv));
		}
		nng_dialer_close(d);
	}
	return rv;
}
