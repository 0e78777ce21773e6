/* transport/sse.h: Server-Sent Events framing and the Last-Event-ID replay ring.
 *
 * Framing follows the WHATWG HTML Living Standard §9.2 "Server-sent events" (the parsing rules
 * are summarised in research/perf_anchors.md §D):
 *   - an event is a block of "field: value" lines ended by an empty line; we end every line with
 *     a lone LF (the spec's preferred ending, and it avoids the CRLF-split-across-writes hazard)
 *     and every event with "\n\n": an event without its blank line is discarded by clients;
 *   - a raw CR or LF inside a field value would end the line early, so `event` and `id` values
 *     containing one are refused (FA_EINVAL), and data is split at every CRLF, LF and lone CR
 *     into one `data:` line per line: the client joins them with LF, so a payload round-trips
 *     exactly except that CRLF and lone CR come back as LF (the spec offers no way to transmit
 *     a CR);
 *   - values are written after ": " (one space, which the client strips), so a value that itself
 *     starts with a space survives; an empty value is written "data:" with no space;
 *   - an empty payload still gives one "data:" line: the client's data buffer is then "\n", not
 *     empty, so the event fires (with data ""); a block with no data line would fire nothing;
 *   - comments (lines starting with ':') are ignored by clients: the keep-alive.
 *
 * The replay ring keeps the last events (id + formatted bytes), bounded both by bytes and by
 * count, for clients that reconnect with Last-Event-ID (§9.2.4: "the Last-Event-ID header").
 *
 * Thread affinity: none for the formatters (pure); a replay ring belongs to one thread.
 */
#ifndef FA_TRANSPORT_SSE_H
#define FA_TRANSPORT_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "fasterapi/sse.h"

/* Bytes of formatted events a replay ring keeps by default: 256 KiB holds about a thousand
 * typical JSON events of 200 bytes, a few minutes of a busy feed, and bounds the memory a
 * stream costs however fast the application publishes. */
#define FA_SSE_REPLAY_BYTES (256u * 1024u)
/* Events a replay ring keeps by default (the count bound matters for tiny events, whose
 * per-entry overhead would otherwise dominate the byte bound). */
#define FA_SSE_REPLAY_EVENTS 1024u
/* Longest event id: ids are echoed back by clients in a request header, which the HTTP parser
 * bounds anyway; 256 bytes is plenty for a UUID, a timestamp or a cursor. */
#define FA_SSE_MAX_ID 256u

/* ---- formatting ---- */

/* Appends one event to *out: "event: <event>\n" when event is non-NULL and non-empty,
 * "id: <id>\n" when id is non-NULL ("id:\n" for "", which resets the client's last event id),
 * "retry: <retry_ms>\n" when retry_ms >= 0, then one "data: <line>\n" per line of
 * data[0..data_len), then "\n". Returns 0, FA_EINVAL when event or id contains CR or LF (or id is
 * longer than FA_SSE_MAX_ID), or FA_ENOMEM; on error *out is left as it was. */
int fa__sse_format_event(fa__buf_t *out, const char *event, const char *id, long retry_ms,
                         const char *data, size_t data_len);

/* Appends ": <text>\n\n" (": \n\n" style with an empty text). FA_EINVAL when text has CR or LF,
 * FA_ENOMEM; *out unchanged on error. */
int fa__sse_format_comment(fa__buf_t *out, const char *text);

/* ---- replay ring ---- */

typedef struct fa__sse_entry_s fa__sse_entry_t;

typedef struct {
    fa__sse_entry_t **slots; /* ring of max_events entries */
    size_t head;             /* index of the oldest entry */
    size_t count;            /* entries kept */
    size_t bytes;            /* sum of kept entries' id + formatted bytes */
    size_t max_bytes, max_events;
    uint64_t next_auto_id; /* the next auto-assigned id (decimal), starts at 1 */
    uint64_t appended;     /* events appended since init (kept or not) */
    uint64_t evicted;      /* events dropped to stay within the bounds */
    /* The id of the last appended event, even when that event was too big to keep: a client
     * that saw it is up to date, not "unknown". */
    char last_id[FA_SSE_MAX_ID + 1];
    int has_last;
    /* Set by the owner after init: an event too big to keep is refused with FA_EMSGSIZE (out
     * and ring unchanged) instead of being sent unkept (channels use this: a live-only event
     * would open a gap for reconnecting clients). */
    int refuse_oversize;
} fa__sse_replay_t;

