/* transport/ws.h: the WebSocket protocol core (RFC 6455), pure: frame parser, UTF-8 checks of
 * text, frame writer and the opening-handshake checks. No I/O, no allocation.
 *
 *  - fa__ws_parser_t is an incremental state machine (STYLE.md §8). _feed takes whatever bytes
 *    arrived (any split) and returns one event at a time. Message data is unmasked in place in the
 *    caller's buffer and handed out zero-copy, piece by piece, as it arrives: a message is never
 *    assembled here, so memory does not depend on message size. Only a frame header (<= 14 bytes)
 *    and a control frame's payload (<= 125 bytes) are kept across reads.
 *  - Every protocol violation is detected as early as the bytes allow (Autobahn's "fail fast"):
 *    header rules on the first two bytes, the size limit on the declared length before any
 *    payload, invalid UTF-8 at the first offending byte even in the middle of a frame. The error
 *    carries the close code to send (RFC 6455 §7.4.1): 1002 protocol error, 1007 invalid data,
 *    1009 too big.
 *  - No extension is implemented (permessage-deflate is not negotiated), so any RSV bit is an
 *    error (RFC 6455 §5.2).
 *  - A length in a longer form than needed (5 in the 16-bit form) is read as its value: §5.2
 *    asks senders for the minimal form but gives receivers no duty to refuse others.
 *  - The handshake helpers are pure functions over header values (strings in the request
 *    buffer); the HTTP server looks the fields up and writes the answer.
 *
 * Thread affinity: none (pure); a parser belongs to whoever holds it.
 */
#ifndef FA_TRANSPORT_WS_H
#define FA_TRANSPORT_WS_H

#include <stddef.h>
#include <stdint.h>

/* Largest message accepted (sum of its frames' payloads): 16 MiB, the same bound as an HTTP body
 * (FA_HTTP_MAX_BODY) and an MCP stdio message, so one limit describes "a message" everywhere.
 * Larger -> close 1009 (RFC 6455 §7.4.1), decided on the frame header before the payload comes.
 * The parser itself never buffers data; this bounds what a consumer that assembles messages
 * must hold. */
#define FA_WS_MAX_MESSAGE (16u * 1024u * 1024u)
/* Control frames carry at most 125 bytes (RFC 6455 §5.5). */
#define FA_WS_MAX_CONTROL 125u
/* A frame header: 2 bytes, + 8 of extended length, + 4 of masking key (RFC 6455 §5.2). */
#define FA_WS_MAX_HEADER 14u
/* Size of a buffer that holds any control frame the server sends (header 2 + 125). */
#define FA_WS_MAX_CONTROL_FRAME (2u + FA_WS_MAX_CONTROL)

/* Opcodes (RFC 6455 §5.2, §11.8). */
enum {
    FA_WS_OP_CONT = 0x0,
    FA_WS_OP_TEXT = 0x1,
    FA_WS_OP_BINARY = 0x2,
    FA_WS_OP_CLOSE = 0x8,
    FA_WS_OP_PING = 0x9,
    FA_WS_OP_PONG = 0xA
};

/* Close codes (RFC 6455 §7.4.1, §11.7) that this code sends or interprets. */
enum {
    FA_WS_CLOSE_NORMAL = 1000,
    FA_WS_CLOSE_GOING_AWAY = 1001,
    FA_WS_CLOSE_PROTOCOL = 1002,
    FA_WS_CLOSE_UNSUPPORTED = 1003,
    FA_WS_CLOSE_NO_STATUS = 1005, /* never on the wire: "the close frame had no code" */
    FA_WS_CLOSE_ABNORMAL = 1006,  /* never on the wire: "the TCP connection just ended" */
    FA_WS_CLOSE_INVALID_DATA = 1007,
    FA_WS_CLOSE_POLICY = 1008,
    FA_WS_CLOSE_TOO_BIG = 1009,
    FA_WS_CLOSE_INTERNAL = 1011,
    FA_WS_CLOSE_TRY_AGAIN = 1013
};

