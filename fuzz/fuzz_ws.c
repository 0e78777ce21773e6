/* fuzz/fuzz_ws.c: the WebSocket frame parser (transport/ws.c), fed whole and split.
 *
 * Input layout: byte 0 chooses the side and the message limit (bit 0: parse as a client, so
 * frames must be unmasked, which lets the fuzzer write payloads in clear; bits 1-2: max_message
 * 16 MiB, 0 (no limit), 64 or 1000 bytes); byte 1 the way the rest is cut into chunks (low 2
 * bits: whole, byte by byte, fixed size (b1 >> 2) + 1, pseudo-random 0..31); the rest is the
 * byte stream.
 *
 * The parser's contract (transport/ws.h) says its events do not depend on the split, except that
 * DATA pieces follow it. So the stream is parsed twice, once in one chunk and once split, and
 * the two event sequences, with consecutive DATA pieces of a message merged, must be equal, as
 * must the final result (no error, or the same error with the same close code; the data of a
 * message cut short by the error may differ in length, see comparable()). Per call:
 * _feed returns FA_EAGAIN, an error or 1..n consumed bytes with an event; DATA points inside the
 * consumed bytes and may be empty only when it ends a message; control payloads are <= 125
 * bytes; a CLOSE has a valid code (or 1005) and a UTF-8 reason; every finished text message is
 * valid UTF-8; no message exceeds max_message; errors are sticky and carry 1002, 1007 or 1009.
 */
#include <string.h>

#include "core/utf8.h"
#include "fasterapi/error.h"
#include "fuzz_common.h"
#include "transport/ws.h"

typedef struct {
    fa__ws_event_type_t type;
    int opcode, fin;
    unsigned code;
    size_t off, len;
} ev_t;

typedef struct {
    ev_t *ev;
    size_t n;
    char *arena;
    size_t used;
    int64_t err;
    unsigned close_code;
    int merging; /* the last event is DATA of an unfinished message */
    char *msg;   /* the current message's data, assembled (control payloads may come between) */
    size_t msg_len;
    int msg_opcode;
} evlist_t;

static void record(evlist_t *l, const fa__ws_event_t *ev, uint64_t max) {
    if (ev->type == FA_WS_EV_DATA) {
        if (!l->merging) {
            ev_t *e = &l->ev[l->n++];
            memset(e, 0, sizeof *e);
            e->type = ev->type;
            e->opcode = ev->opcode;
            e->off = l->used;
            if (l->msg_opcode == 0) {
                l->msg_len = 0;
                l->msg_opcode = ev->opcode;
            }
        }
        ev_t *e = &l->ev[l->n - 1];
        FUZZ_CHECK(ev->opcode == l->msg_opcode);
        memcpy(l->arena + l->used, ev->data, ev->len);
        l->used += ev->len;
        memcpy(l->msg + l->msg_len, ev->data, ev->len);
        l->msg_len += ev->len;
        e->len += ev->len;
        e->fin = ev->fin;
        l->merging = !ev->fin;
        if (max)
            FUZZ_CHECK(l->msg_len <= max);
        if (ev->fin) {
            if (ev->opcode == FA_WS_OP_TEXT)
                FUZZ_CHECK(fa__utf8_valid(l->msg, l->msg_len));
            l->msg_opcode = 0;
        }
        return;
    }
    /* A control frame: may come between two pieces of a message (which then goes on in a new
     * entry, the same in both runs since control events are not split). */
    l->merging = 0;
    FUZZ_CHECK(ev->len <= FA_WS_MAX_CONTROL);
    ev_t *e = &l->ev[l->n++];
    memset(e, 0, sizeof *e);
    e->type = ev->type;
    e->code = ev->code;
    e->off = l->used;
    e->len = ev->len;
    memcpy(l->arena + l->used, ev->data, ev->len);
    l->used += ev->len;
    if (ev->type == FA_WS_EV_CLOSE) {
        FUZZ_CHECK(ev->code == FA_WS_CLOSE_NO_STATUS || fa__ws_close_code_valid(ev->code));
        FUZZ_CHECK(fa__utf8_valid(ev->data, ev->len));
    }
}

