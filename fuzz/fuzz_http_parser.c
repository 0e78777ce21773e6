/* fuzz/fuzz_http_parser.c: the HTTP/1.1 head parser and chunked decoder, split against whole.
 *
 * Input layout: byte 0 chooses the limits (request line, head, header count and body, each from
 * four values, small ones included so every limit is hit), byte 1 seeds the split points and
 * (its low bit) picks the trailer limit: max_head, or 12 bytes so 431 is reachable; the
 * remaining bytes are the stream: a request head, then (when the head says chunked) its body.
 *
 * The contract (transport/http_parser.h) is that the answer never depends on how the bytes
 * arrived. So the head is parsed:
 *   - whole, in a heap copy of exactly the stream, so ASan sees any read past len;
 *   - byte by byte, resuming with prev_len (each prefix in an exact-size copy for short streams);
 *   - cut at 1-2 pseudo-random points, both resumed and fresh (prev_len 0) at each cut;
 * and the first non-FA_EAGAIN answer of each must be the whole answer: same return, same fields
 * (as offsets into the buffer), same status and reason. Every returned pointer must lie inside
 * the head, counts inside their limits, statuses among the documented ones.
 *
 * When the head parses and is chunked, the rest is decoded whole, byte by byte and cut at 1-2
 * pseudo-random points: the decoded bytes, the consumed count, the end flag and the error must
 * be the same; the output never grows past the input and the decoder never consumes more than
 * it was given.
 */
#include <string.h>

#include "fasterapi/error.h"
#include "fuzz_common.h"
#include "transport/http_parser.h"

/* ---- the head ---- */

/* A parse result with the pointers as offsets, comparable across copies of the buffer. */
typedef struct {
    int rc;
    int status;
    const char *reason;
    fa_http_method_t method;
    long method_off, target_off, path_off, query_off; /* -1 for NULL */
    size_t method_len, target_len, path_len, query_len, nheaders, head_len;
    int minor_version, chunked, keep_alive, expect_continue, upgrade;
    int64_t content_length;
    size_t hdr[4 * 128]; /* name off, name len, value off, value len for each field */
} snap_t;

static long off_in(const char *p, size_t plen, const char *base, size_t head_len) {
    if (!p)
        return -1;
    FUZZ_CHECK(p >= base && p + plen <= base + head_len);
    return (long)(p - base);
}

static void snap(snap_t *s, int rc, const fa__http_request_t *r, const char *base, size_t n,
                 const fa__http_limits_t *lim) {
    memset(s, 0, sizeof *s);
    s->rc = rc;
    if (rc == FA_EAGAIN)
        return;
    if (rc < 0) {
        FUZZ_CHECK(rc == FA_EINVAL);
        FUZZ_CHECK(r->reason != NULL);
        FUZZ_CHECK(r->status == 400 || r->status == 413 || r->status == 414 || r->status == 431 ||
                   r->status == 501 || r->status == 505);
        s->status = r->status;
        s->reason = r->reason;
        return;
    }
    size_t hl = (size_t)rc;
    FUZZ_CHECK(hl == r->head_len && hl <= n && hl <= lim->max_head);
    FUZZ_CHECK(hl >= 4 && memcmp(base + hl - 4, "\r\n\r\n", 4) == 0);
    FUZZ_CHECK(r->status == 0);
    FUZZ_CHECK(r->minor_version == 0 || r->minor_version == 1);
    FUZZ_CHECK(r->nheaders <= lim->max_headers);
    FUZZ_CHECK(r->method_str && r->method_len > 0 && r->target && r->target_len > 0 && r->path);
    FUZZ_CHECK(!(r->chunked && r->content_length >= 0));
    FUZZ_CHECK(r->content_length < 0 || (uint64_t)r->content_length <= lim->max_body);
    if (r->method != FA_HTTP_OTHER) {
        const char *name = fa__http_method_name(r->method);
        FUZZ_CHECK(strlen(name) == r->method_len &&
                   memcmp(name, r->method_str, r->method_len) == 0);
    }
    /* path and query lie inside the target. */
    FUZZ_CHECK(r->path >= r->target && r->path + r->path_len <= r->target + r->target_len);
    FUZZ_CHECK(!r->query ||
               (r->query >= r->target && r->query + r->query_len <= r->target + r->target_len));
    s->method = r->method;
    s->method_off = off_in(r->method_str, r->method_len, base, hl);
    s->target_off = off_in(r->target, r->target_len, base, hl);
    s->path_off = off_in(r->path, r->path_len, base, hl);
    s->query_off = off_in(r->query, r->query_len, base, hl);
    s->method_len = r->method_len;
    s->target_len = r->target_len;
    s->path_len = r->path_len;
    s->query_len = r->query_len;
    s->nheaders = r->nheaders;
    s->head_len = r->head_len;
    s->minor_version = r->minor_version;
    s->chunked = r->chunked;
    s->keep_alive = r->keep_alive;
    s->expect_continue = r->expect_continue;
    s->upgrade = r->upgrade;
    s->content_length = r->content_length;
    for (size_t i = 0; i < r->nheaders && i < 128; i++) {
        const fa__http_header_t *h = &r->headers[i];
        FUZZ_CHECK(h->name_len > 0);
        s->hdr[4 * i] = (size_t)off_in(h->name, h->name_len, base, hl);
        s->hdr[4 * i + 1] = h->name_len;
        s->hdr[4 * i + 2] = (size_t)off_in(h->value, h->value_len, base, hl);
        s->hdr[4 * i + 3] = h->value_len;
        /* Values are trimmed and hold no CR, LF or NUL. */
        FUZZ_CHECK(h->value_len == 0 ||
                   (h->value[0] != ' ' && h->value[0] != '\t' &&
                    h->value[h->value_len - 1] != ' ' && h->value[h->value_len - 1] != '\t'));
        FUZZ_CHECK(!memchr(h->value, '\r', h->value_len) && !memchr(h->value, '\n', h->value_len) &&
                   !memchr(h->value, '\0', h->value_len));
    }
}

