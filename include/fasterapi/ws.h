/* fasterapi/ws.h: WebSocket routes (RFC 6455) on the HTTP/1.1 server of fasterapi/http.h.
 *
 *   static void on_message(fa_ws_t *ws, int type, const char *data, size_t len, void *ud) {
 *       fa_ws_send(ws, type, data, len);                        // echo
 *   }
 *   static fa_ws_options_t echo;                                 // lives as long as the server
 *   fa_ws_options_init(&echo);
 *   echo.on_message = on_message;
 *   fa_ws_route(srv, "/ws", &echo);
 *
 * What the server does for a route: checks the opening handshake (RFC 6455 §4.2.1: 400, or 426
 * with "Sec-WebSocket-Version: 13"), answers 101, picks the first subprotocol of the client's list
 * that the route offers; then reads frames (client frames must be masked; fragmented messages are
 * assembled up to max_message, more -> close 1009; text must be UTF-8, checked as it arrives ->
 * 1007; protocol errors -> 1002), answers pings with pongs, echoes a close frame and closes TCP,
 * closes TCP when the peer does not answer our close within close_timeout_ms, pings a connection
 * silent for idle_timeout_ms and closes it (1001) when it stays silent as long again, and drops a
 * client whose unsent output would exceed max_output (it is not reading: memory stays bounded).
 * No extension (permessage-deflate) is negotiated.
 *
 * Threads. Callbacks run on the I/O loop thread that owns the connection. Functions taking an
 * fa_ws_t are for that thread only (inside the callbacks, or anything else running on that loop);
 * the fa_ws_t is valid from on_open until on_close returns. Functions taking an fa_ws_handle_t and
 * the fa_ws_set_t functions may be called from ANY thread while the server runs (not after
 * fa_http_server_free): a handle names a connection by id and generation, so a handle of a
 * connection that has closed is refused with FA_ESTATE and never reaches freed memory. Messages
 * sent from one thread to one connection arrive in the order sent.
 */
#ifndef FASTERAPI_WS_H
#define FASTERAPI_WS_H

#include <stddef.h>
#include <stdint.h>

#include "fasterapi/common.h"
#include "fasterapi/http.h"

/* Message types (the RFC 6455 opcodes). */
#define FA_WS_TEXT 1
#define FA_WS_BINARY 2

/* Defaults, each an option below. */
/* Largest incoming message (all its frames): the same 16 MiB as an HTTP body. */
#define FA_WS_DEFAULT_MAX_MESSAGE (16u * 1024u * 1024u)
/* A connection silent this long gets a ping; silent as long again, it is closed (1001). A ping
 * costs nothing worth counting at this period, and it finds peers that vanished without a FIN
 * (NAT timeouts, unplugged cables) within two minutes. */
#define FA_WS_IDLE_TIMEOUT_MS 60000u
/* After we send a close frame, the peer has this long to answer before TCP is closed anyway
 * (RFC 6455 §7.1.1 lets the server close TCP; 5 s covers a slow client's round trip). */
#define FA_WS_CLOSE_TIMEOUT_MS 5000u

typedef struct fa_ws_s fa_ws_t;
typedef struct fa_ws_set_s fa_ws_set_t;

/* A connection's name, usable from any thread. id 0 is never a live connection. */
typedef struct {
    uint32_t id;
    uint32_t gen;
} fa_ws_handle_t;

typedef struct {
    /* The connection is open (the 101 is queued). req is the upgrade request (valid during the
     * call: path parameters, query, headers). Sends made here follow the 101. Optional. */
    void (*on_open)(fa_ws_t *ws, fa_http_req_t *req, void *data);
    /* A whole message: type FA_WS_TEXT (valid UTF-8) or FA_WS_BINARY. msg is not NUL-terminated
     * and is valid during the call only. */
    void (*on_message)(fa_ws_t *ws, int type, const char *msg, size_t len, void *data);
    /* Once per opened connection, when it is gone or closing: the peer's close code and reason,
     * or the code we sent (our fa_ws_close, a protocol error 1002/1007/1009, idle 1001), or 1006
     * when TCP ended without a close frame. Do not use ws after it returns. Optional. */
    void (*on_close)(fa_ws_t *ws, int code, const char *reason, size_t len, void *data);
    void *data; /* passed to the callbacks */
    /* Subprotocols the route speaks (Sec-WebSocket-Protocol), NULL-terminated, or NULL. */
    const char *const *subprotocols;
    /* Limits and timeouts (0 = the default). */
    uint64_t max_message;
    /* Bytes queued for one client (default: the server's max_output, which applies as well, so
     * this can only lower it). Must exceed the largest message sent: a message is queued whole,
     * so echoing 16 MiB messages needs fa_http_options_t.max_output above 16 MiB. */
    size_t max_output;
    uint64_t idle_timeout_ms;
    int idle_close; /* 1: close an idle connection at once instead of pinging it first */
    int no_idle;    /* 1: no idle timeout at all */
    uint64_t close_timeout_ms;
} fa_ws_options_t;

