/* fasterapi/log.h: logging to stderr.
 *
 * Logs never go to stdout: in stdio mode stdout carries only protocol bytes (MCP stdio transport,
 * spec 2025-11-25 basic/transports). Each record is formatted on the caller's stack and written
 * with one write(2) call, so records from different threads do not interleave and no lock is
 * taken. A record below the threshold costs one relaxed atomic load and a branch.
 *
 * Thread safety: every function may be called from any thread.
 */
#ifndef FASTERAPI_LOG_H
#define FASTERAPI_LOG_H

#include "fasterapi/common.h"

typedef enum {
    FA_LOG_TRACE = 0,
    FA_LOG_DEBUG = 1,
    FA_LOG_INFO = 2,
    FA_LOG_WARN = 3,
    FA_LOG_ERROR = 4,
    FA_LOG_OFF = 5
} fa_log_level_t;

/* Sets the process-wide threshold; records below it are dropped. Default FA_LOG_INFO. */
FA_EXTERN void fa_log_set_level(fa_log_level_t level);
FA_EXTERN fa_log_level_t fa_log_get_level(void);

/* Parses "trace", "debug", "info", "warn"/"warning", "error", "off" (case-insensitive).
 * Returns 0 and sets *out, or FA_EINVAL. */
FA_EXTERN int fa_log_parse_level(const char *name, fa_log_level_t *out);

/* Writes one record if level >= threshold. The message is truncated at 4 KiB. */
FA_EXTERN void fa_log(fa_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
