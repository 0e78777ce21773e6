/* stdio.c: the stdio transport (see stdio.h).
 *
 * The descriptors are dup()ed before libuv opens them: libuv closes what it owns, and the caller's
 * fd 0/1 should survive the server (embedding, tests). libuv puts pipes in O_NONBLOCK mode, which
 * is a property of the shared open file description, so blocking mode is restored on close.
 */
#include "transport/stdio.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "fasterapi/error.h"

static void start_reading(fa__stdio_t *io);
static void flush(fa__stdio_t *io);
static void maybe_finish_close(fa__stdio_t *io);

static int is_stream(uv_handle_type t) {
    return t == UV_NAMED_PIPE || t == UV_TCP || t == UV_TTY;
}

static uv_stream_t *in_stream(fa__stdio_t *io) {
    return io->in_type == UV_TTY ? (uv_stream_t *)&io->in.tty : (uv_stream_t *)&io->in.pipe;
}

static uv_stream_t *out_stream(fa__stdio_t *io) {
    return io->out_type == UV_TTY ? (uv_stream_t *)&io->out.tty : (uv_stream_t *)&io->out.pipe;
}

static void report_error(fa__stdio_t *io, int err) {
    if (io->failed)
        return;
    io->failed = 1;
    io->fill.len = 0;
    io->cbs->on_error(io->ctx, err);
}

/* ---- input ---- */

static void process(fa__stdio_t *io) {
    while (io->pos < io->end && !io->paused && !io->closing) {
        fa__line_t line;
        size_t used =
            fa__line_framer_feed(&io->framer, io->chunk + io->pos, io->end - io->pos, &line);
        io->pos += used;
        if (line.event == FA_LINE_OK)
            io->cbs->on_line(io->ctx, line.data, line.len);
        else if (line.event == FA_LINE_TOOBIG || line.event == FA_LINE_NOMEM)
            io->cbs->on_toobig(io->ctx, line.len);
    }
}

static void handle_eof(fa__stdio_t *io) {
    io->eof = 1;
    io->reading = 0;
    if (io->eof_reported || io->closing)
        return;
    fa__line_t last;
    fa__line_framer_finish(&io->framer, &last);
    const char *data = last.data;
    size_t len = last.len;
    if (last.event == FA_LINE_OK)
        io->cbs->on_line(io->ctx, data, len);
    else if (last.event == FA_LINE_TOOBIG)
        io->cbs->on_toobig(io->ctx, len);
    io->eof_reported = 1;
    io->cbs->on_eof(io->ctx);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    fa__stdio_t *io = h->data;
    /* Only called while reading, which only happens once the previous chunk is fully fed. */
    *buf = uv_buf_init(io->chunk, FA_STDIO_READ_CHUNK);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    (void)buf;
    fa__stdio_t *io = s->data;
    if (nread > 0) {
        io->pos = 0;
        io->end = (size_t)nread;
        process(io);
        if ((io->paused || io->write_blocked) && io->reading) {
            uv_read_stop(s);
            io->reading = 0;
        }
    } else if (nread == UV_EOF) {
        uv_read_stop(s);
        handle_eof(io);
    } else if (nread < 0) {
        uv_read_stop(s);
        io->reading = 0;
        FA_WARN("stdio: read failed: %s", uv_strerror((int)nread));
        report_error(io, (int)nread);
    }
}

static void fs_read_cb(uv_fs_t *req) {
    fa__stdio_t *io = req->data;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    io->reading = 0;
    if (io->closing) {
        maybe_finish_close(io);
        return;
    }
    if (n > 0) {
        io->pos = 0;
        io->end = (size_t)n;
        process(io);
        start_reading(io);
    } else if (n == 0) {
        handle_eof(io);
    } else {
        FA_WARN("stdio: read failed: %s", uv_strerror((int)n));
        report_error(io, (int)n);
    }
}

static void start_reading(fa__stdio_t *io) {
    if (io->reading || io->paused || io->write_blocked || io->eof || io->closing || io->failed ||
        io->pos < io->end)
        return;
    int rc;
    if (is_stream(io->in_type)) {
        rc = uv_read_start(in_stream(io), alloc_cb, read_cb);
    } else {
        uv_buf_t b = uv_buf_init(io->chunk, FA_STDIO_READ_CHUNK);
        io->read_req.data = io;
        rc = uv_fs_read(io->loop, &io->read_req, io->in_fd, &b, 1, -1, fs_read_cb);
    }
    if (rc) {
        FA_WARN("stdio: cannot read input: %s", uv_strerror(rc));
        report_error(io, rc);
        return;
    }
    io->reading = 1;
}

