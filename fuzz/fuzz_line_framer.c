/* fuzz/fuzz_line_framer.c: the stdio line framer against a reference framer.
 *
 * Input layout: byte 0 chooses the maximum line length, byte 1 the way the rest is cut into
 * chunks (whole, byte by byte, fixed size, or pseudo-random sizes including empty feeds); the
 * remaining bytes are the stream. The framer's contract (transport/line_framer.h) says its output
 * does not depend on how the stream is split, so the harness frames the stream twice with one
 * framer (once split as chosen, once whole, with _finish in between as the reset) and compares
 * both event sequences with a few-line reference that sees the whole stream at once:
 *
 *   - split at '\n' (the last line may lack one: _finish takes it at EOF) and drop one trailing
 *     '\r' (CRLF);
 *   - a line still longer than max bytes is one FA_LINE_TOOBIG event, whatever its length;
 *   - a line of only JSON whitespace (space, tab, CR; RFC 8259 §2) is skipped; anything else is
 *     one FA_LINE_OK with exactly those bytes.
 *
 * Per-call invariants are checked as well: _feed consumes between 1 and n bytes (0 only for
 * n == 0), a line never contains '\n' and never exceeds max, in-place lines lie inside the
 * consumed bytes, the statistics counters agree with the events, and nothing is pending after
 * _finish. FA_LINE_NOMEM cannot happen at these sizes, so it is a failure too.
 */
#include <string.h>

#include "fuzz_common.h"
#include "transport/line_framer.h"

typedef struct {
    fa__line_event_t event;
    size_t off; /* OK: bytes at arena[off..off+len) */
    size_t len;
} ev_t;

typedef struct {
    ev_t *ev;
    size_t n;
    uint8_t *arena;
    size_t used;
} evlist_t;

static void push(evlist_t *l, fa__line_event_t event, const char *data, size_t len) {
    ev_t *e = &l->ev[l->n++];
    e->event = event;
    e->off = l->used;
    e->len = event == FA_LINE_OK ? len : 0;
    if (event == FA_LINE_OK) {
        memcpy(l->arena + l->used, data, len);
        l->used += len;
    }
}

