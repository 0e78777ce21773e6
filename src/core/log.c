/* log.c: stderr logging. One record = one write(2) of a line built on the stack.
 *
 * Every whole-line write to stderr in the process goes through fa__log_write_raw: the log
 * records, and the Python host's print() output (each interpreter buffers a line and hands it
 * over complete). A write(2) of at most PIPE_BUF bytes to a pipe is atomic by itself; longer
 * lines are written in several pieces, and the mutex keeps another thread's line from landing
 * between them. Taken only when something is written (a disabled level never gets here), it
 * costs far less than the write(2) it guards. */
#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fasterapi/error.h"

_Atomic int fa__log_threshold = FA_LOG_INFO;

static const char *const level_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"};

void fa_log_set_level(fa_log_level_t level) {
    atomic_store_explicit(&fa__log_threshold, (int)level, memory_order_relaxed);
}

fa_log_level_t fa_log_get_level(void) {
    return (fa_log_level_t)atomic_load_explicit(&fa__log_threshold, memory_order_relaxed);
}

int fa_log_parse_level(const char *name, fa_log_level_t *out) {
    static const struct {
        const char *name;
        fa_log_level_t level;
    } names[] = {{"trace", FA_LOG_TRACE}, {"debug", FA_LOG_DEBUG},  {"info", FA_LOG_INFO},
                 {"warn", FA_LOG_WARN},   {"warning", FA_LOG_WARN}, {"error", FA_LOG_ERROR},
                 {"off", FA_LOG_OFF}};
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return FA_EINVAL;
}

static void log_vwrite(fa_log_level_t level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void log_vwrite(fa_log_level_t level, const char *fmt, va_list ap) {
    char line[4096];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ fasterapi[%d] %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(tv.tv_usec / 1000), (int)getpid(), level_names[level]);
    if (n < 0)
        return;
    size_t used = (size_t)n;
    int m = vsnprintf(line + used, sizeof line - used - 1, fmt, ap);
    if (m > 0)
        used += (size_t)m < sizeof line - used - 1 ? (size_t)m : sizeof line - used - 2;
    line[used++] = '\n';
    fa__log_write_raw(line, used);
}

static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

void fa__log_write_raw(const char *text, size_t len) {
    pthread_mutex_lock(&write_lock);
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, text, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* stderr is gone or broken: nowhere better to report it */
        text += w;
        len -= (size_t)w;
    }
    pthread_mutex_unlock(&write_lock);
}

/* -1 unknown, 0 off, 1 on. The first call sets the origin; the CLI makes it at the top of main,
 * before any other thread exists. Relaxed: two first calls racing would both store a valid
 * origin, and a trace line is a diagnostic. */
static _Atomic int trace_on = -1;
static _Atomic uint64_t trace_t0;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void fa__trace_start(const char *phase) {
    int on = atomic_load_explicit(&trace_on, memory_order_relaxed);
    if (on < 0) {
        const char *e = getenv("FASTERAPI_TRACE_START");
        on = e && *e && strcmp(e, "0") != 0;
        atomic_store_explicit(&trace_t0, now_ns(), memory_order_relaxed);
        atomic_store_explicit(&trace_on, on, memory_order_relaxed);
    }
    if (!on)
        return;
    char line[160];
    int n = snprintf(
        line, sizeof line, "fasterapi: start +%.2f ms %s\n",
        (double)(now_ns() - atomic_load_explicit(&trace_t0, memory_order_relaxed)) / 1e6, phase);
    if (n > 0)
        fa__log_write_raw(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void fa__log_write(fa_log_level_t level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, fmt, ap);
    va_end(ap);
}

void fa_log(fa_log_level_t level, const char *fmt, ...) {
    if ((int)level < atomic_load_explicit(&fa__log_threshold, memory_order_relaxed) ||
        level >= FA_LOG_OFF)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, fmt, ap);
    va_end(ap);
}
