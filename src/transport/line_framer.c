/* line_framer.c: see line_framer.h. */
#include "transport/line_framer.h"

#include <string.h>

void fa__line_framer_init(fa__line_framer_t *f, size_t max) {
    memset(f, 0, sizeof *f);
    f->max = max;
}

void fa__line_framer_reset(fa__line_framer_t *f) {
    fa__buf_free(&f->partial);
    f->discarding = 0;
}

int fa__line_framer_has_partial(const fa__line_framer_t *f) {
    return f->partial.len > 0 || f->discarding;
}

static int blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

/* Finishes a line of len bytes at data: strips one trailing '\r', skips blank lines. */
static void emit(fa__line_framer_t *f, const char *data, size_t len, fa__line_t *out) {
    if (len && data[len - 1] == '\r')
        len--;
    if (blank(data, len)) {
        out->event = FA_LINE_NONE;
        return;
    }
    out->event = FA_LINE_OK;
    out->data = data;
    out->len = len;
    f->lines++;
}

size_t fa__line_framer_feed(fa__line_framer_t *f, const char *in, size_t n, fa__line_t *out) {
    out->event = FA_LINE_NONE;
    out->data = NULL;
    out->len = 0;
    if (n == 0)
        return 0;
    const char *nl = memchr(in, '\n', n);
    size_t upto = nl ? (size_t)(nl - in) : n; /* bytes before the newline (or all of them) */
    size_t consumed = nl ? upto + 1 : n;

    if (f->discarding) {
        if (nl)
            f->discarding = 0; /* resynchronised: the next byte starts a new message */
        return consumed;
    }
    /* The limit counts the line without its "\n" or "\r\n". Until the newline is seen, one
     * extra byte is allowed because it may turn out to be the CR of a CRLF. */
    size_t total = f->partial.len + upto;
    int too_big;
    if (nl) {
        char last =
            upto ? in[upto - 1] : (f->partial.len ? f->partial.data[f->partial.len - 1] : 0);
        too_big = total - (total && last == '\r' ? 1 : 0) > f->max;
    } else {
        too_big = total > f->max + 1;
    }
    if (too_big) {
        fa__buf_free(&f->partial);
        f->discarding = nl ? 0 : 1;
        f->oversized++;
        out->event = FA_LINE_TOOBIG;
        out->len = total;
        return consumed;
    }
    if (f->partial.len == 0) {
        if (nl)
            emit(f, in, upto, out); /* zero copy: the whole line is in this chunk */
        else if (fa__buf_append(&f->partial, in, upto) != 0)
            goto nomem;
        return consumed;
    }
    if (fa__buf_append(&f->partial, in, upto) != 0)
        goto nomem;
    if (nl) {
        emit(f, f->partial.data, f->partial.len, out);
        /* The line stays valid until the next feed; the buffer is reused then. */
        f->partial.len = 0;
    }
    return consumed;
nomem:
    fa__buf_free(&f->partial);
    f->discarding = nl ? 0 : 1;
    out->event = FA_LINE_NOMEM;
    out->len = total;
    return consumed;
}

void fa__line_framer_finish(fa__line_framer_t *f, fa__line_t *out) {
    out->event = FA_LINE_NONE;
    out->data = NULL;
    out->len = 0;
    if (!f->discarding && f->partial.len) {
        /* _feed keeps up to max + 1 bytes while waiting for a possible CRLF; at end of input
         * that extra byte is only allowed if it is the CR (found by fuzzing). */
        size_t len = f->partial.len;
        if (f->partial.data[len - 1] == '\r')
            len--;
        if (len > f->max) {
            f->oversized++;
            out->event = FA_LINE_TOOBIG;
            out->len = f->partial.len;
        } else {
            emit(f, f->partial.data, f->partial.len, out);
        }
        f->partial.len = 0; /* the line stays readable until the next feed/reset */
    }
    f->discarding = 0;
}
