/* buf.c: growable byte buffer. Growth doubles, so appending n bytes costs amortised O(n). */
#include "core/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fasterapi/error.h"

int fa__buf_reserve(fa__buf_t *b, size_t extra) {
    if (b->cap - b->len >= extra)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len)
        return FA_ENOMEM;
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = b->borrowed ? malloc(cap) : realloc(b->data, cap);
    if (!p)
        return FA_ENOMEM;
    if (b->borrowed && b->len)
        memcpy(p, b->data, b->len);
    b->borrowed = 0;
    b->data = p;
    b->cap = cap;
    return 0;
}

int fa__buf_append(fa__buf_t *b, const void *data, size_t len) {
    int rc = fa__buf_reserve(b, len);
    if (rc)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

int fa__buf_appendf(fa__buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return FA_EINVAL;
    if ((size_t)n < sizeof small)
        return fa__buf_append(b, small, (size_t)n);
    int rc = fa__buf_reserve(b, (size_t)n + 1);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void fa__buf_consume(fa__buf_t *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void fa__buf_free(fa__buf_t *b) {
    if (!b->borrowed)
        free(b->data);
    b->borrowed = 0;
    b->data = NULL;
    b->len = b->cap = 0;
}

char *fa__buf_detach(fa__buf_t *b, size_t *len) {
    if (b->borrowed && fa__buf_reserve(b, b->cap - b->len + 1)) /* move to the heap */
        return NULL;
    if (fa__buf_putc(b, '\0'))
        return NULL;
    char *p = b->data;
    if (len)
        *len = b->len - 1;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
