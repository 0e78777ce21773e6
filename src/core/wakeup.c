/* wakeup.c: see wakeup.h. */
#include "core/wakeup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/eventfd.h>
#endif

#include "fasterapi/error.h"

static void on_readable(uv_poll_t *p, int status, int events) {
    (void)events;
    fa__wakeup_t *w = p->data;
    char buf[64];
    /* Drain the eventfd counter (or the pipe); EAGAIN just means another read got it. */
    while (read(w->rfd, buf, sizeof buf) > 0 && w->rfd != w->wfd)
        ;
    /* acq_rel: reading a producer's 1 synchronizes with its release RMW, so everything it
     * published before sending is visible to the callback below. */
    atomic_exchange_explicit(&w->armed, 0, memory_order_acq_rel);
    if (status == 0)
        w->cb(w);
}

int fa__wakeup_init(fa__wakeup_t *w, uv_loop_t *loop, fa__wakeup_cb cb) {
    w->cb = cb;
    w->close_cb = NULL;
    atomic_init(&w->armed, 0);
#ifdef __linux__
    w->rfd = w->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->rfd < 0)
        return -errno;
#else
    int fds[2];
    if (pipe(fds) != 0)
        return -errno;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    w->rfd = fds[0];
    w->wfd = fds[1];
#endif
    int rc = uv_poll_init(loop, &w->poll, w->rfd);
    if (rc == 0)
        rc = uv_poll_start(&w->poll, UV_READABLE, on_readable);
    if (rc) {
        close(w->rfd);
        if (w->wfd != w->rfd)
            close(w->wfd);
        return rc;
    }
    w->poll.data = w;
    return 0;
}

void fa__wakeup_send(fa__wakeup_t *w) {
    /* acq_rel: release publishes the caller's item to the loop's acquire exchange. Only the
     * sender that flips 0 -> 1 pays for the syscall. */
    if (atomic_exchange_explicit(&w->armed, 1, memory_order_acq_rel) != 0)
        return;
    uint64_t one = 1;
    ssize_t n;
    do {
        n = write(w->wfd, &one, w->rfd == w->wfd ? sizeof one : 1);
    } while (n < 0 && errno == EINTR);
    /* EAGAIN: the counter/pipe is already full of unread wake-ups; the loop will run anyway. */
}

static void closed(uv_handle_t *h) {
    fa__wakeup_t *w = h->data;
    close(w->rfd);
    if (w->wfd != w->rfd)
        close(w->wfd);
    if (w->close_cb)
        w->close_cb(h);
}

void fa__wakeup_close(fa__wakeup_t *w, uv_close_cb cb) {
    w->close_cb = cb;
    uv_close((uv_handle_t *)&w->poll, closed);
}