typedef enum {
    FA_WS_EV_NONE = 0,
    FA_WS_EV_DATA,  /* a piece of a text/binary message: opcode, fin, data/len */
    FA_WS_EV_PING,  /* a ping; data/len is its payload (answer with a pong carrying it) */
    FA_WS_EV_PONG,  /* a pong; data/len is its payload */
    FA_WS_EV_CLOSE, /* a close frame: code (FA_WS_CLOSE_NO_STATUS when it had none), reason */
} fa__ws_event_type_t;

typedef struct {
    fa__ws_event_type_t type;
    int opcode; /* DATA: FA_WS_OP_TEXT or FA_WS_OP_BINARY (the message's, also for continuations) */
    int fin;    /* DATA: this piece ends the message (a text message is then complete UTF-8) */
    /* DATA: unmasked bytes in the caller's buffer (valid while that buffer is); PING, PONG, CLOSE
     * (the reason, valid UTF-8): bytes inside the parser, valid until the next _feed/_init. A
     * DATA piece may be empty only when it ends a message. */
    char *data;
    size_t len;
    uint16_t code; /* CLOSE */
} fa__ws_event_t;

typedef struct {
    uint64_t max_message; /* FA_WS_MAX_MESSAGE by default; 0 means no limit */
    /* 0: we are the server, frames must be masked (RFC 6455 §5.1). 1: we are a client (tests and
     * tools reading a server's frames), frames must not be masked. */
    int client;
} fa__ws_limits_t;

void fa__ws_limits_default(fa__ws_limits_t *lim);

typedef struct {
    fa__ws_limits_t lim;
    int state;
    /* current frame */
    unsigned char hdr[FA_WS_MAX_HEADER];
    unsigned hdr_len, hdr_need;
    int fin, opcode;
    unsigned char key[4];
    uint64_t left; /* payload bytes of the current frame not yet consumed */
    uint64_t done; /* payload bytes of the current frame consumed (mask key phase) */
    /* current message (text/binary), across frames */
    int msg_opcode; /* 0 when no message is in progress */
    uint64_t msg_len;
    uint8_t utf8; /* fa__utf8_feed state of a text message */
    /* a control frame's payload, gathered across reads */
    unsigned char ctrl[FA_WS_MAX_CONTROL];
    unsigned ctrl_len;
    /* on error: */
    int err;             /* the negative code _feed keeps returning */
    uint16_t close_code; /* 1002, 1007 or 1009 */
    const char *reason;  /* static text for the log and the close frame's reason */
} fa__ws_parser_t;

void fa__ws_parser_init(fa__ws_parser_t *p, const fa__ws_limits_t *lim);

/* Consumes a prefix of buf[0..len) (modifying it: data is unmasked in place) and describes what
 * it completed in *ev. Returns:
 *   > 0        bytes consumed, *ev holds an event (call again with the rest);
 *   FA_EAGAIN  all len bytes were consumed (kept inside the parser when needed) and no event is
 *              complete yet: feed more bytes;
 *   FA_EINVAL  protocol error: p->close_code (1002 or 1007) and p->reason say what to send;
 *   FA_EMSGSIZE  the message exceeds max_message: p->close_code is 1009.
 * After an error every later call returns the same error. After a CLOSE event the peer must send
 * nothing more (RFC 6455 §5.5.1): later bytes are consumed and ignored (FA_EAGAIN). The events
 * do not depend on how the input is split, except that DATA pieces follow the split. */
int64_t fa__ws_parser_feed(fa__ws_parser_t *p, char *buf, size_t len, fa__ws_event_t *ev);

/* True once a CLOSE event was returned. */
int fa__ws_parser_closed(const fa__ws_parser_t *p);

/* XORs buf[0..len) with the masking key, starting at payload offset `pos` (RFC 6455 §5.3):
 * masking and unmasking are the same operation. 8 bytes at a time. */
void fa__ws_mask(unsigned char *buf, size_t len, const unsigned char key[4], uint64_t pos);

