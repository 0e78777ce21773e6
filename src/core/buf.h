/* core/buf.h: a growable byte buffer (sds-like, but a plain struct). Not thread-safe: a buffer is
 * owned by one thread at a time and moves between threads only by transfer. */
#ifndef FA_CORE_BUF_H
#define FA_CORE_BUF_H

#include <stddef.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    int borrowed; /* data is caller-provided storage: never realloc'd or freed by us */
} fa__buf_t;

#define FA__BUF_INIT                                                                               \
    { NULL, 0, 0, 0 }

/* A buffer that writes into `storage` (cap bytes) and moves to the heap only if it outgrows it.
 * Lets a thread fill memory another thread allocated, so each thread frees what it allocated
 * (glibc malloc locks an arena when a thread frees another thread's chunks). */
static inline fa__buf_t fa__buf_on(char *storage, size_t cap) {
    fa__buf_t b = {storage, 0, cap, 1};
    return b;
}

/* Makes room for `extra` more bytes (geometric growth). 0 or FA_ENOMEM. */
int fa__buf_reserve(fa__buf_t *b, size_t extra);
int fa__buf_append(fa__buf_t *b, const void *data, size_t len);
int fa__buf_appendf(fa__buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes (memmove). */
void fa__buf_consume(fa__buf_t *b, size_t n);
/* Releases the memory; the buffer is empty and reusable afterwards. */
void fa__buf_free(fa__buf_t *b);
/* Hands the bytes to the caller (malloc'd, NUL-terminated, *len set) and resets b. NULL on OOM. */
char *fa__buf_detach(fa__buf_t *b, size_t *len);

static inline int fa__buf_append_str(fa__buf_t *b, const char *s) {
    return fa__buf_append(b, s, strlen(s));
}

static inline int fa__buf_putc(fa__buf_t *b, char c) {
    if (b->len == b->cap) {
        int rc = fa__buf_reserve(b, 1);
        if (rc)
            return rc;
    }
    b->data[b->len++] = c;
    return 0;
}

#endif
