/* Tests for src/transport/ws.c: the RFC 6455 frame parser, writer and handshake helpers. */
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "fa_test.h"
#include "fasterapi/error.h"
#include "transport/ws.h"

/* ---- helpers ---- */

/* A client frame: masked with `key` (RFC 6455 §5.3). Returns its size. */
static size_t client_frame(unsigned char *out, int fin, int opcode, const void *payload, size_t len,
                           const unsigned char key[4]) {
    size_t h = fa__ws_frame_header(out, opcode, fin, len);
    out[1] |= 0x80;
    memcpy(out + h, key, 4);
    h += 4;
    if (len)
        memcpy(out + h, payload, len);
    fa__ws_mask(out + h, len, key, 0);
    return h + len;
}

static const unsigned char KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

typedef struct {
    fa__ws_event_type_t type;
    int opcode, fin;
    unsigned code;
    size_t off, len; /* bytes at arena[off..off+len) */
} rec_t;

typedef struct {
    rec_t ev[4096];
    size_t n;
    char *arena;
    size_t used;
    int64_t err;   /* 0, or the error _feed returned */
    size_t err_at; /* input bytes fed (in total) when the error came */
    fa__ws_parser_t p;
} run_t;

/* Feeds in[0..len) in chunks of `chunk` bytes (a copy: the parser unmasks in place), recording
 * events. Consecutive DATA pieces of one message are merged, so runs with different splits
 * compare equal. */
static void run(run_t *r, const unsigned char *in, size_t len, size_t chunk, int client,
                uint64_t max) {
    fa__ws_limits_t lim;
    fa__ws_limits_default(&lim);
    lim.client = client;
    if (max)
        lim.max_message = max;
    fa__ws_parser_init(&r->p, &lim);
    r->n = r->used = 0;
    r->err = 0;
    r->arena = malloc(len + 1);
    char *copy = malloc(len + 1);
    memcpy(copy, in, len);
    size_t pos = 0;
    int merging = 0;
    while (pos < len && !r->err) {
        size_t c = chunk < len - pos ? chunk : len - pos;
        size_t off = 0;
        for (;;) {
            fa__ws_event_t ev;
            int64_t got = fa__ws_parser_feed(&r->p, copy + pos + off, c - off, &ev);
            if (got == FA_EAGAIN) {
                ck_assert_int_eq(ev.type, FA_WS_EV_NONE);
                break;
            }
            if (got < 0) {
                r->err = got;
                r->err_at = pos + c;
                break;
            }
            ck_assert_int_gt(got, 0);
            ck_assert_uint_le((size_t)got, c - off);
            off += (size_t)got;
            ck_assert_int_ne(ev.type, FA_WS_EV_NONE);
            if (ev.type == FA_WS_EV_DATA && merging) {
                rec_t *last = &r->ev[r->n - 1];
                memcpy(r->arena + r->used, ev.data, ev.len);
                r->used += ev.len;
                last->len += ev.len;
                last->fin = ev.fin;
            } else {
                ck_assert_uint_lt(r->n, 4096);
                rec_t *e = &r->ev[r->n++];
                e->type = ev.type;
                e->opcode = ev.opcode;
                e->fin = ev.fin;
                e->code = ev.code;
                e->off = r->used;
                e->len = ev.len;
                memcpy(r->arena + r->used, ev.data, ev.len);
                r->used += ev.len;
            }
            if (ev.type == FA_WS_EV_DATA)
                merging = !ev.fin;
            else if (merging) {
                /* A control frame between fragments: the next DATA continues the message but is
                 * recorded as a new entry after the control event. */
                merging = 0;
            }
        }
        pos += c;
    }
    free(copy);
}

static void run_free(run_t *r) {
    free(r->arena);
}

static run_t *new_run(void) {
    return calloc(1, sizeof(run_t));
}

/* Same event sequence for every chunk size from 1 to len. */
static void check_split_invariance(const unsigned char *in, size_t len, int client) {
    run_t *whole = new_run(), *split = new_run();
    run(whole, in, len, len ? len : 1, client, 0);
    for (size_t chunk = 1; chunk < len; chunk++) {
        run(split, in, len, chunk, client, 0);
        ck_assert_int_eq(split->err, whole->err);
        ck_assert_uint_eq(split->n, whole->n);
        for (size_t i = 0; i < whole->n; i++) {
            ck_assert_int_eq(split->ev[i].type, whole->ev[i].type);
            ck_assert_int_eq(split->ev[i].opcode, whole->ev[i].opcode);
            ck_assert_int_eq(split->ev[i].fin, whole->ev[i].fin);
            ck_assert_uint_eq(split->ev[i].code, whole->ev[i].code);
            ck_assert_uint_eq(split->ev[i].len, whole->ev[i].len);
            ck_assert_int_eq(memcmp(split->arena + split->ev[i].off,
                                    whole->arena + whole->ev[i].off, whole->ev[i].len),
                             0);
        }
        run_free(split);
    }
    run_free(whole);
    free(whole);
    free(split);
}