FA_EXTERN void fa_ws_options_init(fa_ws_options_t *opts);

/* Registers a WebSocket route (GET) before the server starts. opts is borrowed, with everything it
 * points to: it must stay valid until fa_http_server_free. 0, FA_EINVAL, FA_ESTATE (started),
 * FA_ENOMEM. */
FA_EXTERN int fa_ws_route(fa_http_server_t *srv, const char *pattern, const fa_ws_options_t *opts);

/* ---- loop thread (inside callbacks) ---- */

/* Queues a message (one frame). type FA_WS_TEXT (data must be valid UTF-8, else FA_EINVAL) or
 * FA_WS_BINARY. 0; FA_ESTATE when the connection is closing; FA_ENOMEM. When the client's unsent
 * output would exceed max_output the connection is dropped (on_close 1006) and FA_EPIPE returned.
 */
FA_EXTERN int fa_ws_send(fa_ws_t *ws, int type, const void *data, size_t len);
/* Starts the close handshake: sends a close frame (code 1000-4999 as RFC 6455 §7.4 allows, 0 for
 * none; the reason is cut to fit 123 bytes), ignores further messages, closes TCP when the peer
 * answers or after close_timeout_ms. on_close follows. 0, FA_EINVAL (code), FA_ESTATE. */
FA_EXTERN int fa_ws_close(fa_ws_t *ws, unsigned code, const char *reason);
FA_EXTERN fa_ws_handle_t fa_ws_handle(const fa_ws_t *ws);
/* The negotiated subprotocol (one of the route's strings) or NULL. */
FA_EXTERN const char *fa_ws_subprotocol(const fa_ws_t *ws);
/* A pointer of the application's, kept with the connection. */
FA_EXTERN void fa_ws_set_user(fa_ws_t *ws, void *user);
FA_EXTERN void *fa_ws_user(const fa_ws_t *ws);

/* ---- any thread ---- */

/* Queues a message for the connection `h` (the data is copied). 0 (queued: it is sent unless the
 * connection closes first), FA_ESTATE (no such open connection), FA_EINVAL (type, or text that is
 * not UTF-8), FA_ENOMEM. */
FA_EXTERN int fa_ws_send_to(fa_ws_handle_t h, int type, const void *data, size_t len);
/* fa_ws_close for a handle, from any thread. 0, FA_ESTATE, FA_EINVAL, FA_ENOMEM. */
FA_EXTERN int fa_ws_close_to(fa_ws_handle_t h, unsigned code, const char *reason);
/* Whether h names a connection that is still open (a hint: it may close right after). */
FA_EXTERN int fa_ws_alive(fa_ws_handle_t h);

/* A set of connections for broadcasts; its functions lock a mutex, so any thread may use it. */
FA_EXTERN int fa_ws_set_new(fa_ws_set_t **out);
FA_EXTERN void fa_ws_set_free(fa_ws_set_t *set);
/* 0, FA_EEXIST (already in), FA_ENOMEM. */
FA_EXTERN int fa_ws_set_add(fa_ws_set_t *set, fa_ws_handle_t h);
/* 0 or FA_ENOENT. */
FA_EXTERN int fa_ws_set_remove(fa_ws_set_t *set, fa_ws_handle_t h);
FA_EXTERN size_t fa_ws_set_size(fa_ws_set_t *set);
/* Sends one message to every open connection of the set (the frame is built once and shared);
 * handles of closed connections are removed from the set. Returns how many connections it was
 * queued for (>= 0), or FA_EINVAL / FA_ENOMEM. */
FA_EXTERN int fa_ws_broadcast(fa_ws_set_t *set, int type, const void *data, size_t len);

#endif
