/* log.h - the daemon's log: stderr, one line per event, with a timestamp. */
#ifndef MPSD_LOG_H
#define MPSD_LOG_H

void mpsd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
