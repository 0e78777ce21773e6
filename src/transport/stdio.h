/* transport/stdio.h: newline-delimited messages over a pair of file descriptors, on libuv.
 *
 * Input: stdin may be a pipe or socket (uv_pipe), a tty (uv_tty) or a regular file or character
 * device (uv_fs_read on the thread pool). Bytes go through the line framer; each complete line is
 * handed to on_line synchronously, in order. The consumer can pause input at any point (even in
 * the middle of a read chunk: the rest of the chunk waits in place, nothing is copied) and resume
 * later.
 *
 * Output: messages are appended to a fill buffer; once per loop iteration the whole buffer goes
 * out in one write (a uv_check after the I/O callbacks, and a uv_prepare before the loop blocks,
 * so output committed from timers is not held until the next I/O event); while the previous
 * write is still in flight the next batch keeps filling. When more than max_pending bytes wait,
 * input pauses by itself and fa__stdio_output_blocked() tells producers to hold back; on_writable
 * fires when it drains.
 *
 * Thread affinity: everything on the loop thread.
 */
#ifndef FA_TRANSPORT_STDIO_H
#define FA_TRANSPORT_STDIO_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "transport/line_framer.h"

/* Read chunk size: one syscall moves up to this much (hundreds of small JSON-RPC messages). */
#define FA_STDIO_READ_CHUNK (64u * 1024u)

typedef struct fa__stdio_s fa__stdio_t;

typedef struct {
    void (*on_line)(void *ctx, const char *data, size_t len);
    void (*on_toobig)(void *ctx, size_t len_so_far);
    void (*on_eof)(void *ctx);
    void (*on_error)(void *ctx, int err); /* read or write failed (e.g. FA_EPIPE): peer is gone */
    void (*on_writable)(void *ctx);       /* pending output fell below half of max_pending */
    void (*on_closed)(void *ctx);         /* fa__stdio_close finished */
} fa__stdio_cbs_t;

struct fa__stdio_s {
    uv_loop_t *loop;
    int in_fd, out_fd;
    uv_handle_type in_type, out_type;
    union {
        uv_pipe_t pipe;
        uv_tty_t tty;
    } in, out;
    uv_fs_t read_req;
    uv_write_t write_req;
    uv_check_t flush_check;
    uv_prepare_t flush_prepare;
    fa__line_framer_t framer;
    char *chunk; /* read buffer; [pos, end) is not yet fed to the framer */
    size_t pos, end;
    fa__buf_t fill;     /* messages waiting for the next write */
    fa__buf_t inflight; /* bytes owned by the write in progress */
    size_t max_pending;
    int paused;  /* consumer asked to stop (fa__stdio_pause) */
    int reading; /* uv_read_start active / a file read outstanding */
    int eof;     /* input ended */
    int eof_reported;
    int write_blocked; /* pending output above max_pending */
    int failed;        /* a read/write error was reported; output is dropped */
    int closing;
    int open_handles;
    uint64_t writes; /* write calls issued (statistics: batching shows as writes << messages) */
    const fa__stdio_cbs_t *cbs;
    void *ctx;
};

/* Sets up both sides and starts reading. Returns 0 or a FA_E* code. */
int fa__stdio_init(fa__stdio_t *io, uv_loop_t *loop, int in_fd, int out_fd, size_t max_line,
                   size_t max_pending, const fa__stdio_cbs_t *cbs, void *ctx);

/* The buffer to append one message to; call fa__stdio_commit after appending it. */
fa__buf_t *fa__stdio_out(fa__stdio_t *io);
/* Ends the message just appended with '\n' and schedules the flush. */
void fa__stdio_commit(fa__stdio_t *io);

/* Stops handing lines to on_line (takes effect after the current callback returns). */
void fa__stdio_pause(fa__stdio_t *io);
/* Resumes: feeds what is buffered, then reads again. Safe to call when not paused. */
void fa__stdio_resume(fa__stdio_t *io);
/* Stops reading for good (shutdown); buffered input is dropped. */
void fa__stdio_stop_reading(fa__stdio_t *io);

int fa__stdio_output_blocked(const fa__stdio_t *io);
/* Bytes waiting to be written (fill + in flight). */
size_t fa__stdio_pending(const fa__stdio_t *io);

/* Flushes what is pending (best effort) and closes the handles; on_closed fires when done. */
void fa__stdio_close(fa__stdio_t *io);

#endif