static void parse(const uint8_t *in, size_t n, const fa__ws_limits_t *lim, splitter_t *sp,
                  evlist_t *out) {
    /* The parser unmasks in place: work on a copy. */
    char *copy = malloc(n + 1);
    FUZZ_CHECK(copy != NULL);
    if (n)
        memcpy(copy, in, n);
    fa__ws_parser_t p;
    fa__ws_parser_init(&p, lim);
    size_t pos = 0;
    int spins = 0;
    while (pos < n && !out->err) {
        size_t chunk = next_chunk(sp, n - pos);
        if (chunk == 0)
            FUZZ_CHECK(++spins < 1000);
        size_t off = 0;
        for (;;) {
            fa__ws_event_t ev;
            char *at = copy + pos + off;
            int64_t got = fa__ws_parser_feed(&p, at, chunk - off, &ev);
            if (got == FA_EAGAIN) {
                FUZZ_CHECK(ev.type == FA_WS_EV_NONE);
                break;
            }
            if (got < 0) {
                FUZZ_CHECK(got == FA_EINVAL || got == FA_EMSGSIZE);
                FUZZ_CHECK(p.close_code == (got == FA_EMSGSIZE ? 1009 : p.close_code));
                FUZZ_CHECK(p.close_code == 1002 || p.close_code == 1007 || p.close_code == 1009);
                FUZZ_CHECK(p.reason != NULL);
                fa__ws_event_t again;
                FUZZ_CHECK(fa__ws_parser_feed(&p, at, chunk - off, &again) == got);
                out->err = got;
                out->close_code = p.close_code;
                break;
            }
            FUZZ_CHECK(got >= 1 && (size_t)got <= chunk - off);
            FUZZ_CHECK(ev.type != FA_WS_EV_NONE);
            if (ev.type == FA_WS_EV_DATA) {
                FUZZ_CHECK(ev.opcode == FA_WS_OP_TEXT || ev.opcode == FA_WS_OP_BINARY);
                FUZZ_CHECK(ev.len > 0 || ev.fin);
                FUZZ_CHECK(ev.data >= at && ev.data + ev.len <= at + got);
            }
            record(out, &ev, lim->max_message);
            off += (size_t)got;
        }
        pos += chunk;
    }
    free(copy);
}

/* Events that every split must give alike: after an error, the message it interrupted may have
 * been delivered further in one run than the other (a piece is checked whole before it is handed
 * out, and the error can come in the middle of a piece), so its last entry is left out. */
static size_t comparable(const evlist_t *l) {
    if (l->err && l->n && l->ev[l->n - 1].type == FA_WS_EV_DATA && !l->ev[l->n - 1].fin)
        return l->n - 1;
    return l->n;
}

static void expect_same(const evlist_t *a, const evlist_t *b) {
    FUZZ_CHECK(a->err == b->err);
    FUZZ_CHECK(a->close_code == b->close_code);
    size_t n = comparable(a);
    FUZZ_CHECK(n == comparable(b));
    for (size_t i = 0; i < n; i++) {
        const ev_t *x = &a->ev[i], *y = &b->ev[i];
        FUZZ_CHECK(x->type == y->type && x->opcode == y->opcode && x->fin == y->fin);
        FUZZ_CHECK(x->code == y->code && x->len == y->len);
        FUZZ_CHECK(memcmp(a->arena + x->off, b->arena + y->off, x->len) == 0);
    }
}

static int evlist_init(evlist_t *l, size_t n) {
    memset(l, 0, sizeof *l);
    /* Every event consumes at least one byte. */
    l->ev = malloc((n + 1) * sizeof *l->ev);
    l->arena = malloc(n + 1);
    l->msg = malloc(n + 1);
    return l->ev && l->arena && l->msg ? 0 : -1;
}

static void evlist_free(evlist_t *l) {
    free(l->ev);
    free(l->arena);
    free(l->msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    static const uint64_t limits[4] = {FA_WS_MAX_MESSAGE, 0, 64, 1000};
    fa__ws_limits_t lim;
    fa__ws_limits_default(&lim);
    lim.client = data[0] & 1;
    lim.max_message = limits[(data[0] >> 1) & 3];
    splitter_t sp = {data[1] & 3u, (data[1] >> 2) + 1u, 0x9e3779b9u ^ data[1]};
    const uint8_t *in = data + 2;
    size_t n = size - 2;

    evlist_t whole, split;
    if (evlist_init(&whole, n) || evlist_init(&split, n))
        abort();
    splitter_t one = {0, 0, 0};
    parse(in, n, &lim, &one, &whole);
    parse(in, n, &lim, &sp, &split);
    expect_same(&whole, &split);
    evlist_free(&whole);
    evlist_free(&split);
    return 0;
}