static const char *rec_data(const run_t *r, size_t i) {
    return r->arena + r->ev[i].off;
}

/* ---- RFC 6455 §5.7 examples ---- */

START_TEST(test_rfc_unmasked_hello_client_side) {
    static const unsigned char f[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    run_t *r = new_run();
    run(r, f, sizeof f, sizeof f, 1, 0);
    ck_assert_int_eq(r->err, 0);
    ck_assert_uint_eq(r->n, 1);
    ck_assert_int_eq(r->ev[0].type, FA_WS_EV_DATA);
    ck_assert_int_eq(r->ev[0].opcode, FA_WS_OP_TEXT);
    ck_assert(r->ev[0].fin);
    ck_assert_uint_eq(r->ev[0].len, 5);
    ck_assert_int_eq(memcmp(rec_data(r, 0), "Hello", 5), 0);
    run_free(r);
    /* The same frame is refused by a server: client frames must be masked (§5.1). */
    run(r, f, sizeof f, sizeof f, 0, 0);
    ck_assert_int_eq(r->err, FA_EINVAL);
    ck_assert_uint_eq(r->p.close_code, 1002);
    ck_assert_uint_eq(r->err_at, sizeof f);
    run_free(r);
    free(r);
    check_split_invariance(f, sizeof f, 1);
}
END_TEST

START_TEST(test_rfc_masked_hello) {
    static const unsigned char f[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                      0x7f, 0x9f, 0x4d, 0x51, 0x58};
    run_t *r = new_run();
    for (size_t chunk = 1; chunk <= sizeof f; chunk++) {
        run(r, f, sizeof f, chunk, 0, 0);
        ck_assert_int_eq(r->err, 0);
        ck_assert_uint_eq(r->n, 1);
        ck_assert_int_eq(r->ev[0].opcode, FA_WS_OP_TEXT);
        ck_assert(r->ev[0].fin);
        ck_assert_uint_eq(r->ev[0].len, 5);
        ck_assert_int_eq(memcmp(rec_data(r, 0), "Hello", 5), 0);
        run_free(r);
    }
    /* A client refuses a masked frame from a server. */
    run(r, f, sizeof f, sizeof f, 1, 0);
    ck_assert_uint_eq(r->p.close_code, 1002);
    run_free(r);
    free(r);
}
END_TEST

START_TEST(test_rfc_fragmented_and_interleaved_ping) {
    /* "Hel" + ping "Hello" + "lo" (§5.4: control frames may come between fragments), masked. */
    unsigned char f[64];
    size_t n = client_frame(f, 0, FA_WS_OP_TEXT, "Hel", 3, KEY);
    n += client_frame(f + n, 1, FA_WS_OP_PING, "Hello", 5, KEY);
    n += client_frame(f + n, 1, FA_WS_OP_CONT, "lo", 2, KEY);
    run_t *r = new_run();
    run(r, f, n, n, 0, 0);
    ck_assert_int_eq(r->err, 0);
    ck_assert_uint_eq(r->n, 3);
    ck_assert_int_eq(r->ev[0].type, FA_WS_EV_DATA);
    ck_assert(!r->ev[0].fin);
    ck_assert_int_eq(memcmp(rec_data(r, 0), "Hel", 3), 0);
    ck_assert_int_eq(r->ev[1].type, FA_WS_EV_PING);
    ck_assert_int_eq(memcmp(rec_data(r, 1), "Hello", 5), 0);
    ck_assert_int_eq(r->ev[2].type, FA_WS_EV_DATA);
    ck_assert_int_eq(r->ev[2].opcode, FA_WS_OP_TEXT); /* the message's opcode, not CONT */
    ck_assert(r->ev[2].fin);
    ck_assert_int_eq(memcmp(rec_data(r, 2), "lo", 2), 0);
    run_free(r);
    free(r);
    check_split_invariance(f, n, 0);

    /* The unmasked example bytes of §5.7, read as a client. */
    static const unsigned char u[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
    r = new_run();
    run(r, u, sizeof u, 1, 1, 0);
    ck_assert_int_eq(r->err, 0);
    ck_assert_uint_eq(r->n, 1); /* merged by the helper */
    ck_assert_uint_eq(r->ev[0].len, 5);
    ck_assert_int_eq(memcmp(rec_data(r, 0), "Hello", 5), 0);
    run_free(r);
    free(r);
}
END_TEST

START_TEST(test_rfc_ping_pong) {
    static const unsigned char ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    static const unsigned char pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                         0x7f, 0x9f, 0x4d, 0x51, 0x58};
    run_t *r = new_run();
    run(r, ping, sizeof ping, 1, 1, 0);
    ck_assert_int_eq(r->err, 0);
    ck_assert_uint_eq(r->n, 1);
    ck_assert_int_eq(r->ev[0].type, FA_WS_EV_PING);
    ck_assert_int_eq(memcmp(rec_data(r, 0), "Hello", 5), 0);
    run_free(r);
    run(r, pong, sizeof pong, 1, 0, 0);
    ck_assert_int_eq(r->err, 0);
    ck_assert_uint_eq(r->n, 1);
    ck_assert_int_eq(r->ev[0].type, FA_WS_EV_PONG);
    ck_assert_int_eq(memcmp(rec_data(r, 0), "Hello", 5), 0);
    run_free(r);
    /* An empty ping is fine too. */
    unsigned char f[16];
    size_t n = client_frame(f, 1, FA_WS_OP_PING, NULL, 0, KEY);
    run(r, f, n, n, 0, 0);
    ck_assert_int_eq(r->err, 0);
    ck_assert_uint_eq(r->n, 1);
    ck_assert_int_eq(r->ev[0].type, FA_WS_EV_PING);
    ck_assert_uint_eq(r->ev[0].len, 0);
    run_free(r);
    free(r);
}
END_TEST

static void check_binary_len(size_t len) {
    unsigned char *payload = calloc(1, len + 1), *f = malloc(len + 14);
    for (size_t i = 0; i < len; i++)
        payload[i] = (unsigned char)(i * 7 + 3);
    size_t n = client_frame(f, 1, FA_WS_OP_BINARY, payload, len, KEY);
    ck_assert_uint_eq(n, len + (len < 126 ? 2 : len <= 0xFFFF ? 4 : 10) + 4);
    /* The header encodings of §5.7: 0x7E + 16-bit length, 0x7F + 64-bit length. */
    if (len == 256)
        ck_assert_int_eq(memcmp(f, "\x82\xfe\x01\x00", 4), 0);
    if (len == 65536)
        ck_assert_int_eq(memcmp(f, "\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00", 10), 0);
    size_t chunks[] = {1, 3, 7, 1000, n};
    run_t *r = new_run();
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        if (chunks[i] == 1 && len > 1000)
            continue; /* byte by byte is covered by the smaller sizes */
        run(r, f, n, chunks[i], 0, 0);
        ck_assert_int_eq(r->err, 0);
        ck_assert_uint_eq(r->n, 1);
        ck_assert_int_eq(r->ev[0].opcode, FA_WS_OP_BINARY);
        ck_assert(r->ev[0].fin);
        ck_assert_uint_eq(r->ev[0].len, len);
        ck_assert_int_eq(memcmp(rec_data(r, 0), payload, len), 0);
        run_free(r);
    }
    free(r);
    free(payload);
    free(f);
}