static void same(const snap_t *a, const snap_t *b) {
    FUZZ_CHECK(a->rc == b->rc);
    FUZZ_CHECK(a->status == b->status);
    FUZZ_CHECK((a->reason == NULL) == (b->reason == NULL));
    FUZZ_CHECK(a->reason == NULL || strcmp(a->reason, b->reason) == 0);
    FUZZ_CHECK(memcmp(&a->method, &b->method, sizeof *a - offsetof(snap_t, method)) == 0);
}

typedef struct {
    const char *stream;
    size_t n;
    const fa__http_limits_t *lim;
    fa__http_header_t *hs;
} head_ctx_t;

/* One parse of the first k bytes, in an exact-size heap copy when `copy`. */
static int parse_prefix(const head_ctx_t *c, size_t k, size_t prev, int copy, snap_t *out) {
    fa__http_request_t r;
    memset(&r, 0x5a, sizeof r);
    r.headers = c->hs;
    const char *buf = c->stream;
    char *owned = NULL;
    if (copy) {
        owned = malloc(k ? k : 1);
        if (!owned)
            abort();
        memcpy(owned, c->stream, k);
        buf = owned;
    }
    int rc = fa__http_parse_head(buf, k, prev, &r, c->lim);
    FUZZ_CHECK(rc == FA_EAGAIN || rc == FA_EINVAL || (rc > 0 && (size_t)rc <= k));
    snap(out, rc, &r, buf, k, c->lim);
    free(owned);
    return rc;
}

