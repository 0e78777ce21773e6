/* fasterapi/sse.h: Server-Sent Events streams on the HTTP server (fasterapi/http.h).
 *
 *   // start-up (owner thread): a channel keeps the last events for reconnecting clients
 *   fa_sse_channel_t *clock;
 *   fa_sse_channel_new(&clock, srv, 0, 0);
 *   fa_http_route(srv, "GET", "/events", events_cb, clock);
 *
 *   static void events_cb(fa_http_req_t *req, void *data) {
 *       fa_sse_options_t o;
 *       fa_sse_options_init(&o);
 *       o.channel = data;          // replays after Last-Event-ID, then every new event
 *       fa_sse_open(req, &o, NULL);
 *   }
 *
 *   // any thread, any time:
 *   fa_sse_channel_publish(clock, NULL, NULL, "12:00:01", 8);   // id auto-assigned: "1", "2"...
 *
 * A stream is one open text/event-stream response (200, Cache-Control: no-cache,
 * X-Accel-Buffering: no so that nginx does not buffer it, chunked on HTTP/1.1, close-delimited on
 * HTTP/1.0). Every event is written and flushed as soon as it reaches the connection's loop; a
 * comment line ": keep-alive" is sent when nothing else was written for keepalive_ms (the
 * WHATWG spec suggests one every 15 s or so, to keep proxies from dropping idle connections).
 *
 * Streams are named by a handle {id, gen} that any thread may hold: once the stream is closed
 * (by either side) its generation moves on and every call with the old handle returns FA_ESTATE,
 * never touching freed memory. on_close fires exactly once per opened stream, on the
 * connection's loop thread, whatever ended it: the client left or stopped reading until the
 * server's output limit (max_output) was hit (FA_EOF), fa_sse_close (0), the server shut down
 * (FA_ECANCELED), the stream fell behind its channel's replay window (FA_ELIMIT; the client
 * reconnects), or its replay at open could not be buffered (FA_ENOMEM).
 *
 * Channels. A channel numbers its events and keeps the last ones (bounded by bytes and count,
 * FA_SSE_REPLAY_BYTES / FA_SSE_REPLAY_EVENTS by default) so that an EventSource that reconnects
 * with Last-Event-ID gets exactly the events it missed, then the live ones, with no loss and no
 * duplicate: the replay and the subscription happen atomically with respect to publishers. When
 * the Last-Event-ID is unknown (too old, or from before a restart) nothing is replayed and the
 * stream continues with live events (EventSource semantics: the id says what the client has;
 * resending everything kept could duplicate). Publishing never blocks on a slow client: each
 * loop is told "news" once (coalesced) and copies the new events to its streams.
 *
 * Threads: fa_sse_open on the handler's thread (inside the handler); fa_sse_send, fa_sse_close,
 * fa_sse_channel_publish from any thread; fa_sse_channel_new / _free on the owner thread (free
 * after the server has closed). Sends from one thread to one stream arrive in order.
 */
#ifndef FASTERAPI_SSE_H
#define FASTERAPI_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "fasterapi/common.h"
#include "fasterapi/http.h"

/* Keep-alive comment period: 15 s, the WHATWG spec's suggestion, well under the 60 s idle
 * timeouts of common proxies (nginx proxy_read_timeout, AWS ALB). */
#define FA_SSE_KEEPALIVE_MS 15000u

/* A stream handle; {0, 0} is never a live stream. */
typedef struct {
    uint32_t id;
    uint32_t gen;
} fa_sse_stream_t;

typedef struct fa_sse_channel_s fa_sse_channel_t;

/* Why a stream ended: 0 (fa_sse_close), FA_EOF (the client left or the connection failed),
 * FA_ECANCELED (server shutdown), FA_ELIMIT (fell behind), FA_ENOMEM. Loop thread. The handle
 * is already stale when this runs. */
typedef void (*fa_sse_close_cb)(fa_sse_stream_t stream, int reason, void *data);

typedef struct {
    fa_sse_channel_t *channel; /* subscribe to it (NULL: a stream fed by fa_sse_send only) */
    uint64_t keepalive_ms;     /* 0 = FA_SSE_KEEPALIVE_MS */
    long retry_ms;             /* sent first as "retry:" when >= 0 (default -1: not sent) */
    fa_sse_close_cb on_close;  /* optional */
    void *data;                /* for on_close */
} fa_sse_options_t;

FA_EXTERN void fa_sse_options_init(fa_sse_options_t *o);

/* In a route handler: answers the request with an event stream and returns (in *out, may be
 * NULL) its handle. With a channel, the events after the request's Last-Event-ID are replayed
 * first. The handler may return at once; the stream stays open until closed. A HEAD request
 * gets the same head and no stream (*out is {0, 0}, on_close never fires). 0, FA_ESTATE (the
 * request was already answered or deferred), FA_ENOMEM (the request is answered 500). */
FA_EXTERN int fa_sse_open(fa_http_req_t *req, const fa_sse_options_t *o, fa_sse_stream_t *out);

/* Any thread: sends one event to one stream (formatted per fasterapi's SSE rules: event and id
 * must not contain CR/LF; data is split into data: lines; id NULL = no id line). 0, FA_ESTATE
 * (the stream is closed), FA_EINVAL, FA_ENOMEM. An event racing with the close is dropped. */
FA_EXTERN int fa_sse_send(fa_sse_stream_t s, const char *event, const char *id, const char *data,
                          size_t len);
/* Any thread: ends the stream (the terminating chunk is sent; on_close fires with 0). 0 or
 * FA_ESTATE. */
FA_EXTERN int fa_sse_close(fa_sse_stream_t s);

/* Owner thread, after fa_http_server_new and before the server starts. max_bytes / max_events of
 * 0 take the defaults. 0, FA_ENOMEM. */
FA_EXTERN int fa_sse_channel_new(fa_sse_channel_t **out, fa_http_server_t *srv, size_t max_bytes,
                                 size_t max_events);
/* Any thread: numbers, keeps and broadcasts one event. id NULL: the next number ("1", "2", ...).
 * If id_out is not NULL it receives the id used (up to 256 bytes + NUL). 0, FA_EINVAL,
 * FA_ENOMEM. */
FA_EXTERN int fa_sse_channel_publish(fa_sse_channel_t *ch, const char *event, const char *id,
                                     const char *data, size_t len, char *id_out);
/* Streams currently subscribed, over all loops (approximate while they come and go). */
FA_EXTERN size_t fa_sse_channel_subscribers(const fa_sse_channel_t *ch);
/* Owner thread, after the server has closed (all its streams are gone then). */
FA_EXTERN void fa_sse_channel_free(fa_sse_channel_t *ch);

#endif