START_TEST(test_rfc_256_and_64k) {
    check_binary_len(256);
    check_binary_len(65536);
    check_binary_len(125);
    check_binary_len(126);
    check_binary_len(65535);
    check_binary_len(0);
}
END_TEST

START_TEST(test_data_is_zero_copy_and_piecewise) {
    /* A frame split in two reads gives two pieces pointing into the caller's buffers. */
    unsigned char f[64];
    size_t n = client_frame(f, 1, FA_WS_OP_BINARY, "abcdefghij", 10, KEY);
    fa__ws_parser_t p;
    fa__ws_parser_init(&p, NULL);
    fa__ws_event_t ev;
    char *b = (char *)f;
    int64_t got = fa__ws_parser_feed(&p, b, 9, &ev); /* 6 header bytes + "abc" */
    ck_assert_int_eq(got, 9);
    ck_assert_int_eq(ev.type, FA_WS_EV_DATA);
    ck_assert(!ev.fin);
    ck_assert_ptr_eq(ev.data, b + 6);
    ck_assert_uint_eq(ev.len, 3);
    ck_assert_int_eq(memcmp(ev.data, "abc", 3), 0);
    got = fa__ws_parser_feed(&p, b + 9, n - 9, &ev);
    ck_assert_int_eq(got, (int64_t)(n - 9));
    ck_assert(ev.fin);
    ck_assert_ptr_eq(ev.data, b + 9);
    ck_assert_int_eq(memcmp(ev.data, "defghij", 7), 0);
    ck_assert_int_eq(fa__ws_parser_feed(&p, b, 0, &ev), FA_EAGAIN);
}
END_TEST

START_TEST(test_two_frames_in_one_read) {
    unsigned char f[64];
    size_t n = client_frame(f, 1, FA_WS_OP_TEXT, "one", 3, KEY);
    n += client_frame(f + n, 1, FA_WS_OP_BINARY, "two", 3, KEY);
    n += client_frame(f + n, 1, FA_WS_OP_CLOSE,
                      "\x03\xe8"
                      "bye",
                      5, KEY);
    run_t *r = new_run();
    run(r, f, n, n, 0, 0);
    ck_assert_int_eq(r->err, 0);
    ck_assert_uint_eq(r->n, 3);
    ck_assert_int_eq(r->ev[0].opcode, FA_WS_OP_TEXT);
    ck_assert_int_eq(r->ev[1].opcode, FA_WS_OP_BINARY);
    ck_assert_int_eq(r->ev[2].type, FA_WS_EV_CLOSE);
    ck_assert_uint_eq(r->ev[2].code, 1000);
    ck_assert_uint_eq(r->ev[2].len, 3);
    ck_assert_int_eq(memcmp(rec_data(r, 2), "bye", 3), 0);
    ck_assert(fa__ws_parser_closed(&r->p));
    run_free(r);
    free(r);
    check_split_invariance(f, n, 0);
}
END_TEST

