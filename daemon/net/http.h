/*
 * http.h - a small HTTP/1.0 and 1.1 responder on the loop, for
 * `mpstored --metrics http://HOST:PORT/PATH`: a GET (or HEAD) of PATH is
 * answered 200 with what a callback renders, anything else with an error
 * status; every answer closes its connection. Not a general web server:
 * one path, no keep-alive, no request bodies, and bounded in what a peer
 * can make it hold (MPSD_HTTP_* below).
 *
 * It knows nothing of the daemon: the daemon gives it a render callback.
 * Loop thread only.
 */
#ifndef MPSD_HTTP_H
#define MPSD_HTTP_H

#include <stddef.h>

#include <uv.h>

#define MPSD_HTTP_CONNS       16    /* connections at once; more are closed at accept */
#define MPSD_HTTP_REQUEST_MAX 8192  /* bytes of request line and headers */
#define MPSD_HTTP_DEADLINE_MS 10000 /* to send a request and read the answer */

typedef struct mpsd_http mpsd_http;

/* The body of a 200 answer: malloc'd bytes the responder frees, and
 * their length; NULL when out of memory (answered 503). ctype is the
 * Content-Type. */
typedef char *(*mpsd_http_render_fn)(void *arg, size_t *len);

/* Split http://HOST:PORT[/PATH] (HOST may be [v6]; PATH defaults to
 * "/metrics"). 0, or -1 when it is not such a URL. */
int mpsd_http_parse_url(const char *url, char *host, size_t hlen, int *port, char *path,
    size_t plen);

/* Listen on url and answer GET PATH with render's body as ctype. 0, or -1
 * with a message in err (nothing left open). */
int  mpsd_http_open(mpsd_http **out, uv_loop_t *loop, const char *url, const char *ctype,
     mpsd_http_render_fn render, void *arg, char *err, size_t errlen);
/* Close the listener and every connection; the memory goes once libuv
 * has closed them (within the loop's next turn). NULL is fine. */
void mpsd_http_close(mpsd_http *h);

#endif
