/* ws.c: see ws.h. RFC 6455 section numbers are cited where a rule comes from. */
#include "transport/ws.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/utf8.h"
#include "fasterapi/error.h"
#include "transport/http_parser.h"

enum { ST_HEADER, ST_DATA, ST_CTRL, ST_CLOSED, ST_ERROR };

static int is_control(int opcode) {
    return (opcode & 0x8) != 0;
}

void fa__ws_limits_default(fa__ws_limits_t *lim) {
    lim->max_message = FA_WS_MAX_MESSAGE;
    lim->client = 0;
}

static void next_frame(fa__ws_parser_t *p) {
    p->state = ST_HEADER;
    p->hdr_len = 0;
    p->hdr_need = 2;
}

void fa__ws_parser_init(fa__ws_parser_t *p, const fa__ws_limits_t *lim) {
    memset(p, 0, sizeof *p);
    if (lim)
        p->lim = *lim;
    else
        fa__ws_limits_default(&p->lim);
    p->utf8 = FA_UTF8_ACCEPT;
    next_frame(p);
}

int fa__ws_parser_closed(const fa__ws_parser_t *p) {
    return p->state == ST_CLOSED;
}

static int fail(fa__ws_parser_t *p, uint16_t code, const char *reason) {
    p->state = ST_ERROR;
    p->close_code = code;
    p->reason = reason;
    p->err = code == FA_WS_CLOSE_TOO_BIG ? FA_EMSGSIZE : FA_EINVAL;
    return p->err;
}

void fa__ws_mask(unsigned char *buf, size_t len, const unsigned char key[4], uint64_t pos) {
    /* The key byte for payload offset i is key[i % 4] (RFC 6455 §5.3). Rotate it to start at
     * `pos`; then 8 bytes (two whole keys) at a time see the same 64-bit pattern. memcpy loads
     * and stores work at any alignment and compile to plain unaligned moves. */
    unsigned char k8[8];
    for (unsigned j = 0; j < 8; j++)
        k8[j] = key[(pos + j) & 3];
    uint64_t k;
    memcpy(&k, k8, 8);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, buf + i, 8);
        v ^= k;
        memcpy(buf + i, &v, 8);
    }
    for (; i < len; i++)
        buf[i] ^= k8[i & 7];
}

int fa__ws_close_code_valid(unsigned code) {
    /* §7.4.1 defines 1000-1011 (1004 reserved; 1005, 1006 and 1015 "MUST NOT be set as a status
     * code in a Close control frame"), the IANA registry adds 1012-1014; 1016-2999 are reserved
     * for future RFCs, 3000-3999 registered by libraries, 4000-4999 private (§7.4.2). */
    if (code >= 1000 && code <= 1003)
        return 1;
    if (code >= 1007 && code <= 1014)
        return 1;
    return code >= 3000 && code <= 4999;
}

/* The first two header bytes are there: check everything they decide, before any more bytes are
 * read, and work out the header's full size. */
static int check_start(fa__ws_parser_t *p) {
    unsigned b0 = p->hdr[0], b1 = p->hdr[1];
    int fin = (int)(b0 >> 7);
    int opcode = (int)(b0 & 0x0F);
    int masked = (int)(b1 >> 7);
    unsigned len7 = b1 & 0x7F;
    if (b0 & 0x70) /* §5.2: non-zero RSV without a negotiated extension -> fail */
        return fail(p, FA_WS_CLOSE_PROTOCOL, "reserved bit set without an extension");
    switch (opcode) {
    case FA_WS_OP_CONT:
    case FA_WS_OP_TEXT:
    case FA_WS_OP_BINARY:
    case FA_WS_OP_CLOSE:
    case FA_WS_OP_PING:
    case FA_WS_OP_PONG:
        break;
    default: /* 3-7, 11-15 (§5.2): "MUST _Fail the WebSocket Connection_" */
        return fail(p, FA_WS_CLOSE_PROTOCOL, "reserved opcode");
    }
    if (is_control(opcode)) {
        /* §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST NOT
         * be fragmented." They may come between the frames of a message (§5.4). */
        if (!fin)
            return fail(p, FA_WS_CLOSE_PROTOCOL, "fragmented control frame");
        if (len7 > FA_WS_MAX_CONTROL)
            return fail(p, FA_WS_CLOSE_PROTOCOL, "control frame longer than 125 bytes");
    } else if (opcode == FA_WS_OP_CONT) {
        if (!p->msg_opcode)
            return fail(p, FA_WS_CLOSE_PROTOCOL, "continuation frame without a message");
    } else if (p->msg_opcode) {
        /* §5.4: the fragments of one message are not interleaved with another message. */
        return fail(p, FA_WS_CLOSE_PROTOCOL, "new message before the previous one ended");
    }
    /* §5.1: a server MUST close on an unmasked frame, a client on a masked one. */
    if (!p->lim.client && !masked)
        return fail(p, FA_WS_CLOSE_PROTOCOL, "client frame is not masked");
    if (p->lim.client && masked)
        return fail(p, FA_WS_CLOSE_PROTOCOL, "server frame is masked");
    p->fin = fin;
    p->opcode = opcode;
    p->hdr_need = 2 + (len7 == 126 ? 2u : len7 == 127 ? 8u : 0u) + (masked ? 4u : 0u);
    return 0;
}