START_TEST(test_empty_fragments) {
    /* Empty text start, empty continuation, then the final piece: one message "x". An empty
     * final frame ends a message with an empty piece. */
    unsigned char f[64];
    size_t n = client_frame(f, 0, FA_WS_OP_TEXT, NULL, 0, KEY);
    n += client_frame(f + n, 0, FA_WS_OP_CONT, NULL, 0, KEY);
    n += client_frame(f + n, 0, FA_WS_OP_CONT, "x", 1, KEY);
    n += client_frame(f + n, 1, FA_WS_OP_CONT, NULL, 0, KEY);
    n += client_frame(f + n, 1, FA_WS_OP_TEXT, NULL, 0, KEY);
    run_t *r = new_run();
    run(r, f, n, n, 0, 0);
    ck_assert_int_eq(r->err, 0);
    ck_assert_uint_eq(r->n, 2);
    ck_assert_uint_eq(r->ev[0].len, 1);
    ck_assert(r->ev[0].fin);
    ck_assert_uint_eq(r->ev[1].len, 0);
    ck_assert(r->ev[1].fin);
    run_free(r);
    free(r);
    check_split_invariance(f, n, 0);
}
END_TEST

START_TEST(test_close_frames) {
    unsigned char f[256];
    run_t *r = new_run();
    /* No payload: code 1005 ("no status"), no reason. */
    size_t n = client_frame(f, 1, FA_WS_OP_CLOSE, NULL, 0, KEY);
    run(r, f, n, n, 0, 0);
    ck_assert_int_eq(r->err, 0);
    ck_assert_int_eq(r->ev[0].type, FA_WS_EV_CLOSE);
    ck_assert_uint_eq(r->ev[0].code, FA_WS_CLOSE_NO_STATUS);
    run_free(r);
    /* Every code: valid ones give an event, the others 1002. */
    for (unsigned code = 0; code < 6000; code++) {
        unsigned char pl[2] = {(unsigned char)(code >> 8), (unsigned char)code};
        n = client_frame(f, 1, FA_WS_OP_CLOSE, pl, 2, KEY);
        run(r, f, n, n, 0, 0);
        int valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                    (code >= 3000 && code <= 4999);
        if (valid) {
            ck_assert_msg(r->err == 0, "code %u", code);
            ck_assert_uint_eq(r->ev[0].code, code);
        } else {
            ck_assert_msg(r->err == FA_EINVAL && r->p.close_code == 1002, "code %u", code);
        }
        run_free(r);
    }
    /* Bytes after the close frame are ignored. */
    n = client_frame(f, 1, FA_WS_OP_CLOSE, "\x03\xe8", 2, KEY);
    memcpy(f + n, "\xff\xff\xff", 3);
    run(r, f, n + 3, 1, 0, 0);
    ck_assert_int_eq(r->err, 0);
    ck_assert_uint_eq(r->n, 1);
    run_free(r);
    free(r);
}
END_TEST

/* ---- failures, each with its close code ---- */

typedef struct {
    const char *name;
    unsigned char bytes[32];
    size_t len;
    unsigned code;
} bad_t;

static void expect_fail(const unsigned char *f, size_t n, unsigned code, size_t at,
                        const char *name) {
    /* Fed whole and byte by byte: same error; byte by byte, it comes at byte `at` (fail fast). */
    run_t *r = new_run();
    run(r, f, n, n, 0, 0);
    ck_assert_msg(r->err == (code == 1009 ? FA_EMSGSIZE : FA_EINVAL), "%s: err %lld", name,
                  (long long)r->err);
    ck_assert_msg(r->p.close_code == code, "%s: close %u", name, r->p.close_code);
    ck_assert_ptr_nonnull(r->p.reason);
    /* Sticky. */
    fa__ws_event_t ev;
    char x = 0;
    ck_assert_int_eq(fa__ws_parser_feed(&r->p, &x, 1, &ev), r->err);
    run_free(r);
    run(r, f, n, 1, 0, 0);
    ck_assert_msg(r->p.close_code == code, "%s: bytewise close %u", name, r->p.close_code);
    if (at)
        ck_assert_msg(r->err_at == at, "%s: failed at byte %zu, want %zu", name, r->err_at, at);
    run_free(r);
    free(r);
}