static int blank(const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

/* The whole-input reference described at the top. */
static void reference(const uint8_t *in, size_t n, size_t max, evlist_t *out) {
    size_t pos = 0;
    while (pos < n) {
        const uint8_t *s = in + pos;
        const uint8_t *nl = memchr(s, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - s) : n - pos;
        pos += len + (nl ? 1 : 0);
        if (len && s[len - 1] == '\r')
            len--;
        if (len > max)
            push(out, FA_LINE_TOOBIG, NULL, 0);
        else if (!blank(s, len))
            push(out, FA_LINE_OK, (const char *)s, len);
    }
}

static void check_line(const fa__line_framer_t *f, const fa__line_t *line, const char *chunk,
                       size_t used, size_t max) {
    switch (line->event) {
    case FA_LINE_NONE:
        break;
    case FA_LINE_OK: {
        FUZZ_CHECK(line->data != NULL);
        FUZZ_CHECK(line->len > 0 && line->len <= max);
        FUZZ_CHECK(memchr(line->data, '\n', line->len) == NULL);
        FUZZ_CHECK(!blank((const uint8_t *)line->data, line->len));
        /* Zero copy inside the consumed bytes, or assembled in the framer's own buffer. */
        int in_chunk = chunk && line->data >= chunk && line->data + line->len <= chunk + used;
        int in_buf = f->partial.data && line->data >= f->partial.data &&
                     line->data + line->len <= f->partial.data + f->partial.cap;
        FUZZ_CHECK(in_chunk || in_buf);
        break;
    }
    case FA_LINE_TOOBIG:
        FUZZ_CHECK(line->len > max);
        break;
    default:
        FUZZ_FAIL("unexpected event (FA_LINE_NOMEM cannot happen at fuzz sizes)");
    }
}

static void frame(fa__line_framer_t *f, const uint8_t *in, size_t n, splitter_t *sp, size_t max,
                  evlist_t *out) {
    uint64_t lines0 = f->lines, oversized0 = f->oversized;
    size_t pos = 0;
    int spins = 0;
    while (pos < n) {
        size_t chunk = next_chunk(sp, n - pos);
        if (chunk == 0) {
            fa__line_t line;
            FUZZ_CHECK(fa__line_framer_feed(f, (const char *)in + pos, 0, &line) == 0);
            FUZZ_CHECK(line.event == FA_LINE_NONE);
            FUZZ_CHECK(++spins < 1000); /* the splitter must make progress */
            continue;
        }
        /* The contract: callers loop until the whole chunk is consumed, handling each event. */
        size_t off = 0;
        while (off < chunk) {
            fa__line_t line;
            const char *p = (const char *)in + pos + off;
            size_t used = fa__line_framer_feed(f, p, chunk - off, &line);
            FUZZ_CHECK(used >= 1 && used <= chunk - off);
            check_line(f, &line, p, used, max);
            if (line.event != FA_LINE_NONE)
                push(out, line.event, line.data, line.len);
            off += used;
        }
        pos += chunk;
    }
    FUZZ_CHECK(pos == n);
    /* Something is pending at EOF exactly when the stream does not end with '\n'. */
    FUZZ_CHECK(fa__line_framer_has_partial(f) == (n > 0 && in[n - 1] != '\n'));
    fa__line_t last;
    fa__line_framer_finish(f, &last);
    check_line(f, &last, NULL, 0, max);
    if (last.event != FA_LINE_NONE)
        push(out, last.event, last.data, last.len);
    FUZZ_CHECK(!fa__line_framer_has_partial(f));

    uint64_t ok = 0, big = 0;
    for (size_t i = 0; i < out->n; i++) {
        ok += out->ev[i].event == FA_LINE_OK;
        big += out->ev[i].event == FA_LINE_TOOBIG;
    }
    FUZZ_CHECK(f->lines - lines0 == ok);
    FUZZ_CHECK(f->oversized - oversized0 == big);
}

static void expect_same(const evlist_t *got, const evlist_t *want) {
    FUZZ_CHECK(got->n == want->n);
    for (size_t i = 0; i < got->n; i++) {
        const ev_t *g = &got->ev[i], *w = &want->ev[i];
        FUZZ_CHECK(g->event == w->event);
        FUZZ_CHECK(g->len == w->len);
        FUZZ_CHECK(memcmp(got->arena + g->off, want->arena + w->off, g->len) == 0);
    }
}

static int evlist_init(evlist_t *l, size_t n) {
    /* At most one event per consumed byte, plus the one _finish returns. */
    l->ev = malloc((n + 1) * sizeof *l->ev);
    l->arena = malloc(n + 1);
    l->n = l->used = 0;
    return l->ev && l->arena ? 0 : -1;
}

static void evlist_free(evlist_t *l) {
    free(l->ev);
    free(l->arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    /* 0..127 directly (small limits make oversized lines common), then 64..8192 in steps. */
    size_t max = data[0] < 128 ? data[0] : ((size_t)data[0] - 127) * 64;
    splitter_t sp = {data[1] & 3u, (data[1] >> 2) + 1u, 0x9e3779b9u ^ data[1]};
    const uint8_t *in = data + 2;
    size_t n = size - 2;

    evlist_t want, split, whole;
    if (evlist_init(&want, n) || evlist_init(&split, n) || evlist_init(&whole, n))
        abort();
    reference(in, n, max, &want);

    fa__line_framer_t f;
    fa__line_framer_init(&f, max);
    frame(&f, in, n, &sp, max, &split);
    expect_same(&split, &want);

    /* _finish left the framer reusable: the same stream in one chunk must frame the same. */
    splitter_t one = {0, 0, 0};
    frame(&f, in, n, &one, max, &whole);
    expect_same(&whole, &want);
    fa__line_framer_reset(&f);
    FUZZ_CHECK(f.partial.data == NULL && !fa__line_framer_has_partial(&f));

    evlist_free(&want);
    evlist_free(&split);
    evlist_free(&whole);
    return 0;
}