void fa__stdio_pause(fa__stdio_t *io) {
    io->paused = 1;
    if (io->reading && is_stream(io->in_type)) {
        uv_read_stop(in_stream(io));
        io->reading = 0;
    }
}

void fa__stdio_resume(fa__stdio_t *io) {
    if (!io->paused)
        return;
    io->paused = 0;
    process(io);
    start_reading(io);
}

void fa__stdio_stop_reading(fa__stdio_t *io) {
    io->eof = 1;
    io->pos = io->end = 0;
    if (io->reading && is_stream(io->in_type)) {
        uv_read_stop(in_stream(io));
        io->reading = 0;
    }
}

/* ---- output ---- */

fa__buf_t *fa__stdio_out(fa__stdio_t *io) {
    return &io->fill;
}

size_t fa__stdio_pending(const fa__stdio_t *io) {
    return io->fill.len + io->inflight.len;
}

int fa__stdio_output_blocked(const fa__stdio_t *io) {
    return io->write_blocked;
}

/* Runs once per loop iteration after I/O callbacks: everything committed in this iteration goes
 * out in one write. */
static void flush_check_cb(uv_check_t *h) {
    flush(h->data);
}

static void flush_prepare_cb(uv_prepare_t *h) {
    flush(h->data);
}

void fa__stdio_commit(fa__stdio_t *io) {
    if (io->failed) {
        io->fill.len = 0; /* the reader is gone: nothing can be delivered */
        return;
    }
    if (fa__buf_putc(&io->fill, '\n') != 0) {
        /* Cannot even add the newline: drop the unterminated tail rather than corrupt framing. */
        FA_ERROR("stdio: out of memory queueing output");
        return;
    }
    if (!uv_is_active((uv_handle_t *)&io->flush_check)) {
        uv_check_start(&io->flush_check, flush_check_cb);
        uv_prepare_start(&io->flush_prepare, flush_prepare_cb);
    }
    if (!io->write_blocked && fa__stdio_pending(io) > io->max_pending) {
        io->write_blocked = 1;
        if (io->reading && is_stream(io->in_type)) {
            uv_read_stop(in_stream(io));
            io->reading = 0;
        }
    }
}

static void write_cb(uv_write_t *req, int status) {
    fa__stdio_t *io = req->data;
    io->inflight.len = 0;
    if (status < 0) {
        if (status != UV_ECANCELED)
            FA_INFO("stdio: output closed by the client (%s)", uv_strerror(status));
        report_error(io, status);
    } else if (io->fill.len) {
        flush(io);
    }
    if (io->write_blocked && fa__stdio_pending(io) <= io->max_pending / 2) {
        io->write_blocked = 0;
        if (!io->closing) {
            io->cbs->on_writable(io->ctx);
            start_reading(io);
        }
    }
    maybe_finish_close(io);
}

/* Writes everything to a regular file (or other non-pollable output) synchronously. */
static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void flush(fa__stdio_t *io) {
    if (io->failed) {
        io->fill.len = 0;
    }
    if (io->inflight.len || !io->fill.len) {
        if (!io->fill.len) {
            uv_check_stop(&io->flush_check);
            uv_prepare_stop(&io->flush_prepare);
        }
        return;
    }
    /* Swap: the filled buffer goes out as one write; new messages fill the other one. */
    fa__buf_t t = io->inflight;
    io->inflight = io->fill;
    io->fill = t;
    io->fill.len = 0;
    uv_check_stop(&io->flush_check);
    uv_prepare_stop(&io->flush_prepare);
    io->writes++;
    if (is_stream(io->out_type)) {
        uv_buf_t b = uv_buf_init(io->inflight.data, (unsigned)io->inflight.len);
        io->write_req.data = io;
        int rc = uv_write(&io->write_req, out_stream(io), &b, 1, write_cb);
        if (rc) {
            io->inflight.len = 0;
            report_error(io, rc);
        }
    } else {
        int rc = write_all(io->out_fd, io->inflight.data, io->inflight.len);
        io->inflight.len = 0;
        if (rc)
            report_error(io, rc);
    }
}