START_TEST(test_protocol_errors) {
    unsigned char f[300];
    size_t n;
    /* RSV1, RSV2, RSV3 without an extension: known from the first byte... and the second. */
    for (unsigned rsv = 1; rsv < 8; rsv++) {
        n = client_frame(f, 1, FA_WS_OP_TEXT, "a", 1, KEY);
        f[0] |= (unsigned char)(rsv << 4);
        expect_fail(f, n, 1002, 2, "rsv");
    }
    /* Reserved opcodes 3-7, 11-15. */
    static const int ops[] = {3, 4, 5, 6, 7, 11, 12, 13, 14, 15};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        n = client_frame(f, 1, ops[i], "a", 1, KEY);
        expect_fail(f, n, 1002, 2, "opcode");
    }
    /* Unmasked client frame. */
    n = fa__ws_frame_header(f, FA_WS_OP_TEXT, 1, 1);
    f[n++] = 'a';
    expect_fail(f, n, 1002, 2, "unmasked");
    /* Control frames: not FIN, > 125 bytes. */
    static const int ctl[] = {FA_WS_OP_PING, FA_WS_OP_PONG, FA_WS_OP_CLOSE};
    unsigned char big[126];
    memset(big, 'a', sizeof big);
    for (size_t i = 0; i < 3; i++) {
        n = client_frame(f, 0, ctl[i], "\x03\xe8", 2, KEY);
        expect_fail(f, n, 1002, 2, "fragmented control");
        n = client_frame(f, 1, ctl[i], big, 126, KEY);
        expect_fail(f, n, 1002, 2, "control > 125");
    }
    /* Continuation without a message; a new message inside a fragmented one. */
    n = client_frame(f, 1, FA_WS_OP_CONT, "a", 1, KEY);
    expect_fail(f, n, 1002, 2, "lone continuation");
    n = client_frame(f, 0, FA_WS_OP_TEXT, "a", 1, KEY);
    size_t first = n;
    n += client_frame(f + n, 1, FA_WS_OP_BINARY, "b", 1, KEY);
    expect_fail(f, n, 1002, first + 2, "interleaved message");
    /* A finished message followed by a continuation. */
    n = client_frame(f, 1, FA_WS_OP_TEXT, "a", 1, KEY);
    first = n;
    n += client_frame(f + n, 1, FA_WS_OP_CONT, "b", 1, KEY);
    expect_fail(f, n, 1002, first + 2, "continuation after fin");
    /* 64-bit length with the high bit set: known when the header is complete. */
    static const unsigned char hi[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
    expect_fail(hi, sizeof hi, 1002, sizeof hi, "64-bit high bit");
    /* Close with a 1-byte payload. */
    n = client_frame(f, 1, FA_WS_OP_CLOSE, "\x03", 1, KEY);
    expect_fail(f, n, 1002, n, "close 1 byte");
    /* Close with an invalid code, and with a reason that is not UTF-8. */
    n = client_frame(f, 1, FA_WS_OP_CLOSE, "\x03\xed", 2, KEY); /* 1005 */
    expect_fail(f, n, 1002, n, "close 1005");
    n = client_frame(f, 1, FA_WS_OP_CLOSE, "\x03\xe8\xce\xba\xed\xa0\x80", 7, KEY);
    expect_fail(f, n, 1007, n, "close reason utf-8");
    /* A masked frame to a client. */
    run_t *r = new_run();
    n = client_frame(f, 1, FA_WS_OP_TEXT, "a", 1, KEY);
    run(r, f, n, 1, 1, 0);
    ck_assert_uint_eq(r->p.close_code, 1002);
    ck_assert_uint_eq(r->err_at, 2);
    run_free(r);
    free(r);
}
END_TEST

START_TEST(test_non_minimal_length_is_read) {
    /* "abc" with its length in the 16-bit and the 64-bit forms: accepted (see begin_payload). */
    unsigned char f[32] = {0x81, 0xfe, 0x00, 0x03};
    memcpy(f + 4, KEY, 4);
    memcpy(f + 8, "abc", 3);
    fa__ws_mask(f + 8, 3, KEY, 0);
    run_t *r = new_run();
    run(r, f, 11, 1, 0, 0);
    ck_assert_int_eq(r->err, 0);
    ck_assert_uint_eq(r->ev[0].len, 3);
    ck_assert_int_eq(memcmp(rec_data(r, 0), "abc", 3), 0);
    run_free(r);
    unsigned char g[32] = {0x81, 0xff, 0, 0, 0, 0, 0, 0, 0, 3};
    memcpy(g + 10, KEY, 4);
    memcpy(g + 14, "abc", 3);
    fa__ws_mask(g + 14, 3, KEY, 0);
    run(r, g, 17, 1, 0, 0);
    ck_assert_int_eq(r->err, 0);
    ck_assert_int_eq(memcmp(rec_data(r, 0), "abc", 3), 0);
    run_free(r);
    free(r);
}
END_TEST