/* The whole header is there: decode the length and the key, check the size limit. */
static int begin_payload(fa__ws_parser_t *p) {
    unsigned len7 = p->hdr[1] & 0x7F;
    unsigned pos = 2;
    uint64_t n = len7;
    /* §5.2 says "the minimal number of bytes MUST be used to encode the length", but it gives the
     * receiver no duty to check it, and Autobahn, browsers and most servers read a non-minimal
     * length as its value: so do we (the value is what matters for framing and limits). */
    if (len7 == 126) {
        n = (uint64_t)p->hdr[2] << 8 | p->hdr[3];
        pos = 4;
    } else if (len7 == 127) {
        n = 0;
        for (unsigned i = 0; i < 8; i++)
            n = n << 8 | p->hdr[2 + i];
        pos = 10;
        if (n >> 63) /* §5.2: "the most significant bit MUST be 0" */
            return fail(p, FA_WS_CLOSE_PROTOCOL, "64-bit payload length with the high bit set");
    }
    if (!p->lim.client)
        memcpy(p->key, p->hdr + pos, 4);
    if (!is_control(p->opcode)) {
        if (p->opcode != FA_WS_OP_CONT) {
            p->msg_opcode = p->opcode;
            p->msg_len = 0;
            p->utf8 = FA_UTF8_ACCEPT;
        }
        /* msg_len <= max_message holds, so the subtraction cannot wrap. Checked on the declared
         * length, so an oversized message is refused before its payload is read (§10.4). */
        if (p->lim.max_message && n > p->lim.max_message - p->msg_len)
            return fail(p, FA_WS_CLOSE_TOO_BIG, "message too big");
        p->msg_len += n;
        p->state = ST_DATA;
    } else {
        p->ctrl_len = 0;
        p->state = ST_CTRL;
    }
    p->left = n;
    p->done = 0;
    return 0;
}

/* A control frame's payload is complete in p->ctrl (unmasked): describe it. */
static int control_event(fa__ws_parser_t *p, fa__ws_event_t *ev) {
    ev->data = (char *)p->ctrl;
    ev->len = p->ctrl_len;
    if (p->opcode == FA_WS_OP_PING) {
        ev->type = FA_WS_EV_PING;
        return 0;
    }
    if (p->opcode == FA_WS_OP_PONG) {
        ev->type = FA_WS_EV_PONG;
        return 0;
    }
    /* Close (§5.5.1): empty, or a 2-byte code then a UTF-8 reason. */
    if (p->ctrl_len == 1)
        return fail(p, FA_WS_CLOSE_PROTOCOL, "close frame with a 1-byte payload");
    ev->type = FA_WS_EV_CLOSE;
    if (p->ctrl_len == 0) {
        ev->code = FA_WS_CLOSE_NO_STATUS;
    } else {
        ev->code = (uint16_t)(p->ctrl[0] << 8 | p->ctrl[1]);
        if (!fa__ws_close_code_valid(ev->code))
            return fail(p, FA_WS_CLOSE_PROTOCOL, "invalid close code");
        ev->data = (char *)p->ctrl + 2;
        ev->len = p->ctrl_len - 2u;
        if (!fa__utf8_valid(ev->data, ev->len)) /* §5.5.1, §8.1 */
            return fail(p, FA_WS_CLOSE_INVALID_DATA, "close reason is not valid UTF-8");
    }
    p->state = ST_CLOSED;
    return 0;
}

static size_t min_size(uint64_t a, size_t b) {
    return a < b ? (size_t)a : b;
}

