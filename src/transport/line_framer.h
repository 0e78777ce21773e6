/* transport/line_framer.h: newline-delimited message framing for the stdio transport.
 *
 * MCP stdio (spec 2025-11-25 basic/transports): messages are delimited by newlines and MUST NOT
 * contain embedded newlines, so a '\n' always ends a message. The framer is a pure incremental
 * parser (STYLE.md §8): no I/O, _feed takes whatever bytes arrived and hands back complete lines.
 *
 *  - A line that lies entirely inside one fed chunk is returned in place (zero copy). Only a line
 *    split across chunks is assembled in the framer's own buffer.
 *  - Each byte is scanned once (memchr over new bytes only), so framing is amortised O(1) per byte
 *    however the input is split: no re-scan, no quadratic concatenation.
 *  - A trailing '\r' is dropped (CRLF tolerated); empty and whitespace-only lines are skipped.
 *  - A line longer than `max` bytes (not counting its "\n" or "\r\n") is reported once as
 *    FA_LINE_TOOBIG, then skipped up to the next '\n': the stream resynchronises. It is reported
 *    as soon as max + 2 bytes without a newline have arrived (max + 1 may still be a line of max
 *    bytes plus the CR of a CRLF), or at its newline; nothing of it is kept.
 *
 * Thread affinity: one framer belongs to one thread.
 */
#ifndef FA_TRANSPORT_LINE_FRAMER_H
#define FA_TRANSPORT_LINE_FRAMER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

typedef enum {
    FA_LINE_NONE = 0, /* the input was consumed without completing a line */
    FA_LINE_OK,       /* a complete line: data/len (without "\n" or "\r\n") */
    FA_LINE_TOOBIG,   /* a line exceeded max; its bytes are being discarded */
    FA_LINE_NOMEM     /* a partial line could not be buffered; it is being discarded */
} fa__line_event_t;

typedef struct {
    fa__line_event_t event;
    const char *data; /* valid until the next _feed/_reset; points into the input or the framer */
    size_t len;
} fa__line_t;

typedef struct {
    fa__buf_t partial;  /* bytes of an unfinished line carried over from earlier chunks */
    size_t max;         /* longest accepted line, in bytes */
    int discarding;     /* inside an oversized line: drop bytes until '\n' */
    uint64_t lines;     /* complete lines returned (statistics) */
    uint64_t oversized; /* lines reported as FA_LINE_TOOBIG */
} fa__line_framer_t;

void fa__line_framer_init(fa__line_framer_t *f, size_t max);
/* Forgets any partial line and frees the buffer; the framer can be fed again. */
void fa__line_framer_reset(fa__line_framer_t *f);

/* Consumes a prefix of in[0..n) and describes the result in *out. Returns the number of bytes
 * consumed (callers loop until all n are consumed, handling each event); it is 0 only when
 * n == 0. FA_LINE_NOMEM means a partial line could not be buffered: that line is discarded up to
 * its newline, like an oversized one. */
size_t fa__line_framer_feed(fa__line_framer_t *f, const char *in, size_t n, fa__line_t *out);

/* At end of input: returns the unterminated last line as FA_LINE_OK (a final message without its
 * newline is accepted, as `printf '{...}' | server` expects), or FA_LINE_NONE. Resets the framer.
 */
void fa__line_framer_finish(fa__line_framer_t *f, fa__line_t *out);

/* True when bytes of an unfinished line are buffered (at EOF that is a truncated message). */
int fa__line_framer_has_partial(const fa__line_framer_t *f);

#endif