/* max_bytes / max_events of 0 mean the defaults. Returns 0 or FA_ENOMEM. */
int fa__sse_replay_init(fa__sse_replay_t *r, size_t max_bytes, size_t max_events);
void fa__sse_replay_free(fa__sse_replay_t *r);

/* Formats an event (as fa__sse_format_event) with id `id`, or, when id is NULL, the next
 * auto-assigned id (a counter, as decimal text: "1", "2", ...), appends the bytes to *out (what
 * to send now) and keeps a copy in the ring, evicting the oldest events to stay within both
 * bounds. An event larger than max_bytes on its own is sent but not kept, and everything older
 * is dropped too, so that a replay never skips over it silently. If id_out is non-NULL it
 * receives the id used (at least FA_SSE_MAX_ID + 1 bytes). Returns 0, FA_EINVAL (bad event/id),
 * FA_EMSGSIZE (too big, with refuse_oversize), FA_ENOMEM (nothing appended to *out and the ring
 * unchanged). Ids should be unique; with duplicates, a lookup finds the newest. */
int fa__sse_replay_event(fa__sse_replay_t *r, fa__buf_t *out, const char *event, const char *id,
                         long retry_ms, const char *data, size_t data_len, char *id_out);

/* Sequence numbers: the ring numbers its events 1, 2, ... in append order (kept or not);
 * r->appended is the newest one. The kept events are always the newest r->count ones (an event
 * too big to keep empties the ring), so they are numbered appended - count + 1 .. appended. */

/* The sequence number of the newest kept event with this id: 0 and *seq set, or FA_ENOENT. */
int fa__sse_replay_find(const fa__sse_replay_t *r, const char *id, size_t id_len, uint64_t *seq);

/* Called for each replayed event, oldest first: the formatted bytes (borrowed for the call).
 * Returns 0 to go on or a negative FA_E* to stop (that code is returned by _since). */
typedef int (*fa__sse_replay_cb)(void *ud, const char *id, const char *bytes, size_t len);

/* Replays every event kept after the one whose id is last_id.
 * Returns the number of events replayed (0 when the client is up to date), or FA_ENOENT when
 * last_id is unknown: evicted already, never sent, or from before a restart. Our choice for
 * that case, following EventSource semantics (the id says "I have everything up to X"): replay
 * NOTHING and say so, rather than resend everything kept, which would duplicate events the
 * client already has; the caller may then tell the application (which can resend its current
 * state) or just continue with live events. A callback error stops and is returned. */
/* Calls cb for every event numbered after `seq`, oldest first. Returns how many, or FA_ENOENT
 * (and calls nothing) when one of them is no longer kept: the caller has a gap. */
int fa__sse_replay_after(const fa__sse_replay_t *r, uint64_t seq, fa__sse_replay_cb cb, void *ud);

int fa__sse_replay_since(const fa__sse_replay_t *r, const char *last_id, size_t last_id_len,
                         fa__sse_replay_cb cb, void *ud);

/* ---- SSE on a held request (sse_stream.c) ---- */

/* Loop thread: fa_sse_open for a request held with fa__http_hold or fa__http_deferred_hold (a
 * Python worker's SSE route): the stream takes the held request over (the holder's close
 * callback is dropped: on success the request belongs to the SSE stream, on error to nobody it
 * can reach). The request's Last-Event-ID header is read from its (deferred) copy. 0, FA_ESTATE
 * (not a held request), FA_EPIPE (the connection is going away), FA_EINVAL (a channel of another
 * server), FA_ELIMIT, FA_ENOMEM. */
struct fa__http_stream_s;
int fa__sse_open_held(struct fa__http_stream_s *held, const fa_sse_options_t *o,
                      fa_sse_stream_t *out);

#endif
