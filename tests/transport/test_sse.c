/* Tests for src/transport/sse.c. */
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "fa_test.h"
#include "fasterapi/error.h"
#include "transport/sse.h"

/* ---- a small WHATWG EventSource parser (HTML §9.2.6 "Interpreting an event stream") ----
 * Written from the spec's steps, independently of the formatter, so that what we write is read
 * back as a browser would: lines end at CRLF, LF or lone CR; a line starting with ':' is a
 * comment; the field name is up to the first ':', one leading space of the value is dropped;
 * data appends value + LF; an empty line dispatches (nothing when data is empty), stripping one
 * trailing LF; id with a NUL is ignored; retry only when all digits. */
typedef struct {
    char type[64];
    char data[8192];
    size_t data_len;
    char id[300];
} wevent_t;

typedef struct {
    wevent_t ev[64];
    int n;
    char last_id[300]; /* the last-event-ID buffer */
    long retry;
    int comments;
    /* buffers */
    char data[8192];
    size_t data_len;
    char type[64];
} wparser_t;

static void wp_line(wparser_t *p, const char *line, size_t n) {
    if (n == 0) { /* dispatch */
        if (p->data_len == 0) {
            p->type[0] = '\0';
            return;
        }
        wevent_t *e = &p->ev[p->n++];
        size_t dl = p->data_len;
        if (p->data[dl - 1] == '\n')
            dl--;
        memcpy(e->data, p->data, dl);
        e->data_len = dl;
        snprintf(e->type, sizeof e->type, "%s", p->type[0] ? p->type : "message");
        snprintf(e->id, sizeof e->id, "%s", p->last_id);
        p->data_len = 0;
        p->type[0] = '\0';
        return;
    }
    if (line[0] == ':') {
        p->comments++;
        return;
    }
    const char *colon = memchr(line, ':', n);
    size_t nl = colon ? (size_t)(colon - line) : n;
    const char *v = colon ? colon + 1 : line + n;
    size_t vl = colon ? n - nl - 1 : 0;
    if (vl && v[0] == ' ') {
        v++;
        vl--;
    }
    if (nl == 4 && memcmp(line, "data", 4) == 0) {
        memcpy(p->data + p->data_len, v, vl);
        p->data_len += vl;
        p->data[p->data_len++] = '\n';
    } else if (nl == 5 && memcmp(line, "event", 5) == 0) {
        memcpy(p->type, v, vl);
        p->type[vl] = '\0';
    } else if (nl == 2 && memcmp(line, "id", 2) == 0) {
        if (!memchr(v, '\0', vl)) {
            memcpy(p->last_id, v, vl);
            p->last_id[vl] = '\0';
        }
    } else if (nl == 5 && memcmp(line, "retry", 5) == 0) {
        long r = 0;
        int ok = vl > 0;
        for (size_t i = 0; i < vl; i++) {
            if (v[i] < '0' || v[i] > '9')
                ok = 0;
            else
                r = r * 10 + (v[i] - '0');
        }
        if (ok)
            p->retry = r;
    }
}