START_TEST(test_message_size_limit) {
    unsigned char f[300];
    unsigned char pl[100];
    memset(pl, 'a', sizeof pl);
    run_t *r = new_run();
    /* 100 bytes against a limit of 100: fine; 101: 1009 on the header, before the payload. */
    size_t n = client_frame(f, 1, FA_WS_OP_BINARY, pl, 100, KEY);
    run(r, f, n, 1, 0, 100);
    ck_assert_int_eq(r->err, 0);
    run_free(r);
    run(r, f, n, 1, 0, 99);
    ck_assert_int_eq(r->err, FA_EMSGSIZE);
    ck_assert_uint_eq(r->p.close_code, 1009);
    ck_assert_uint_eq(r->err_at, 6); /* after the 2 + 4 header bytes */
    run_free(r);
    /* Counted over the fragments: 60 + 60 > 100 fails at the second header. */
    n = client_frame(f, 0, FA_WS_OP_TEXT, pl, 60, KEY);
    size_t first = n;
    n += client_frame(f + n, 1, FA_WS_OP_CONT, pl, 60, KEY);
    run(r, f, n, 1, 0, 100);
    ck_assert_int_eq(r->err, FA_EMSGSIZE);
    ck_assert_uint_eq(r->err_at, first + 6);
    run_free(r);
    /* The limit is per message: two messages of 60 are fine. */
    n = client_frame(f, 1, FA_WS_OP_TEXT, pl, 60, KEY);
    n += client_frame(f + n, 1, FA_WS_OP_TEXT, pl, 60, KEY);
    run(r, f, n, n, 0, 100);
    ck_assert_int_eq(r->err, 0);
    ck_assert_uint_eq(r->n, 2);
    run_free(r);
    /* The default (16 MiB) refuses a declared 2^40 before any payload. */
    static const unsigned char huge[] = {0x82, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    expect_fail(huge, sizeof huge, 1009, sizeof huge, "huge");
    /* Control frames do not count. */
    n = client_frame(f, 0, FA_WS_OP_TEXT, pl, 60, KEY);
    n += client_frame(f + n, 1, FA_WS_OP_PING, pl, 100, KEY);
    n += client_frame(f + n, 1, FA_WS_OP_CONT, pl, 40, KEY);
    run(r, f, n, n, 0, 100);
    ck_assert_int_eq(r->err, 0);
    run_free(r);
    free(r);
}
END_TEST

/* ---- UTF-8 (Autobahn 6.x) ---- */

static const char KOSME[] = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"; /* κόσμε */

START_TEST(test_utf8_valid_split_everywhere) {
    /* κόσμε split into two frames at every byte: a code point split across frames is fine. */
    size_t len = sizeof KOSME - 1;
    for (size_t cut = 0; cut <= len; cut++) {
        unsigned char f[64];
        size_t n = client_frame(f, 0, FA_WS_OP_TEXT, KOSME, cut, KEY);
        n += client_frame(f + n, 1, FA_WS_OP_CONT, KOSME + cut, len - cut, KEY);
        run_t *r = new_run();
        run(r, f, n, 1, 0, 0);
        ck_assert_msg(r->err == 0, "cut %zu", cut);
        ck_assert_uint_eq(r->ev[0].len, len);
        ck_assert_int_eq(memcmp(rec_data(r, 0), KOSME, len), 0);
        run_free(r);
        free(r);
        check_split_invariance(f, n, 0);
    }
}
END_TEST

START_TEST(test_utf8_fail_fast_split_everywhere) {
    /* κόσμε + a surrogate (ED A0 80) + "edited": invalid at the A0 byte. Split in two frames at
     * every position and fed byte by byte, the error must come with the A0 byte itself, before the
     * rest of its frame (Autobahn 6.4). */
    char text[64];
    size_t klen = sizeof KOSME - 1;
    memcpy(text, KOSME, klen);
    memcpy(text + klen,
           "\xed\xa0\x80"
           "edited",
           9);
    size_t len = klen + 9;
    size_t bad = klen + 1; /* index of A0 in the text */
    for (size_t cut = 0; cut <= len; cut++) {
        unsigned char f[64];
        size_t h1 = 6; /* both frames are short: 2-byte header + 4-byte key */
        size_t n = client_frame(f, 0, FA_WS_OP_TEXT, text, cut, KEY);
        n += client_frame(f + n, 1, FA_WS_OP_CONT, text + cut, len - cut, KEY);
        size_t at = bad < cut ? h1 + bad + 1 : h1 + cut + h1 + (bad - cut) + 1;
        expect_fail(f, n, 1007, at, "utf-8 surrogate");
    }
}
END_TEST

START_TEST(test_utf8_incomplete_at_message_end) {
    unsigned char f[64];
    size_t n = client_frame(f, 1, FA_WS_OP_TEXT, "a\xce", 2, KEY);
    expect_fail(f, n, 1007, n, "truncated character");
    /* In binary messages anything goes. */
    n = client_frame(f, 1, FA_WS_OP_BINARY, "\xed\xa0\x80\xff", 4, KEY);
    run_t *r = new_run();
    run(r, f, n, 1, 0, 0);
    ck_assert_int_eq(r->err, 0);
    run_free(r);
    free(r);
    /* Overlong, > U+10FFFF, lone continuation, C0/F5 bytes. */
    static const char *bads[] = {
        "\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xf4\x90\x80\x80", "\x80", "\xf5", "\xfe"};
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        n = client_frame(f, 0, FA_WS_OP_TEXT, bads[i], strlen(bads[i]), KEY);
        expect_fail(f, n, 1007, 0, "invalid utf-8");
    }
}
END_TEST