int64_t fa__ws_parser_feed(fa__ws_parser_t *p, char *buf, size_t len, fa__ws_event_t *ev) {
    memset(ev, 0, sizeof *ev);
    if (p->state == ST_ERROR)
        return p->err;
    if (p->state == ST_CLOSED)
        return FA_EAGAIN;
    unsigned char *in = (unsigned char *)buf;
    size_t off = 0;
    for (;;) {
        switch (p->state) {
        case ST_HEADER: {
            /* Gather 2 bytes, check them, then the rest of the header (at most 14 in all). */
            if (p->hdr_len < 2) {
                size_t take = min_size(2 - p->hdr_len, len - off);
                memcpy(p->hdr + p->hdr_len, in + off, take);
                p->hdr_len += (unsigned)take;
                off += take;
                if (p->hdr_len < 2)
                    return FA_EAGAIN;
                int r = check_start(p);
                if (r < 0)
                    return r;
            }
            size_t take = min_size(p->hdr_need - p->hdr_len, len - off);
            memcpy(p->hdr + p->hdr_len, in + off, take);
            p->hdr_len += (unsigned)take;
            off += take;
            if (p->hdr_len < p->hdr_need)
                return FA_EAGAIN;
            int r = begin_payload(p);
            if (r < 0)
                return r;
            break;
        }
        case ST_DATA: {
            size_t n = min_size(p->left, len - off);
            if (n == 0 && p->left > 0)
                return FA_EAGAIN;
            char *d = buf + off;
            if (!p->lim.client)
                fa__ws_mask((unsigned char *)d, n, p->key, p->done);
            off += n;
            p->left -= n;
            p->done += n;
            int ends = p->fin && p->left == 0;
            if (p->msg_opcode == FA_WS_OP_TEXT) {
                /* Fail fast (§8.1): at the first invalid byte, even mid-frame; an incomplete
                 * character is fine until the message ends. */
                if (fa__utf8_feed(&p->utf8, d, n) != n)
                    return fail(p, FA_WS_CLOSE_INVALID_DATA, "text message is not valid UTF-8");
                if (ends && p->utf8 != FA_UTF8_ACCEPT)
                    return fail(p, FA_WS_CLOSE_INVALID_DATA,
                                "text message ends inside a character");
            }
            int opcode = p->msg_opcode;
            if (p->left == 0) {
                next_frame(p);
                if (p->fin)
                    p->msg_opcode = 0;
            }
            if (n > 0 || ends) {
                ev->type = FA_WS_EV_DATA;
                ev->opcode = opcode;
                ev->fin = ends;
                ev->data = d;
                ev->len = n;
                return (int64_t)off;
            }
            break; /* an empty non-final fragment: nothing to report */
        }
        case ST_CTRL: {
            size_t n = min_size(p->left, len - off);
            memcpy(p->ctrl + p->ctrl_len, in + off, n);
            p->ctrl_len += (unsigned)n;
            p->left -= n;
            off += n;
            if (p->left > 0)
                return FA_EAGAIN;
            if (!p->lim.client)
                fa__ws_mask(p->ctrl, p->ctrl_len, p->key, 0);
            next_frame(p);
            int r = control_event(p, ev);
            if (r < 0)
                return r;
            /* off > 0: the header bytes of this frame at least were consumed in this call, since
             * a complete header always moves straight on to its payload. */
            return (int64_t)off;
        }
        default:
            return FA_EAGAIN; /* ST_CLOSED after the close frame: ignore the rest */
        }
    }
}

/* ---- writer ---- */

size_t fa__ws_frame_header(unsigned char out[FA_WS_MAX_HEADER], int opcode, int fin, uint64_t len) {
    out[0] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (unsigned char)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
        return 4;
    }
    out[1] = 127;
    for (unsigned i = 0; i < 8; i++)
        out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
    return 10;
}

size_t fa__ws_control_frame(unsigned char out[FA_WS_MAX_CONTROL_FRAME], int opcode,
                            const void *payload, size_t len) {
    if (len > FA_WS_MAX_CONTROL)
        len = FA_WS_MAX_CONTROL;
    size_t h = fa__ws_frame_header(out, opcode, 1, len);
    if (len)
        memcpy(out + h, payload, len);
    return h + len;
}

size_t fa__ws_close_frame(unsigned char out[FA_WS_MAX_CONTROL_FRAME], unsigned code,
                          const char *reason, size_t reason_len) {
    unsigned char payload[FA_WS_MAX_CONTROL];
    size_t n = 0;
    if (code) {
        payload[0] = (unsigned char)(code >> 8);
        payload[1] = (unsigned char)code;
        n = 2;
        if (reason_len > FA_WS_MAX_CONTROL - 2)
            reason_len = fa__utf8_clip(reason, FA_WS_MAX_CONTROL - 2);
        if (reason_len)
            memcpy(payload + 2, reason, reason_len);
        n += reason_len;
    }
    return fa__ws_control_frame(out, FA_WS_OP_CLOSE, payload, n);
}