/* Parses a whole stream; returns the number of events fired. */
static int wp_parse(wparser_t *p, const char *s, size_t n) {
    memset(p, 0, sizeof *p);
    p->retry = -1;
    size_t pos = 0;
    while (pos < n) {
        size_t i = pos;
        while (i < n && s[i] != '\r' && s[i] != '\n')
            i++;
        if (i == n)
            break; /* an unterminated last line is never processed */
        wp_line(p, s + pos, i - pos);
        pos = i + (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n' ? 2 : 1);
    }
    return p->n;
}

static const char *fmt(fa__buf_t *b, const char *event, const char *id, long retry,
                       const char *data) {
    b->len = 0;
    ck_assert_int_eq(fa__sse_format_event(b, event, id, retry, data, data ? strlen(data) : 0), 0);
    ck_assert_int_eq(fa__buf_putc(b, '\0'), 0);
    b->len--;
    return b->data;
}

START_TEST(test_format_lines) {
    fa__buf_t b = FA__BUF_INIT;
    ck_assert_str_eq(fmt(&b, NULL, NULL, -1, "hello"), "data: hello\n\n");
    ck_assert_str_eq(fmt(&b, NULL, NULL, -1, ""), "data:\n\n");
    ck_assert_str_eq(fmt(&b, NULL, NULL, -1, NULL), "data:\n\n");
    ck_assert_str_eq(fmt(&b, NULL, NULL, -1, "a\nb"), "data: a\ndata: b\n\n");
    ck_assert_str_eq(fmt(&b, NULL, NULL, -1, "a\r\nb"), "data: a\ndata: b\n\n");
    ck_assert_str_eq(fmt(&b, NULL, NULL, -1, "a\rb"), "data: a\ndata: b\n\n");
    ck_assert_str_eq(fmt(&b, NULL, NULL, -1, "a\n"), "data: a\ndata:\n\n");
    ck_assert_str_eq(fmt(&b, NULL, NULL, -1, "\r\n"), "data:\ndata:\n\n");
    ck_assert_str_eq(fmt(&b, NULL, NULL, -1, "a\n\rb"), "data: a\ndata:\ndata: b\n\n");
    ck_assert_str_eq(fmt(&b, NULL, NULL, -1, "a\r\r\nb"), "data: a\ndata:\ndata: b\n\n");
    ck_assert_str_eq(fmt(&b, NULL, NULL, -1, " lead"), "data:  lead\n\n");
    ck_assert_str_eq(fmt(&b, "tick", "7", 3000, "x"),
                     "event: tick\nid: 7\nretry: 3000\ndata: x\n\n");
    ck_assert_str_eq(fmt(&b, "", "", 0, "x"), "id:\nretry: 0\ndata: x\n\n");
    /* Data with an embedded NUL is written as is (the length, not strlen, counts). */
    b.len = 0;
    ck_assert_int_eq(fa__sse_format_event(&b, NULL, NULL, -1, "a\0b", 3), 0);
    ck_assert_uint_eq(b.len, strlen("data: ") + 3 + 2);
    ck_assert_int_eq(memcmp(b.data, "data: a\0b\n\n", b.len), 0);
    fa__buf_free(&b);
}
END_TEST

START_TEST(test_format_refuses_crlf_in_fields) {
    fa__buf_t b = FA__BUF_INIT;
    fa__buf_append_str(&b, "keep");
    ck_assert_int_eq(fa__sse_format_event(&b, NULL, "1\n2", -1, "x", 1), FA_EINVAL);
    ck_assert_int_eq(fa__sse_format_event(&b, NULL, "1\r", -1, "x", 1), FA_EINVAL);
    ck_assert_int_eq(fa__sse_format_event(&b, "a\nb", NULL, -1, "x", 1), FA_EINVAL);
    ck_assert_int_eq(fa__sse_format_event(&b, "\r", NULL, -1, "x", 1), FA_EINVAL);
    char longid[FA_SSE_MAX_ID + 2];
    memset(longid, 'i', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    ck_assert_int_eq(fa__sse_format_event(&b, NULL, longid, -1, "x", 1), FA_EINVAL);
    longid[FA_SSE_MAX_ID] = '\0';
    ck_assert_uint_eq(b.len, 4); /* nothing was appended by the refusals */
    ck_assert_int_eq(fa__sse_format_event(&b, NULL, longid, -1, "x", 1), 0);
    ck_assert_int_eq(fa__sse_format_comment(&b, "a\nb"), FA_EINVAL);
    b.len = 0;
    ck_assert_int_eq(fa__sse_format_comment(&b, "keep-alive"), 0);
    ck_assert_int_eq(fa__sse_format_comment(&b, ""), 0);
    ck_assert_int_eq(fa__sse_format_comment(&b, NULL), 0);
    ck_assert_uint_eq(b.len, strlen(": keep-alive\n\n: \n\n: \n\n"));
    ck_assert_int_eq(memcmp(b.data, ": keep-alive\n\n: \n\n: \n\n", b.len), 0);
    /* A client ignores comments entirely. */
    wparser_t *p = malloc(sizeof *p);
    ck_assert_int_eq(wp_parse(p, b.data, b.len), 0);
    ck_assert_int_eq(p->comments, 3);
    free(p);
    fa__buf_free(&b);
}
END_TEST

START_TEST(test_parser_reads_what_we_write) {
    fa__buf_t b = FA__BUF_INIT;
    ck_assert_int_eq(fa__sse_format_event(&b, "tick", "41", 1500, "one\ntwo", 7), 0);
    ck_assert_int_eq(fa__sse_format_comment(&b, "ping"), 0);
    ck_assert_int_eq(fa__sse_format_event(&b, NULL, NULL, -1, "", 0), 0);
    ck_assert_int_eq(fa__sse_format_event(&b, NULL, "", -1, "x", 1), 0);
    wparser_t *p = malloc(sizeof *p);
    ck_assert_int_eq(wp_parse(p, b.data, b.len), 3);
    ck_assert_str_eq(p->ev[0].type, "tick");
    ck_assert_str_eq(p->ev[0].id, "41");
    ck_assert_uint_eq(p->ev[0].data_len, 7);
    ck_assert_int_eq(memcmp(p->ev[0].data, "one\ntwo", 7), 0);
    ck_assert_int_eq(p->retry, 1500);
    /* An empty payload fires, with the id carried over (the id buffer persists). */
    ck_assert_str_eq(p->ev[1].type, "message");
    ck_assert_uint_eq(p->ev[1].data_len, 0);
    ck_assert_str_eq(p->ev[1].id, "41");
    /* "id:" resets it. */
    ck_assert_str_eq(p->ev[2].id, "");
    /* The last event without its blank line is not an event for a client. */
    ck_assert_int_eq(wp_parse(p, b.data, b.len - 1), 2);
    free(p);
    fa__buf_free(&b);
}
END_TEST

/* Property: random payloads (CR, LF, CRLF, spaces, colons, UTF-8, NUL-free) round-trip through
 * the formatter and the WHATWG parser, with CRLF and lone CR turned into LF. */
START_TEST(test_roundtrip_random_payloads) {
    static const char *const atoms[] = {"a",
                                        "Z",
                                        " ",
                                        ":",
                                        "\n",
                                        "\r",
                                        "\r\n",
                                        "\n\r",
                                        "data:",
                                        "\xc3\xa9",
                                        "\xe2\x82\xac",
                                        "\xf0\x9f\x98\x80",
                                        "\xef\xbb\xbf",
                                        "id: 3",
                                        "\t",
                                        "\n\n"};
    uint64_t st = 0x5eed;
    wparser_t *p = malloc(sizeof *p);
    fa__buf_t b = FA__BUF_INIT;
    for (int iter = 0; iter < 3000; iter++) {
        char payload[600], want[600];
        size_t n = 0, w = 0;
        size_t atoms_n = fa_test_rand(&st) % 40;
        for (size_t k = 0; k < atoms_n; k++) {
            const char *a = atoms[fa_test_rand(&st) % (sizeof atoms / sizeof *atoms)];
            memcpy(payload + n, a, strlen(a));
            n += strlen(a);
        }
        for (size_t i = 0; i < n; i++) { /* expected: CRLF and CR -> LF */
            if (payload[i] == '\r') {
                want[w++] = '\n';
                if (i + 1 < n && payload[i + 1] == '\n')
                    i++;
            } else {
                want[w++] = payload[i];
            }
        }
        char id[32];
        snprintf(id, sizeof id, "%d", iter);
        const char *type = iter % 3 ? "update" : NULL;
        b.len = 0;
        ck_assert_int_eq(fa__sse_format_event(&b, type, id, iter % 5 ? -1 : iter, payload, n), 0);
        /* Two events back to back, the second an empty one, to check the separation. */
        ck_assert_int_eq(fa__sse_format_event(&b, NULL, NULL, -1, "", 0), 0);
        ck_assert_int_eq(wp_parse(p, b.data, b.len), 2);
        ck_assert_uint_eq(p->ev[0].data_len, w);
        ck_assert_int_eq(memcmp(p->ev[0].data, want, w), 0);
        ck_assert_str_eq(p->ev[0].type, type ? type : "message");
        ck_assert_str_eq(p->ev[0].id, id);
        ck_assert_int_eq(p->retry, iter % 5 ? -1 : iter);
        ck_assert_uint_eq(p->ev[1].data_len, 0);
    }
    fa__buf_free(&b);
    free(p);
}
END_TEST

/* ---- replay ring ---- */

typedef struct {
    char ids[2048][32];
    int n;
    fa__buf_t bytes;
    int stop_after;
} collect_t;

static int collect(void *ud, const char *id, const char *bytes, size_t len) {
    collect_t *c = ud;
    if (c->stop_after && c->n == c->stop_after)
        return FA_ECANCELED;
    snprintf(c->ids[c->n++], sizeof c->ids[0], "%s", id);
    return fa__buf_append(&c->bytes, bytes, len);
}

static int since(fa__sse_replay_t *r, const char *id, collect_t *c) {
    c->n = 0;
    c->bytes.len = 0;
    return fa__sse_replay_since(r, id, strlen(id), collect, c);
}

START_TEST(test_replay_auto_ids_and_since) {
    fa__sse_replay_t r;
    ck_assert_int_eq(fa__sse_replay_init(&r, 0, 0), 0);
    ck_assert_uint_eq(r.max_bytes, FA_SSE_REPLAY_BYTES);
    ck_assert_uint_eq(r.max_events, FA_SSE_REPLAY_EVENTS);
    collect_t *c = calloc(1, sizeof *c);
    ck_assert_int_eq(since(&r, "1", c), FA_ENOENT); /* nothing sent yet */

    fa__buf_t out = FA__BUF_INIT;
    char id[FA_SSE_MAX_ID + 1];
    for (int i = 1; i <= 5; i++) {
        char data[16];
        snprintf(data, sizeof data, "e%d", i);
        ck_assert_int_eq(fa__sse_replay_event(&r, &out, NULL, NULL, -1, data, strlen(data), id), 0);
        char want[16];
        snprintf(want, sizeof want, "%d", i);
        ck_assert_str_eq(id, want);
    }
    /* What was sent is exactly what replays. */
    ck_assert_int_eq(since(&r, "0", c), FA_ENOENT);
    ck_assert_int_eq(since(&r, "2", c), 3);
    ck_assert_str_eq(c->ids[0], "3");
    ck_assert_str_eq(c->ids[2], "5");
    const char *tail = strstr(out.data, "id: 3\n");
    ck_assert_ptr_nonnull(tail);
    ck_assert_uint_eq(c->bytes.len, out.len - (size_t)(tail - out.data));
    ck_assert_int_eq(memcmp(c->bytes.data, tail, c->bytes.len), 0);
    ck_assert_int_eq(since(&r, "5", c), 0); /* up to date */
    ck_assert_int_eq(since(&r, "", c), FA_ENOENT);
    ck_assert_int_eq(since(&r, "55", c), FA_ENOENT);
    /* A callback error stops the replay and is returned. */
    c->stop_after = 1;
    ck_assert_int_eq(since(&r, "1", c), FA_ECANCELED);
    ck_assert_int_eq(c->n, 1);
    c->stop_after = 0;
    /* Caller ids mix with auto ids; the counter only moves for auto ids; duplicates: newest. */
    ck_assert_int_eq(fa__sse_replay_event(&r, &out, NULL, "x", -1, "a", 1, id), 0);
    ck_assert_int_eq(fa__sse_replay_event(&r, &out, NULL, NULL, -1, "b", 1, id), 0);
    ck_assert_str_eq(id, "6");
    ck_assert_int_eq(fa__sse_replay_event(&r, &out, NULL, "x", -1, "c", 1, NULL), 0);
    ck_assert_int_eq(since(&r, "x", c), 0);
    ck_assert_int_eq(since(&r, "5", c), 3);
    /* Refused events change nothing. */
    size_t len = out.len;
    ck_assert_int_eq(fa__sse_replay_event(&r, &out, "a\nb", NULL, -1, "d", 1, NULL), FA_EINVAL);
    ck_assert_uint_eq(out.len, len);
    ck_assert_uint_eq(r.count, 8);
    ck_assert_int_eq(fa__sse_replay_event(&r, &out, NULL, NULL, -1, "e", 1, id), 0);
    ck_assert_str_eq(id, "7");
    fa__buf_free(&out);
    fa__buf_free(&c->bytes);
    free(c);
    fa__sse_replay_free(&r);
}
END_TEST

START_TEST(test_replay_bounds) {
    /* Count bound: 4 events. */
    fa__sse_replay_t r;
    ck_assert_int_eq(fa__sse_replay_init(&r, 1 << 20, 4), 0);
    fa__buf_t out = FA__BUF_INIT;
    collect_t *c = calloc(1, sizeof *c);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(fa__sse_replay_event(&r, &out, NULL, NULL, -1, "x", 1, NULL), 0);
    ck_assert_uint_eq(r.count, 4);
    ck_assert_uint_eq(r.evicted, 6);
    ck_assert_int_eq(since(&r, "6", c), FA_ENOENT); /* evicted: unknown, nothing replayed */
    ck_assert_int_eq(c->n, 0);
    ck_assert_int_eq(since(&r, "7", c), 3);
    ck_assert_str_eq(c->ids[0], "8");
    fa__sse_replay_free(&r);

    size_t len;
    /* Byte bound: each "data: 0123456789\n\n" + "id: nn\n" event is 25 bytes + 2 of id. */
    ck_assert_int_eq(fa__sse_replay_init(&r, 100, 1000), 0);
    for (int i = 10; i < 30; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", i);
        ck_assert_int_eq(fa__sse_replay_event(&r, &out, NULL, id, -1, "0123456789", 10, NULL), 0);
        ck_assert_uint_le(r.bytes, 100);
    }
    ck_assert_uint_eq(r.count, 3); /* 3 x 27 = 81 <= 100 < 108 */
    ck_assert_int_eq(since(&r, "27", c), 2);
    ck_assert_int_eq(since(&r, "26", c), FA_ENOENT);
    /* An event bigger than the whole ring is sent, not kept, and drops the older ones so no
     * replay skips it; a client that has it is up to date. */
    char big[200];
    memset(big, 'B', sizeof big);
    out.len = 0;
    ck_assert_int_eq(fa__sse_replay_event(&r, &out, NULL, "big", -1, big, sizeof big, NULL), 0);
    ck_assert_uint_gt(out.len, 200);
    ck_assert_uint_eq(r.count, 0);
    ck_assert_uint_eq(r.bytes, 0);
    ck_assert_int_eq(since(&r, "29", c), FA_ENOENT);
    ck_assert_int_eq(since(&r, "big", c), 0);
    ck_assert_int_eq(fa__sse_replay_event(&r, &out, NULL, "after", -1, "x", 1, NULL), 0);
    ck_assert_int_eq(since(&r, "big", c), FA_ENOENT); /* only "last sent" is remembered */
    ck_assert_int_eq(since(&r, "after", c), 0);
    /* With refuse_oversize, the big event is refused and nothing changes. */
    r.refuse_oversize = 1;
    len = out.len;
    ck_assert_int_eq(fa__sse_replay_event(&r, &out, NULL, "big2", -1, big, sizeof big, NULL),
                     FA_EMSGSIZE);
    ck_assert_uint_eq(out.len, len);
    ck_assert_uint_eq(r.count, 1);
    ck_assert_int_eq(since(&r, "after", c), 0);
    ck_assert_int_eq(since(&r, "big2", c), FA_ENOENT);
    fa__sse_replay_free(&r);

    /* Wrap-around many times with random sizes: the bounds always hold and since() of the
     * oldest kept id replays exactly the rest, in order. */
    ck_assert_int_eq(fa__sse_replay_init(&r, 2000, 16), 0);
    uint64_t st = 99;
    char data[300];
    memset(data, 'd', sizeof data);
    for (int i = 0; i < 2000; i++) {
        size_t n = fa_test_rand(&st) % sizeof data;
        char id[FA_SSE_MAX_ID + 1];
        ck_assert_int_eq(fa__sse_replay_event(&r, &out, NULL, NULL, -1, data, n, id), 0);
        ck_assert_uint_le(r.bytes, 2000);
        ck_assert_uint_le(r.count, 16);
        ck_assert_uint_ge(r.count, 1);
        char oldest[32];
        snprintf(oldest, sizeof oldest, "%d", i + 2 - (int)r.count);
        ck_assert_int_eq(since(&r, oldest, c), (int)r.count - 1);
        for (int k = 0; k < c->n; k++) {
            char want[32];
            snprintf(want, sizeof want, "%d", i + 3 - (int)r.count + k);
            ck_assert_str_eq(c->ids[k], want);
        }
    }
    ck_assert_uint_eq(r.appended, 2000);
    /* By sequence number: the kept ones are the newest `count`; before them is a gap. */
    uint64_t seq = 0;
    ck_assert_int_eq(fa__sse_replay_find(&r, "2000", 4, &seq), 0);
    ck_assert_uint_eq(seq, 2000);
    ck_assert_int_eq(fa__sse_replay_find(&r, "1", 1, &seq), FA_ENOENT);
    c->n = 0;
    ck_assert_int_eq(fa__sse_replay_after(&r, 2000, collect, c), 0);
    ck_assert_int_eq(fa__sse_replay_after(&r, 1999, collect, c), 1);
    ck_assert_str_eq(c->ids[0], "2000");
    ck_assert_int_eq(fa__sse_replay_after(&r, 2000 - r.count, collect, c), (int)r.count);
    ck_assert_int_eq(fa__sse_replay_after(&r, 1999 - r.count, collect, c), FA_ENOENT);
    ck_assert_int_eq(fa__sse_replay_after(&r, 0, collect, c), FA_ENOENT);
    fa__sse_replay_free(&r);
    fa__sse_replay_free(&r); /* idempotent */
    fa__buf_free(&out);
    fa__buf_free(&c->bytes);
    free(c);
}
END_TEST

int main(void) {
    Suite *s = suite_create("transport/sse");
    TCase *tc = tcase_create("sse");
    tcase_add_test(tc, test_format_lines);
    tcase_add_test(tc, test_format_refuses_crlf_in_fields);
    tcase_add_test(tc, test_parser_reads_what_we_write);
    tcase_add_test(tc, test_roundtrip_random_payloads);
    tcase_add_test(tc, test_replay_auto_ids_and_since);
    tcase_add_test(tc, test_replay_bounds);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