/* ---- writer and masking ---- */

START_TEST(test_mask_matches_bytewise) {
    unsigned char buf[64], want[64];
    static const unsigned char key[4] = {1, 2, 0x80, 0xff};
    for (size_t start = 0; start < 9; start++) {
        for (size_t len = 0; len + start <= sizeof buf; len += 5) {
            for (uint64_t pos = 0; pos < 5; pos++) {
                for (size_t i = 0; i < sizeof buf; i++)
                    buf[i] = want[i] = (unsigned char)(i * 31);
                for (size_t i = 0; i < len; i++)
                    want[start + i] ^= key[(pos + i) % 4];
                fa__ws_mask(buf + start, len, key, pos);
                ck_assert_int_eq(memcmp(buf, want, sizeof buf), 0);
            }
        }
    }
}
END_TEST

START_TEST(test_writer_round_trip) {
    unsigned char h[FA_WS_MAX_HEADER];
    ck_assert_uint_eq(fa__ws_frame_header(h, FA_WS_OP_TEXT, 1, 5), 2);
    ck_assert_int_eq(memcmp(h, "\x81\x05", 2), 0);
    ck_assert_uint_eq(fa__ws_frame_header(h, FA_WS_OP_BINARY, 1, 256), 4);
    ck_assert_int_eq(memcmp(h, "\x82\x7e\x01\x00", 4), 0);
    ck_assert_uint_eq(fa__ws_frame_header(h, FA_WS_OP_BINARY, 0, 65536), 10);
    ck_assert_int_eq(memcmp(h, "\x02\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10), 0);

    unsigned char f[FA_WS_MAX_CONTROL_FRAME];
    size_t n = fa__ws_close_frame(f, 1000, "bye", 3);
    ck_assert_uint_eq(n, 7);
    ck_assert_int_eq(memcmp(f,
                            "\x88\x05\x03\xe8"
                            "bye",
                            7),
                     0);
    ck_assert_uint_eq(fa__ws_close_frame(f, 0, "ignored", 7), 2);
    ck_assert_int_eq(memcmp(f, "\x88\x00", 2), 0);
    /* A long reason is cut at a character boundary to fit 125 bytes; a client parses it. */
    char reason[200];
    for (size_t i = 0; i < 200; i += 2)
        memcpy(reason + i, "\xc3\xa9", 2); /* é */
    n = fa__ws_close_frame(f, 1001, reason, sizeof reason);
    ck_assert_uint_eq(n, 2 + 2 + 122); /* 123 would split an é */
    run_t *r = new_run();
    run(r, f, n, 1, 1, 0);
    ck_assert_int_eq(r->err, 0);
    ck_assert_int_eq(r->ev[0].type, FA_WS_EV_CLOSE);
    ck_assert_uint_eq(r->ev[0].code, 1001);
    ck_assert_uint_eq(r->ev[0].len, 122);
    run_free(r);
    n = fa__ws_control_frame(f, FA_WS_OP_PONG, "Hello", 5);
    ck_assert_int_eq(memcmp(f, "\x8a\x05Hello", 7), 0);
    run(r, f, n, 1, 1, 0);
    ck_assert_int_eq(r->ev[0].type, FA_WS_EV_PONG);
    run_free(r);
    free(r);
}
END_TEST

/* ---- handshake ---- */

START_TEST(test_accept_key_rfc) {
    /* RFC 6455 §1.3: "dGhlIHNhbXBsZSBub25jZQ==" -> "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=". */
    char out[FA_WS_ACCEPT_LEN + 1];
    ck_assert_int_eq(fa__ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out), 0);
    ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    ck_assert_int_eq(fa__ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=", 23, out), FA_EINVAL);
    ck_assert_int_eq(fa__ws_accept_key("dGhlIHNhbXBsZSBub25jZQ", 22, out), FA_EINVAL);
    ck_assert(!fa__ws_key_valid("dGhlIHNhbXBsZSBub25j*Q==", 24));
    ck_assert(!fa__ws_key_valid("dGhlIHNhbXBsZSBub25jZQ==x", 25));
    ck_assert(!fa__ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=a", 24));
    ck_assert(!fa__ws_key_valid("dGhlIHNhbXBsZSBub25jZQQ=", 24)); /* 17 bytes */
    ck_assert(!fa__ws_key_valid(NULL, 0));
}
END_TEST

#define S(f, v) .f = v, .f##_len = sizeof v - 1

START_TEST(test_check_request) {
    const char *why;
    fa__ws_request_t ok = {.is_get = 1,
                           .minor_version = 1,
                           S(upgrade, "WebSocket"),
                           S(connection, "keep-alive, Upgrade"),
                           S(version, "13"),
                           S(key, "dGhlIHNhbXBsZSBub25jZQ==")};
    ck_assert_int_eq(fa__ws_check_request(&ok, &why), 0);
    ck_assert_ptr_null(why);
    fa__ws_request_t r = ok;
    r.is_get = 0;
    ck_assert_int_eq(fa__ws_check_request(&r, &why), 400);
    ck_assert_ptr_nonnull(why);
    r = ok;
    r.minor_version = 0;
    ck_assert_int_eq(fa__ws_check_request(&r, &why), 400);
    r = ok;
    r.upgrade = NULL;
    ck_assert_int_eq(fa__ws_check_request(&r, &why), 400);
    r = ok;
    r.upgrade = "h2c";
    r.upgrade_len = 3;
    ck_assert_int_eq(fa__ws_check_request(&r, &why), 400);
    r = ok;
    r.connection = "keep-alive, upgrades";
    r.connection_len = strlen(r.connection);
    ck_assert_int_eq(fa__ws_check_request(&r, &why), 400);
    r = ok;
    r.key = "short";
    r.key_len = 5;
    ck_assert_int_eq(fa__ws_check_request(&r, &why), 400);
    r = ok;
    r.key = NULL;
    ck_assert_int_eq(fa__ws_check_request(&r, &why), 400);
    r = ok;
    r.version = NULL;
    ck_assert_int_eq(fa__ws_check_request(&r, &why), 400);
    r = ok;
    r.version = "8";
    r.version_len = 1;
    ck_assert_int_eq(fa__ws_check_request(&r, &why), 426);
    r.version = "130";
    r.version_len = 3;
    ck_assert_int_eq(fa__ws_check_request(&r, &why), 426);
}
END_TEST

START_TEST(test_tokens_and_protocols) {
    const char *offered[] = {"mqtt", "chat", "json"};
    const char *list = "superchat, chat, json";
    ck_assert_str_eq(fa__ws_pick_protocol(list, strlen(list), offered, 3), "chat");
    list = "json,mqtt";
    ck_assert_str_eq(fa__ws_pick_protocol(list, strlen(list), offered, 3), "json");
    list = "Chat, xmpp";
    ck_assert_ptr_null(fa__ws_pick_protocol(list, strlen(list), offered, 3)); /* case-sensitive */
    ck_assert_ptr_null(fa__ws_pick_protocol(NULL, 0, offered, 3));
    ck_assert_ptr_null(fa__ws_pick_protocol("chat", 4, NULL, 0));

    char out[256];
    size_t n = fa__ws_response_101(out, sizeof out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "chat");
    ck_assert_str_eq(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                          "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n");
    ck_assert_uint_eq(n, strlen(out));
    n = fa__ws_response_101(out, sizeof out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", NULL);
    ck_assert_ptr_null(strstr(out, "Sec-WebSocket-Protocol"));
    ck_assert_uint_eq(fa__ws_response_101(out, 20, "x", NULL), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("transport/ws");
    TCase *tc = tcase_create("frames");
    tcase_add_test(tc, test_rfc_unmasked_hello_client_side);
    tcase_add_test(tc, test_rfc_masked_hello);
    tcase_add_test(tc, test_rfc_fragmented_and_interleaved_ping);
    tcase_add_test(tc, test_rfc_ping_pong);
    tcase_add_test(tc, test_rfc_256_and_64k);
    tcase_add_test(tc, test_data_is_zero_copy_and_piecewise);
    tcase_add_test(tc, test_two_frames_in_one_read);
    tcase_add_test(tc, test_empty_fragments);
    tcase_add_test(tc, test_close_frames);
    tcase_add_test(tc, test_protocol_errors);
    tcase_add_test(tc, test_non_minimal_length_is_read);
    tcase_add_test(tc, test_message_size_limit);
    suite_add_tcase(s, tc);
    TCase *tu = tcase_create("utf8");
    tcase_add_test(tu, test_utf8_valid_split_everywhere);
    tcase_add_test(tu, test_utf8_fail_fast_split_everywhere);
    tcase_add_test(tu, test_utf8_incomplete_at_message_end);
    suite_add_tcase(s, tu);
    TCase *tw = tcase_create("writer_handshake");
    tcase_add_test(tw, test_mask_matches_bytewise);
    tcase_add_test(tw, test_writer_round_trip);
    tcase_add_test(tw, test_accept_key_rfc);
    tcase_add_test(tw, test_check_request);
    tcase_add_test(tw, test_tokens_and_protocols);
    suite_add_tcase(s, tw);
    return fa_test_run(s);
}