static uint32_t xorshift(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* ---- the chunked body ---- */

typedef struct {
    int64_t rc; /* total consumed, or FA_EINVAL */
    int status;
    const char *reason;
    int done;
    size_t out_len;
    char *out;
} body_t;

static void decode(const char *in, size_t n, const size_t *cuts, size_t ncuts,
                   const fa__http_limits_t *lim, size_t max_trailer, body_t *res) {
    fa__http_chunked_t d;
    fa__http_chunked_init(&d, lim->max_body, max_trailer);
    res->rc = 0;
    res->status = 0;
    res->reason = NULL;
    res->done = 0;
    res->out_len = 0;
    size_t pos = 0;
    for (size_t i = 0; i <= ncuts && !res->done; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        size_t len = end - pos;
        char *piece = malloc(len ? len : 1);
        if (!piece)
            abort();
        memcpy(piece, in + pos, len);
        size_t dlen = len;
        int64_t used = fa__http_chunked_feed(&d, piece, &dlen);
        FUZZ_CHECK(dlen <= len);
        memcpy(res->out + res->out_len, piece, dlen);
        res->out_len += dlen;
        free(piece);
        FUZZ_CHECK(d.body_len == res->out_len);
        if (used < 0) {
            FUZZ_CHECK(used == FA_EINVAL && d.reason != NULL);
            FUZZ_CHECK(d.status == 400 || d.status == 413 || d.status == 431);
            res->rc = FA_EINVAL;
            res->status = d.status;
            res->reason = d.reason;
            return;
        }
        FUZZ_CHECK((size_t)used <= len && dlen <= (size_t)used);
        res->rc += used;
        res->done = fa__http_chunked_done(&d);
        FUZZ_CHECK(res->done || (size_t)used == len);
        pos = end;
    }
    FUZZ_CHECK(res->out_len <= lim->max_body);
}

static void body_same(const body_t *a, const body_t *b) {
    FUZZ_CHECK(a->rc == b->rc && a->status == b->status && a->done == b->done);
    FUZZ_CHECK(a->reason == NULL || strcmp(a->reason, b->reason) == 0);
    FUZZ_CHECK(a->out_len == b->out_len && memcmp(a->out, b->out, a->out_len) == 0);
}

static void fuzz_body(const char *in, size_t n, const fa__http_limits_t *lim, size_t max_trailer,
                      uint32_t seed) {
    body_t whole, other;
    whole.out = malloc(n + 1);
    other.out = malloc(n + 1);
    size_t *cuts = calloc(n + 2, sizeof *cuts); /* at least 2: the random cuts */
    if (!whole.out || !other.out || !cuts)
        abort();
    decode(in, n, NULL, 0, lim, max_trailer, &whole);
    for (size_t i = 0; i + 1 < n; i++)
        cuts[i] = i + 1;
    decode(in, n, cuts, n ? n - 1 : 0, lim, max_trailer, &other);
    body_same(&whole, &other);
    if (n) {
        size_t a = xorshift(&seed) % (n + 1), b = xorshift(&seed) % (n + 1);
        cuts[0] = a < b ? a : b;
        cuts[1] = a < b ? b : a;
        decode(in, n, cuts, 2, lim, max_trailer, &other);
        body_same(&whole, &other);
        cuts[0] = a;
        decode(in, n, cuts, 1, lim, max_trailer, &other);
        body_same(&whole, &other);
    }
    free(whole.out);
    free(other.out);
    free(cuts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    static const size_t lines[4] = {8, 32, 200, FA_HTTP_MAX_REQUEST_LINE};
    static const size_t heads[4] = {16, 64, 512, FA_HTTP_MAX_HEAD};
    static const size_t counts[4] = {0, 1, 4, FA_HTTP_MAX_HEADERS};
    static const uint64_t bodies[4] = {0, 10, FA_HTTP_MAX_BODY, UINT64_MAX};
    fa__http_limits_t lim = {lines[data[0] & 3], heads[(data[0] >> 2) & 3],
                             counts[(data[0] >> 4) & 3], bodies[(data[0] >> 6) & 3]};
    uint32_t seed = 0x9e3779b9u ^ (uint32_t)data[1] * 2654435761u;
    size_t n = size - 2;
    char *stream = malloc(n ? n : 1);
    /* Exactly max_headers entries, so writing one more is an ASan error. */
    fa__http_header_t *hs = malloc((lim.max_headers ? lim.max_headers : 1) * sizeof *hs);
    snap_t *whole = malloc(sizeof *whole), *got = malloc(sizeof *got);
    if (!stream || !hs || !whole || !got)
        abort();
    memcpy(stream, data + 2, n);
    head_ctx_t c = {stream, n, &lim, hs};

    int rc = parse_prefix(&c, n, 0, 1, whole);
    if (rc == FA_EAGAIN)
        FUZZ_CHECK(n < lim.max_head); /* a stream that long must have been refused with 431 */

    /* Byte by byte, resumed: the first answer is the whole answer. */
    int copy = n <= 256;
    int seen = 0;
    for (size_t k = 1; k <= n && !seen; k++) {
        if (parse_prefix(&c, k, k - 1, copy, got) != FA_EAGAIN) {
            same(got, whole);
            seen = 1;
        }
    }
    if (!seen)
        FUZZ_CHECK(whole->rc == FA_EAGAIN);

    /* One or two random cuts, resumed and fresh at each cut. */
    if (n) {
        size_t a = xorshift(&seed) % (n + 1), b = xorshift(&seed) % (n + 1);
        size_t cut[3] = {a < b ? a : b, a < b ? b : a, n};
        size_t prev = 0;
        seen = 0;
        for (int i = 0; i < 3 && !seen; i++) {
            snap_t *fresh = malloc(sizeof *fresh);
            if (!fresh)
                abort();
            int r1 = parse_prefix(&c, cut[i], prev, 0, got);
            parse_prefix(&c, cut[i], 0, 0, fresh);
            same(got, fresh);
            free(fresh);
            if (r1 != FA_EAGAIN) {
                same(got, whole);
                seen = 1;
            }
            prev = cut[i];
        }
        FUZZ_CHECK(seen || whole->rc == FA_EAGAIN);
    }

    if (whole->rc > 0 && whole->chunked)
        fuzz_body(stream + whole->head_len, n - whole->head_len, &lim,
                  data[1] & 1 ? lim.max_head : 12, seed);

    free(got);
    free(whole);
    free(hs);
    free(stream);
    return 0;
}
