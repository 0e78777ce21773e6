/* core/wakeup.h: a coalescing cross-thread wake-up for a libuv loop (eventfd + uv_poll).
 *
 * Why not uv_async: in libuv 1.44 the loop side of uv_async spins (up to ~1000 pause/cmpxchg
 * rounds, then sched_yield) until the sending thread has finished its uv_async_send. When the
 * sender and the loop share a vCPU the sender cannot finish while the loop spins; the stdio
 * benchmark measured 15% of server CPU in that spin. Here the sender writes the eventfd only
 * when it flips `armed` from 0 to 1, and the loop never waits for a sender.
 *
 * Protocol: a producer publishes its item (e.g. a queue push with release order) and then calls
 * fa__wakeup_send. The loop callback re-arms with an acquire exchange before draining, so it
 * either sees every item published before a send that found the flag set, or that send finds
 * the flag clear and writes the eventfd again. Wake-ups coalesce: a burst costs one write.
 *
 * Threads: _init/_close on the loop thread; _send from any thread while the handle is open.
 */
#ifndef FA_CORE_WAKEUP_H
#define FA_CORE_WAKEUP_H

#include <stdatomic.h>
#include <uv.h>

typedef struct fa__wakeup_s fa__wakeup_t;
typedef void (*fa__wakeup_cb)(fa__wakeup_t *w);

struct fa__wakeup_s {
    uv_poll_t poll;
    int rfd, wfd; /* the same eventfd on Linux; a pipe elsewhere */
    _Alignas(64) _Atomic int armed;
    fa__wakeup_cb cb;
    void *data;
    uv_close_cb close_cb;
};

/* Returns 0 or a negative FA_E* code. */
int fa__wakeup_init(fa__wakeup_t *w, uv_loop_t *loop, fa__wakeup_cb cb);
/* Any thread. */
void fa__wakeup_send(fa__wakeup_t *w);
/* Loop thread; cb (may be NULL) runs once the handle is closed and the descriptors released;
 * it gets the poll handle, whose data points back at the fa__wakeup_t (use w->data for yours). */
void fa__wakeup_close(fa__wakeup_t *w, uv_close_cb cb);

#endif