/* ---- handshake ---- */

static int is_base64(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

int fa__ws_key_valid(const char *key, size_t len) {
    /* 16 bytes encode to 22 characters and "==" (§4.1 item 7). The last character's unused low
     * bits are not checked: like common base64 decoders, a non-canonical key still decodes to 16
     * bytes, and the key is only ever echoed back hashed. */
    if (!key || len != 24 || key[22] != '=' || key[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (!is_base64((unsigned char)key[i]))
            return 0;
    return 1;
}

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* §1.3 */

int fa__ws_accept_key(const char *key, size_t len, char out[FA_WS_ACCEPT_LEN + 1]) {
    if (!fa__ws_key_valid(key, len))
        return FA_EINVAL;
    char in[24 + sizeof WS_GUID];
    memcpy(in, key, 24);
    memcpy(in + 24, WS_GUID, sizeof WS_GUID - 1);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (!EVP_Digest(in, 24 + sizeof WS_GUID - 1, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
        return FA_EIO;
    /* 20 bytes -> 28 characters and the NUL EVP_EncodeBlock always writes. */
    if (EVP_EncodeBlock((unsigned char *)out, md, 20) != (int)FA_WS_ACCEPT_LEN)
        return FA_EIO;
    return 0;
}

static int is_ows(char c) {
    return c == ' ' || c == '\t';
}

/* Calls back on each element of a comma-separated list (RFC 9110 §5.6.1), trimmed, empty ones
 * skipped. Stops when fn returns non-zero and returns that. (Subprotocol names are compared
 * case-sensitively, unlike the tokens fa__http_has_token matches.) */
typedef int (*token_fn)(const char *tok, size_t len, const void *arg);

static int each_token(const char *v, size_t len, token_fn fn, const void *arg) {
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && v[i] != ',')
            i++;
        size_t end = i;
        while (start < end && is_ows(v[start]))
            start++;
        while (end > start && is_ows(v[end - 1]))
            end--;
        if (end > start) {
            int r = fn(v + start, end - start, arg);
            if (r)
                return r;
        }
        i++; /* past the comma */
    }
    return 0;
}

/* Connection and Upgrade are comma-separated token lists compared case-insensitively (RFC 9110
 * §7.6.1, §7.8): the HTTP parser's own list matcher. */
static int has_token(const char *value, size_t len, const char *token) {
    return value ? fa__http_has_token(value, len, token) : 0;
}

int fa__ws_check_request(const fa__ws_request_t *req, const char **reason) {
    const char *why = NULL;
    int status = 400;
    /* §4.2.1, in its order. */
    if (!req->is_get)
        why = "WebSocket handshake must be a GET";
    else if (req->minor_version < 1)
        why = "WebSocket needs HTTP/1.1";
    else if (!has_token(req->upgrade, req->upgrade_len, "websocket"))
        why = "missing Upgrade: websocket";
    else if (!has_token(req->connection, req->connection_len, "upgrade"))
        why = "missing Connection: Upgrade";
    else if (!req->key || !fa__ws_key_valid(req->key, req->key_len))
        why = "missing or invalid Sec-WebSocket-Key";
    else if (!req->version)
        why = "missing Sec-WebSocket-Version";
    else if (req->version_len != 2 || memcmp(req->version, "13", 2) != 0)
        why = "unsupported Sec-WebSocket-Version", status = 426; /* §4.4 */
    if (reason)
        *reason = why;
    return why ? status : 0;
}

typedef struct {
    const char *const *offered;
    size_t n;
    const char *found;
} pick_t;

static int pick_one(const char *tok, size_t len, const void *arg) {
    pick_t *pk = (pick_t *)(uintptr_t)arg; /* our own mutable struct, passed through const */
    for (size_t i = 0; i < pk->n; i++) {
        if (pk->offered[i] && strlen(pk->offered[i]) == len &&
            memcmp(pk->offered[i], tok, len) == 0) {
            pk->found = pk->offered[i];
            return 1;
        }
    }
    return 0;
}

const char *fa__ws_pick_protocol(const char *list, size_t len, const char *const *offered,
                                 size_t n) {
    if (!list || !offered)
        return NULL;
    pick_t pk = {offered, n, NULL};
    each_token(list, len, pick_one, &pk);
    return pk.found;
}

size_t fa__ws_response_101(char *out, size_t cap, const char *accept, const char *protocol) {
    int n = snprintf(out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n"
                     "%s%s%s"
                     "\r\n",
                     accept, protocol ? "Sec-WebSocket-Protocol: " : "", protocol ? protocol : "",
                     protocol ? "\r\n" : "");
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