/* Whether a close code may appear in a close frame (RFC 6455 §7.4.1, §7.4.2, IANA registry):
 * 1000-1003, 1007-1014, 3000-4999. */
int fa__ws_close_code_valid(unsigned code);

/* ---- writer (server frames are never masked, RFC 6455 §5.1) ---- */

/* Writes the header of an unmasked frame carrying len payload bytes; returns its size (2, 4 or
 * 10). opcode is an FA_WS_OP_*; fin 1 for the last (or only) frame of a message. */
size_t fa__ws_frame_header(unsigned char out[FA_WS_MAX_HEADER], int opcode, int fin, uint64_t len);

/* A whole close frame: code (none when code == 0) and reason, the reason cut at a character
 * boundary to fit 123 bytes. Returns the frame size (<= FA_WS_MAX_CONTROL_FRAME). */
size_t fa__ws_close_frame(unsigned char out[FA_WS_MAX_CONTROL_FRAME], unsigned code,
                          const char *reason, size_t reason_len);

/* A whole pong (or ping, with opcode FA_WS_OP_PING) frame; len is cut to 125. Returns its size.
 */
size_t fa__ws_control_frame(unsigned char out[FA_WS_MAX_CONTROL_FRAME], int opcode,
                            const void *payload, size_t len);

/* ---- opening handshake (RFC 6455 §4.2) ---- */

/* Size of the Sec-WebSocket-Accept value: base64 of a SHA-1 (28) + NUL. */
#define FA_WS_ACCEPT_LEN 28u

/* Whether key[0..len) is a valid Sec-WebSocket-Key: the base64 of 16 bytes (RFC 6455 §4.1
 * item 7), i.e. 22 base64 characters and "==". */
int fa__ws_key_valid(const char *key, size_t len);

/* The Sec-WebSocket-Accept value for a client key (RFC 6455 §4.2.2 item 5.4): base64(SHA-1(key +
 * "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), NUL-terminated. Returns 0, FA_EINVAL for an invalid
 * key, FA_ENOMEM/FA_EIO when libcrypto fails. */
int fa__ws_accept_key(const char *key, size_t len, char out[FA_WS_ACCEPT_LEN + 1]);

/* The request facts the handshake depends on; each field NULL when absent. */
typedef struct {
    int is_get;        /* method GET (RFC 6455 §4.1 item 2) */
    int minor_version; /* HTTP/1.<minor>; 1.1 or later is required */
    const char *upgrade, *connection, *version, *key, *protocols;
    size_t upgrade_len, connection_len, version_len, key_len, protocols_len;
} fa__ws_request_t;

/* Checks an opening handshake (RFC 6455 §4.2.1). Returns 0 when it is valid, else the HTTP status
 * to answer with and *reason: 400 (not GET, not HTTP/1.1, Upgrade without the "websocket"
 * token, Connection without "upgrade", a missing or invalid key, a missing version), or 426 for a
 * Sec-WebSocket-Version other than 13 (answer with "Sec-WebSocket-Version: 13", RFC 6455 §4.4).
 */
int fa__ws_check_request(const fa__ws_request_t *req, const char **reason);

/* Header fields for the 426 answer (RFC 6455 §4.4): the versions we speak. */
#define FA_WS_426_HEADERS "Sec-WebSocket-Version: 13\r\n"

/* Subprotocol negotiation (RFC 6455 §4.2.2 item 5.5): the first token of the client's
 * comma-separated list (Sec-WebSocket-Protocol) that is one of the server's `offered[0..n)`
 * (exact, case-sensitive match). Returns that entry of `offered` (borrowed), or NULL. */
const char *fa__ws_pick_protocol(const char *list, size_t len, const char *const *offered,
                                 size_t n);

/* Writes the 101 answer (RFC 6455 §4.2.2) into out[0..cap): accept is the Sec-WebSocket-Accept
 * value, protocol the chosen subprotocol or NULL. Returns its length, or 0 when cap is too small.
 */
size_t fa__ws_response_101(char *out, size_t cap, const char *accept, const char *protocol);

#endif