/* ---- lifecycle ---- */

static int open_side(fa__stdio_t *io, int fd, uv_handle_type *type, void *handle, int readable) {
    *type = uv_guess_handle(fd);
    if (!is_stream(*type))
        return 0; /* regular file, /dev/null, ...: plain read/write */
    int rc;
    if (*type == UV_TTY) {
        rc = uv_tty_init(io->loop, handle, fd, readable);
    } else {
        rc = uv_pipe_init(io->loop, handle, 0);
        if (rc == 0 && (rc = uv_pipe_open(handle, fd)) != 0)
            uv_close(handle, NULL);
    }
    if (rc)
        return rc;
    ((uv_handle_t *)handle)->data = io;
    io->open_handles++;
    return 0;
}

int fa__stdio_init(fa__stdio_t *io, uv_loop_t *loop, int in_fd, int out_fd, size_t max_line,
                   size_t max_pending, const fa__stdio_cbs_t *cbs, void *ctx) {
    memset(io, 0, sizeof *io);
    io->loop = loop;
    io->cbs = cbs;
    io->ctx = ctx;
    io->max_pending = max_pending;
    io->in_fd = dup(in_fd);
    io->out_fd = dup(out_fd);
    if (io->in_fd < 0 || io->out_fd < 0) {
        int err = -errno;
        if (io->in_fd >= 0)
            close(io->in_fd);
        if (io->out_fd >= 0)
            close(io->out_fd);
        return err;
    }
    fa__line_framer_init(&io->framer, max_line);
    io->chunk = malloc(FA_STDIO_READ_CHUNK);
    if (!io->chunk) {
        close(io->in_fd);
        close(io->out_fd);
        return FA_ENOMEM;
    }
    int rc = open_side(io, io->in_fd, &io->in_type, &io->in, 1);
    if (rc == 0)
        rc = open_side(io, io->out_fd, &io->out_type, &io->out, 0);
    if (rc) {
        /* Close what did open (the loop finishes the close); the fds go with the handles. */
        if (is_stream(io->in_type) && io->open_handles)
            uv_close((uv_handle_t *)in_stream(io), NULL);
        else
            close(io->in_fd);
        close(io->out_fd);
        free(io->chunk);
        io->chunk = NULL;
        return rc;
    }
    uv_check_init(loop, &io->flush_check);
    uv_prepare_init(loop, &io->flush_prepare);
    io->flush_check.data = io->flush_prepare.data = io;
    io->open_handles += 2;
    start_reading(io);
    return 0;
}

static void close_cb(uv_handle_t *h) {
    fa__stdio_t *io = h->data;
    if (--io->open_handles == 0) {
        fa__line_framer_reset(&io->framer);
        fa__buf_free(&io->fill);
        fa__buf_free(&io->inflight);
        free(io->chunk);
        io->chunk = NULL;
        io->cbs->on_closed(io->ctx);
    }
}

static void restore_blocking(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK))
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

static void maybe_finish_close(fa__stdio_t *io) {
    if (!io->closing || io->closing > 1)
        return;
    if (io->reading) /* a thread-pool file read is still outstanding */
        return;
    if (!io->failed && (io->inflight.len || io->fill.len))
        return; /* still flushing */
    io->closing = 2;
    if (is_stream(io->in_type)) {
        restore_blocking(io->in_fd);
        uv_close((uv_handle_t *)in_stream(io), close_cb);
    } else {
        close(io->in_fd);
    }
    if (is_stream(io->out_type)) {
        restore_blocking(io->out_fd);
        uv_close((uv_handle_t *)out_stream(io), close_cb);
    } else {
        close(io->out_fd);
    }
    uv_close((uv_handle_t *)&io->flush_check, close_cb);
    uv_close((uv_handle_t *)&io->flush_prepare, close_cb);
}

void fa__stdio_close(fa__stdio_t *io) {
    if (io->closing)
        return;
    io->closing = 1;
    if (io->reading && is_stream(io->in_type)) {
        uv_read_stop(in_stream(io));
        io->reading = 0;
    }
    if (!io->failed && io->fill.len && !io->inflight.len)
        flush(io);
    maybe_finish_close(io);
}
