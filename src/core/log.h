/* core/log.h: internal logging macros. The threshold check is inline so a disabled level costs
 * one relaxed load and a branch (the seed project lost 4.5x throughput to a mutex in a disabled
 * debug macro: research/perf_anchors.md §A.4). */
#ifndef FA_CORE_LOG_H
#define FA_CORE_LOG_H

#include <stdatomic.h>
#include <stddef.h>

#include "fasterapi/log.h"

/* Relaxed is enough: the threshold is a hint; a thread may see a new level a little late. */
extern _Atomic int fa__log_threshold;

void fa__log_write(fa_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes text (whole lines) to stderr in full, never interleaved with another caller's text or a
 * log record, whatever its length. Any thread. */
void fa__log_write_raw(const char *text, size_t len);

/* Start-up phase times: with FASTERAPI_TRACE_START set (to anything but "" or "0"), writes
 * "fasterapi: start +12.34 ms PHASE" to stderr, in ms since the first call (made at the top of
 * main), so the cold start can be taken apart without a profiler (bench/README.md, "Cold
 * start"). Otherwise one relaxed load. Any thread; PHASE is a short literal. */
void fa__trace_start(const char *phase);

#define FA_LOG(level, ...)                                                                         \
    do {                                                                                           \
        if ((int)(level) >= atomic_load_explicit(&fa__log_threshold, memory_order_relaxed))        \
            fa__log_write((level), __VA_ARGS__);                                                   \
    } while (0)
#define FA_DEBUG(...) FA_LOG(FA_LOG_DEBUG, __VA_ARGS__)
#define FA_INFO(...) FA_LOG(FA_LOG_INFO, __VA_ARGS__)
#define FA_WARN(...) FA_LOG(FA_LOG_WARN, __VA_ARGS__)
#define FA_ERROR(...) FA_LOG(FA_LOG_ERROR, __VA_ARGS__)

#endif
