/* pool.c: the worker pool of the Python host (see pyhost_internal.h for the shape).
 *
 * Creating an interpreter (research/subinterp.md §1.3 rule 2): the worker attaches a
 * main-interpreter thread state, calls Py_NewInterpreterFromConfig (which detaches it and returns
 * the new interpreter's state with its own GIL held), and keeps both; at the end it calls
 * Py_EndInterpreter on its own thread, re-attaches the main state and deletes it. Creation is
 * serialised by pool->create_lock (concurrent creation raced in 3.12, gh-123134), which is not
 * pool->lock: a worker takes create_lock and then the main GIL, while the early worker reports
 * to pool->lock holding the main GIL.
 *
 * Waking (a Dekker pair, like core/workers.c but with eventfds because a worker waits inside its
 * asyncio loop, not on a futex): a worker with nothing to do sets its bit in `idle`, fences, and
 * looks at the queue once more before returning to its loop; the server pushes calls, fences,
 * and for each idle bit it manages to clear writes that worker's eventfd. Either the worker sees
 * the call or the server sees the bit. A cleared bit whose worker found work anyway costs one
 * spurious wake-up.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "core/log.h"
#include "core/workers.h"
#include "fasterapi/error.h"
#include "pyhost/convert.h"
#include "pyhost/pyhost_internal.h"

static _Thread_local fa__pyworker_t *tls_worker;

fa__pyworker_t *fa__pyworker_current(void) {
    return tls_worker;
}

static void efd_signal(int fd) {
    uint64_t one = 1;
    ssize_t n;
    do {
        n = write(fd, &one, sizeof one);
    } while (n < 0 && errno == EINTR);
    /* EAGAIN: the counter is saturated with unread wake-ups; the worker will run anyway. */
}

/* ---- start-up, in the worker's thread ---- */

/* Lets the isolated workers start (FA_PY_HOLD_MS): the early worker finished a call, the hold
 * ran out, or the pool stops. Any thread, no GIL needed. */
static void open_gate(fa__pypool_t *p) {
    pthread_mutex_lock(&p->lock);
    /* Relaxed: wait_gate reads it under the lock; run_call's unlocked read is only a hint (a
     * stale 0 costs one more open_gate). */
    atomic_store_explicit(&p->gate_open, 1, memory_order_relaxed);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* An isolated worker, before it creates its interpreter: waits while the early worker has not
 * finished a call, at most until hold_ns after it began serving. */
static void wait_gate(fa__pypool_t *p) {
    pthread_mutex_lock(&p->lock);
    while (!atomic_load_explicit(&p->gate_open, memory_order_relaxed)) {
        uint64_t now = uv_hrtime(), end = p->started_ns + p->hold_ns;
        if (now >= end)
            break;
        struct timespec until; /* p->cond waits on CLOCK_REALTIME */
        clock_gettime(CLOCK_REALTIME, &until);
        uint64_t ns = (uint64_t)until.tv_nsec + (end - now);
        until.tv_sec += (time_t)(ns / 1000000000u);
        until.tv_nsec = (long)(ns % 1000000000u);
        pthread_cond_timedwait(&p->cond, &p->lock, &until);
    }
    pthread_mutex_unlock(&p->lock);
}

/* Takes the early worker out of the rotation: it finishes what it has and never announces
 * itself idle again. Its idle bit is cleared without a wake-up, which loses nothing: every other
 * worker re-checks the queue before it sleeps (the Dekker pair of on_wake and pool_wake). */
static void retire_early(fa__pypool_t *p) {
    if (p->early < 0)
        return;
    atomic_store_explicit(&p->retired, 1, memory_order_seq_cst);
    atomic_fetch_and_explicit(&p->idle, ~(1ull << p->early), memory_order_seq_cst);
}

/* A worker's start-up result. The last isolated worker to finish starting tells the host. */
static void report(fa__pyworker_t *w, int ok) {
    fa__pypool_t *p = w->pool;
    pthread_mutex_lock(&p->lock);
    if (ok)
        w->ready = 1;
    else
        w->failed = 1;
    int last = 0;
    if (w->index != p->early) {
        if (!ok && p->start_rc == 0) {
            p->start_rc = FA_EPYTHON;
            snprintf(p->start_error, sizeof p->start_error, "%s", w->error);
        }
        last = p->early >= 0 && --p->starting == 0;
    }
    pthread_cond_broadcast(&p->cond);
    int rc = p->start_rc, fell_back = p->fell_back;
    fa__pypool_ready_fn on_ready = p->on_ready;
    pthread_mutex_unlock(&p->lock);
    if (!last)
        return;
    if (rc == 0)
        retire_early(p);
    if (on_ready)
        on_ready(p->ready_arg, rc, fell_back, p->start_error);
}

/* An isolated worker whose app refused isolation runs in the main interpreter instead. */
static void note_fallback(fa__pyworker_t *w) {
    fa__pypool_t *p = w->pool;
    pthread_mutex_lock(&p->lock);
    if (!p->fell_back) {
        p->fell_back = 1;
        snprintf(p->start_error, sizeof p->start_error, "%s", w->error);
    }
    pthread_mutex_unlock(&p->lock);
    w->in_main = 1;
    w->isolation_refused = 0;
    w->error[0] = '\0';
}

#if PY_VERSION_HEX >= 0x030C0000
PyThreadState *fa__py_new_isolated(PyThreadState *caller, char *err, size_t err_size) {
    PyInterpreterConfig cfg = {
        .use_main_obmalloc = 0,
        .allow_fork = 0,
        .allow_exec = 0,
        .allow_threads = 1,
        .allow_daemon_threads = 0,
        .check_multi_interp_extensions = 1,
        .gil = PyInterpreterConfig_OWN_GIL,
    };
    PyThreadState *sub = NULL;
    PyStatus st = Py_NewInterpreterFromConfig(&sub, &cfg);
    if (!PyStatus_Exception(st))
        return sub;
#if PY_VERSION_HEX < 0x030D0000
    PyEval_RestoreThread(caller);
#else
    (void)caller;
#endif
    snprintf(err, err_size, "cannot create a subinterpreter: %s",
             st.err_msg ? st.err_msg : "unknown error");
    return NULL;
}
#endif

/* Attaches this thread to its interpreter: a new isolated one (OWN_GIL) or the main one.
 * Returns 0 with the GIL held, or -1 with w->error set and no thread state attached. */
static int attach_interpreter(fa__pyworker_t *w) {
    PyInterpreterState *main_interp = PyInterpreterState_Main();
    if (w->in_main) {
        w->ts = PyThreadState_New(main_interp);
        if (!w->ts) {
            snprintf(w->error, sizeof w->error, "cannot create a Python thread state");
            return -1;
        }
        PyEval_RestoreThread(w->ts);
        w->interp = main_interp;
        return 0;
    }
#if PY_VERSION_HEX >= 0x030C0000
    fa__pypool_t *p = w->pool;
    /* The lock is taken before the main GIL so a worker never waits for it holding that GIL. */
    pthread_mutex_lock(&p->create_lock);
    w->main_ts = PyThreadState_New(main_interp);
    if (!w->main_ts) {
        pthread_mutex_unlock(&p->create_lock);
        snprintf(w->error, sizeof w->error, "cannot create a Python thread state");
        return -1;
    }
    PyEval_RestoreThread(w->main_ts);
    if (!p->preloaded) {
        /* _asyncio's main instance must exist before any subinterpreter imports it (host.c
         * load_main, with _datetime). Imported here rather than at start-up: the early worker
         * needs no asyncio, and the first answer does not wait ~50 ms for it.
         * Through the package, never `_asyncio` directly: the early worker (another thread of
         * the main interpreter) may be importing asyncio for its first async call right now.
         * _asyncio's module init imports asyncio.events, and asyncio.events ends by importing
         * _asyncio; two threads entering that cycle from its two ends deadlock on the module
         * locks, and CPython breaks the deadlock by handing one of them the half-initialised
         * module: its get_event_loop then calls a NULL policy getter (ASan saw that SEGV in
         * integration/python-host, single-phase fallback, once in about five runs). Both
         * threads importing `asyncio` first queue on the package's one lock instead. */
        PyObject *m = PyImport_ImportModule("asyncio");
        if (!m)
            PyErr_Clear(); /* a build without it has nothing to work around */
        Py_XDECREF(m);
        p->preloaded = 1;
    }
    PyThreadState *sub = fa__py_new_isolated(w->main_ts, w->error, sizeof w->error);
    if (!sub) {
        PyThreadState_Clear(w->main_ts);
        PyThreadState_DeleteCurrent();
        w->main_ts = NULL;
        pthread_mutex_unlock(&p->create_lock);
        return -1;
    }
    pthread_mutex_unlock(&p->create_lock);
    w->ts = sub;
    w->interp = PyThreadState_GetInterpreter(sub);
    return 0;
#else
    snprintf(w->error, sizeof w->error, "isolated subinterpreters need Python 3.12 or newer");
    return -1;
#endif
}

/* Ends what attach_interpreter began. Called with this worker's state attached. */
static void detach_interpreter(fa__pyworker_t *w) {
    if (w->in_main) {
        PyThreadState_Clear(w->ts);
        PyThreadState_DeleteCurrent();
        w->ts = NULL;
        return;
    }
    /* Must be the interpreter's only thread state: the canceller deletes its temporary ones
     * before releasing the GIL, and is stopped before the workers. */
    Py_EndInterpreter(w->ts);
    w->ts = NULL;
    PyEval_RestoreThread(w->main_ts);
    PyThreadState_Clear(w->main_ts);
    PyThreadState_DeleteCurrent();
    w->main_ts = NULL;
}

static int is_isolation_error(const char *text) {
    return strstr(text, "does not support loading in subinterpreters") ||
           strstr(text, "PyO3 modules do not yet support subinterpreters") ||
           strstr(text, "Interpreter change detected") ||
           strstr(text, "cannot be imported in subinterpreters");
}

int fa__pyworker_start_loop(fa__pyworker_t *w) {
    if (w->loop)
        return 0;
    PyObject *asyncio = PyImport_ImportModule("asyncio");
    /* The canceller may have set cancelled_error for a loopless worker (cancel_one). */
    if (asyncio && !w->cancelled_error)
        w->cancelled_error = PyObject_GetAttrString(asyncio, "CancelledError");
    Py_XSETREF(w->ensure_future, asyncio && w->cancelled_error
                                     ? PyObject_GetAttrString(asyncio, "ensure_future")
                                     : NULL);
    Py_XDECREF(asyncio);
    /* The loop, and the app's lifespan entered on it (a failing lifespan fails start-up). */
    PyObject *mod = w->ensure_future ? PyImport_ImportModule("_fasterapi") : NULL;
    PyObject *loop = mod ? PyObject_CallMethod(mod, "_start", "O", w->dispatcher) : NULL;
    Py_XDECREF(mod);
    if (!loop)
        return -1;
    Py_DECREF(loop); /* _bind_loop keeps it in w->loop */
    return 0;
}

/* Serves calls without an asyncio loop (the early worker, see setup_app) until it must stop
 * or a call made it start its loop. Between rounds it waits on its eventfd with the GIL
 * released; the loop's reader would do the same. */
static void serve_loopless(fa__pyworker_t *w) {
    fa__pypool_t *p = w->pool;
    uint64_t bit = 1ull << w->index;
    while (!atomic_load_explicit(&w->stop, memory_order_acquire) && !w->loop) {
        PyObject *r = fa__pyworker_on_wake(w);
        if (!r) {
            char text[4096];
            fa__py_format_exception(text, sizeof text, 1);
            FA_ERROR("python worker %d: %s", w->index, text);
        }
        Py_XDECREF(r);
        /* on_wake returns with the idle bit set once the queue was empty, or with it clear
         * when its budget ran out (more calls may be queued: go round again without waiting)
         * or when the worker has retired (only a stop will come). */
        int wait = (atomic_load_explicit(&p->idle, memory_order_seq_cst) & bit) ||
                   atomic_load_explicit(&p->retired, memory_order_seq_cst);
        if (!wait || w->loop || atomic_load_explicit(&w->stop, memory_order_acquire))
            continue;
        struct pollfd pfd = {.fd = w->efd, .events = POLLIN};
        Py_BEGIN_ALLOW_THREADS;
        while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
            ;
        Py_END_ALLOW_THREADS;
    }
}

/* Imports the package and the user's app in this interpreter and builds the dispatcher. */
static int setup_app(fa__pyworker_t *w) {
    fa__pypool_t *p = w->pool;
    PyObject *sys = PyImport_ImportModule("sys");
    PyObject *path = sys ? PyObject_GetAttrString(sys, "path") : NULL;
    PyObject *dir = PyUnicode_FromString(p->app.pydir);
    int ok =
        path && dir && (PySequence_Contains(path, dir) == 1 || PyList_Insert(path, 0, dir) == 0);
    /* stdout is the protocol: anything Python prints goes to stderr instead. */
    PyObject *err = ok ? PyObject_GetAttrString(sys, "stderr") : NULL;
    ok = err && PyObject_SetAttrString(sys, "stdout", err) == 0;
    Py_XDECREF(err);
    Py_XDECREF(dir);
    Py_XDECREF(path);
    Py_XDECREF(sys);
    PyObject *rt = ok ? PyImport_ImportModule("fasterapi._runtime") : NULL;
    PyObject *mcp = NULL, *io = rt ? PyObject_CallMethod(rt, "install_output", NULL) : NULL;
    if (io && PyObject_SetAttrString(rt, "HOSTED", Py_True) == 0) {
        if (w->in_main)
            mcp = Py_NewRef(p->shared_mcp);
        else
            mcp = PyObject_CallMethod(rt, "load_app", "sz", p->app.app_path, p->app.app_name);
    }
    w->dispatcher = mcp ? PyObject_CallMethod(rt, "Dispatcher", "Oizd", mcp, p->app.debug,
                                              p->app.web_name, p->app.web_timeout_s)
                        : NULL;
    Py_XDECREF(io);
    Py_XDECREF(rt);
    w->tasks = w->dispatcher ? PyDict_New() : NULL;
    w->futures = w->tasks ? PyDict_New() : NULL;
    w->ctx_type = w->futures ? fa__py_ctx_type() : NULL;
    static const char *const names[] = {"call_tool", "read_resource", "get_prompt", "complete"};
    for (int i = 0; w->ctx_type && i < 4; i++)
        if (!(w->methods[i] = PyObject_GetAttrString(w->dispatcher, names[i])))
            break;
    ok = w->methods[3] != NULL;
    /* The web app's entry point (None without an App) and this interpreter's request type. */
    PyObject *mod = ok ? PyImport_ImportModule("_fasterapi") : NULL;
    PyObject *web = mod ? PyObject_GetAttrString(w->dispatcher, "web_handle") : NULL;
    if (web && web != Py_None)
        w->web = Py_NewRef(web);
    Py_XDECREF(web);
    w->web_req_type = web ? PyObject_GetAttrString(mod, "HttpRequest") : NULL;
    Py_XDECREF(mod);
    ok = w->web_req_type != NULL;
    if (ok && w->index == p->early && !w->web) {
        /* The early worker answers the first calls, which are on the cold start's critical
         * path, and asyncio costs ~50 ms to import (bench/README.md, "Cold start"): without a
         * lifespan to enter (and without a web app, whose handlers run on the loop) it starts
         * without a loop, and makes one when a call first needs it (fa__pyworker_start_loop). */
        PyObject *lifespan = PyObject_GetAttrString(mcp, "lifespan");
        ok = lifespan != NULL;
        if (lifespan == Py_None)
            w->loopless = 1;
        Py_XDECREF(lifespan);
    }
    Py_XDECREF(mcp);
    if (ok && (w->loopless || fa__pyworker_start_loop(w) == 0))
        return 0;
    fa__py_format_exception(w->error, sizeof w->error, 1);
    w->isolation_refused = is_isolation_error(w->error);
    return -1;
}

static void free_answers(fa__pyanswer_t *a) {
    while (a) {
        fa__pyanswer_t *next = a->next;
        json_decref(a->result);
        json_decref(a->error);
        free(a);
        a = next;
    }
}

/* The server loop's callback for a client's answer: copy it and hand it to the worker. */
static void on_answer(void *arg, const json_t *result, const json_t *error) {
    fa__pyanswer_t *a = arg; /* allocated by fa__pyworker_request, token set */
    fa__pyworker_t *w = (fa__pyworker_t *)(uintptr_t)a->next;
    a->next = NULL;
    /* Deep copies: the message is freed on the loop thread; the worker owns these. */
    a->result = result ? json_deep_copy(result) : NULL;
    a->error = error ? json_deep_copy(error) : NULL;
    if (!a->result && !a->error)
        a->error = json_pack("{s:i, s:s}", "code", FA_RPC_INTERNAL_ERROR, "message",
                             "Internal error: out of memory");
    pthread_mutex_lock(&w->inbox_lock);
    if (w->inbox_tail)
        w->inbox_tail->next = a;
    else
        w->inbox_head = a;
    w->inbox_tail = a;
    pthread_mutex_unlock(&w->inbox_lock);
    efd_signal(w->efd);
}

PyObject *fa__pyworker_loop(void) {
    fa__pyworker_t *w = fa__pyworker_current();
    return w ? w->loop : NULL;
}

PyObject *fa__pyworker_request(fa_call_t *call, const char *qkey, const char *method,
                               PyObject *params) {
    fa__pyworker_t *w = fa__pyworker_current();
    if (!w || !w->loop) {
        PyErr_SetString(PyExc_RuntimeError, "requests to the client need a worker's event loop");
        return NULL;
    }
    char why[512];
    json_t *jp = params == Py_None ? NULL : fa__py_to_json(params, why, sizeof why);
    if (params != Py_None && !jp) {
        PyErr_Format(PyExc_ValueError, "request params are not JSON: %s", why);
        return NULL;
    }
    PyObject *fut = PyObject_CallMethod(w->loop, "create_future", NULL);
    fa__pyanswer_t *a = fut ? calloc(1, sizeof *a) : NULL;
    PyObject *key = a ? PyLong_FromUnsignedLongLong(++w->next_token) : NULL;
    if (!key || PyDict_SetItem(w->futures, key, fut) < 0) {
        Py_XDECREF(key);
        Py_XDECREF(fut);
        free(a);
        json_decref(jp);
        return fut ? PyErr_NoMemory() : NULL;
    }
    a->token = w->next_token;
    a->next = (fa__pyanswer_t *)(uintptr_t)w; /* carries the worker to on_answer */
    int rc = fa_call_request_keyed(call, qkey, method, jp, on_answer, a);
    if (rc) {
        free(a);
        PyDict_DelItem(w->futures, key);
        Py_DECREF(key);
        Py_DECREF(fut);
        PyErr_Format(PyExc_RuntimeError, "cannot send %s: %s", method, fa_strerror(rc));
        return NULL;
    }
    Py_DECREF(key);
    return fut;
}

/* Resolves the futures whose answers arrived. In the worker, GIL held. */
static void deliver_answers(fa__pyworker_t *w) {
    pthread_mutex_lock(&w->inbox_lock);
    fa__pyanswer_t *a = w->inbox_head;
    w->inbox_head = w->inbox_tail = NULL;
    pthread_mutex_unlock(&w->inbox_lock);
    for (fa__pyanswer_t *it = a; it; it = it->next) {
        PyObject *key = PyLong_FromUnsignedLongLong(it->token);
        PyObject *fut = key ? PyDict_GetItemWithError(w->futures, key) : NULL; /* borrowed */
        if (fut) {
            Py_INCREF(fut);
            PyDict_DelItem(w->futures, key);
            PyObject *value;
            if (it->result) {
                value = fa__py_from_json(it->result);
            } else {
                PyObject *e = fa__py_from_json(it->error);
                value = e ? Py_BuildValue("{s:N}", "__error__", e) : NULL;
            }
            PyObject *done = value ? PyObject_CallMethod(fut, "done", NULL) : NULL;
            if (done == Py_False) {
                PyObject *r = PyObject_CallMethod(fut, "set_result", "O", value);
                Py_XDECREF(r);
            }
            Py_XDECREF(done);
            Py_XDECREF(value);
            Py_DECREF(fut);
        }
        Py_XDECREF(key);
        PyErr_Clear(); /* a future whose task went away: nothing left to tell */
    }
    free_answers(a);
}

static void clear_objects(fa__pyworker_t *w) {
    for (int i = 0; i < 4; i++)
        Py_CLEAR(w->methods[i]);
    Py_CLEAR(w->dispatcher);
    Py_CLEAR(w->web);
    Py_CLEAR(w->web_req_type);
    fa__pyws_worker_clear(w);
    Py_CLEAR(w->tasks);
    Py_CLEAR(w->futures);
    Py_CLEAR(w->cancelled_error);
    Py_CLEAR(w->ensure_future);
    Py_CLEAR(w->ctx_type);
    Py_CLEAR(w->loop);
}

static void *worker_main(void *arg) {
    fa__pyworker_t *w = arg;
    tls_worker = w;
    char name[16];
    snprintf(name, sizeof name, "fa-python-%u", (unsigned)w->index % 1000u);
    pthread_setname_np(pthread_self(), name);
    /* SCHED_BATCH: waking a worker must not take the CPU from the loop thread (core/workers.c
     * fa__worker_sched_policy). */
    fa__worker_sched_apply(w->pool->sched);
    if (!w->in_main && w->pool->early >= 0)
        wait_gate(w->pool);
    int ok = attach_interpreter(w) == 0;
    w->thread_id = ok ? PyThread_get_thread_ident() : 0;
    if (ok && setup_app(w) != 0) {
        clear_objects(w);
        detach_interpreter(w);
        ok = 0;
        /* numpy, pydantic-core, PyO3/Cython modules: serve from the main interpreter, where
         * the app is imported already. */
        if (w->isolation_refused && w->pool->shared_mcp) {
            note_fallback(w);
            ok = attach_interpreter(w) == 0;
            w->thread_id = ok ? PyThread_get_thread_ident() : 0;
            if (ok && setup_app(w) != 0) {
                clear_objects(w);
                detach_interpreter(w);
                ok = 0;
            }
        }
    }
    fa__trace_start(w->index == w->pool->early ? "early worker ready" : "isolated worker ready");
    report(w, ok);
    if (!ok)
        return NULL;
    if (w->loopless)
        serve_loopless(w);
    if (!w->loop) {
        clear_objects(w);
        detach_interpreter(w);
        return NULL;
    }
    PyObject *mod = PyImport_ImportModule("_fasterapi");
    PyObject *r =
        mod ? PyObject_CallMethod(mod, "_serve", "iOO", w->efd, w->loop, w->dispatcher) : NULL;
    if (!r) {
        char text[4096];
        fa__py_format_exception(text, sizeof text, 1);
        FA_ERROR("python worker %d stopped: %s", w->index, text);
    }
    Py_XDECREF(r);
    Py_XDECREF(mod);
    clear_objects(w);
    detach_interpreter(w);
    return NULL;
}

/* ---- the loop side, in the worker's thread with its GIL held ---- */

int fa__pyworker_bind_loop(fa__pyworker_t *w, PyObject *loop) {
    Py_XSETREF(w->loop, loop == Py_None ? NULL : Py_NewRef(loop));
    return 0;
}

static void run_call(fa__pyworker_t *w, fa_call_t *c) {
    /* seq_cst pair with pool_cancel: either it sees which worker runs the call, or fa__call_run
     * below sees the cancelled flag and skips it. */
    atomic_store_explicit(&c->exec_slot, w->index, memory_order_seq_cst);
    atomic_store_explicit(&w->current_seq, c->seq, memory_order_seq_cst);
    uint64_t seq = c->seq;
    fa__call_run(c, NULL); /* c may be finished (and freed by the loop) once this returns */
    atomic_store_explicit(&w->current_seq, 0, memory_order_seq_cst);
    if (w->index == w->pool->early &&
        !atomic_load_explicit(&w->pool->gate_open, memory_order_relaxed))
        open_gate(w->pool);
    /* A CancelledError the canceller injected into a plain tool that returned before reaching a
     * check point must not go off later inside the asyncio loop. */
    if (atomic_load_explicit(&w->async_exc_seq, memory_order_acquire) == seq) {
        PyThreadState_SetAsyncExc(w->thread_id, NULL);
        atomic_store_explicit(&w->async_exc_seq, 0, memory_order_relaxed);
    }
}

/* A job from either queue: an MCP call, or a web request tagged with bit 0 (both are malloc'd,
 * so bit 0 of a real pointer is always clear). Calls first: their queue is bounded by the MCP
 * server's in-flight limit, web requests by FA_PY_WEB_QUEUE. */
#define WEB_TAG ((uintptr_t)1)

static void *pop_job(fa__pypool_t *p) {
    void *c = fa_mpmc_pop(p->jobs);
    if (c)
        return c;
    void *j = fa_mpmc_pop(p->web_jobs);
    return j ? (void *)((uintptr_t)j | WEB_TAG) : NULL;
}

static void run_job(fa__pyworker_t *w, void *job) {
    if ((uintptr_t)job & WEB_TAG)
        fa__pyweb_run(w, (fa__pyweb_job_t *)((uintptr_t)job & ~WEB_TAG));
    else
        run_call(w, job);
}

/* Polls the job queue for up to p->spin_ns before the worker goes back to sleep in its loop.
 * A client working one call at a time sends its next request tens of microseconds after our
 * reply; a worker that is still polling then catches it without an eventfd write and a wake-up
 * (a futex/epoll wake costs more than an echo call on the reference VM; bench/python). Only
 * right after work (`ran`: a worker woken for nothing does not poll), never while async tasks
 * or answers are pending (the loop must run them), with the GIL released (another thread of the
 * interpreter, or the canceller, may want it) and yielding the CPU on each round (the I/O thread
 * and the client share the 2 vCPUs). While it polls, p->spinning counts it, and pool_wake wakes
 * that many fewer sleeping workers: waking one that a poller beats to the call only costs a
 * wake-up and then a useless poll on a third thread (measured: sequential p50 doubled). */
static void *spin_pop(fa__pyworker_t *w, int ran) {
    fa__pypool_t *p = w->pool;
    if (!ran || p->spin_ns == 0 || atomic_load_explicit(&p->retired, memory_order_relaxed) ||
        (w->tasks && PyDict_GET_SIZE(w->tasks) > 0) ||
        (w->futures && PyDict_GET_SIZE(w->futures) > 0))
        return NULL;
    PyThreadState *ts = PyEval_SaveThread();
    /* seq_cst: pool_wake either sees us polling, or we (after the caller's fence) see its job. */
    atomic_fetch_add_explicit(&p->spinning, 1, memory_order_seq_cst);
    uint64_t t0 = uv_hrtime();
    void *c = NULL;
    while (!atomic_load_explicit(&w->stop, memory_order_relaxed) && uv_hrtime() - t0 < p->spin_ns) {
        fa__spin_pause();
        if ((c = pop_job(p)) != NULL)
            break;
    }
    atomic_fetch_sub_explicit(&p->spinning, 1, memory_order_seq_cst);
    PyEval_RestoreThread(ts);
    return c;
}

PyObject *fa__pyworker_on_wake(fa__pyworker_t *w) {
    uint64_t v;
    while (read(w->efd, &v, sizeof v) > 0)
        ;
    deliver_answers(w);
    fa__pyws_deliver(w);
    fa__pypool_t *p = w->pool;
    if (atomic_load_explicit(&w->stop, memory_order_acquire)) {
        atomic_fetch_and_explicit(&p->idle, ~(1ull << w->index), memory_order_relaxed);
        if (w->loop)
            return PyObject_CallMethod(w->loop, "stop", NULL);
        Py_RETURN_NONE;
    }
    uint64_t bit = 1ull << w->index;
    for (int budget = FA_PY_WAKE_BUDGET; budget > 0; budget--) {
        void *c = pop_job(p);
        if (!c)
            c = spin_pop(w, budget < FA_PY_WAKE_BUDGET);
        if (!c) {
            /* A retired early worker has drained the queue and stays out of the rotation. */
            if (w->index == p->early && atomic_load_explicit(&p->retired, memory_order_seq_cst))
                Py_RETURN_NONE;
            /* Announce idleness, then look once more (the Dekker half of pool_wake). */
            atomic_fetch_or_explicit(&p->idle, bit, memory_order_relaxed);
            atomic_thread_fence(memory_order_seq_cst);
            c = pop_job(p);
            if (!c)
                Py_RETURN_NONE;
            atomic_fetch_and_explicit(&p->idle, ~bit, memory_order_relaxed);
        }
        run_job(w, c);
    }
    /* Budget spent: give async tasks and I/O a turn, then carry on (we are not idle). */
    if (w->loop) {
        PyObject *cb = PyObject_GetAttrString(PyImport_AddModule("_fasterapi"), "_on_wake");
        PyObject *r = cb ? PyObject_CallMethod(w->loop, "call_soon", "O", cb) : NULL;
        Py_XDECREF(cb);
        if (!r)
            return NULL;
        Py_DECREF(r);
    }
    Py_RETURN_NONE;
}

/* ---- executor (server loop thread) ---- */

static int pool_submit(void *self, fa_call_t *call) {
    fa__pypool_t *p = self;
    /* Python tools end each burst of client requests with fa_call_flush_requests (module.c
     * schedules it on the worker's loop), so MRTR rounds need no gather window. */
    call->explicit_flush = 1;
    return fa_mpmc_push(p->jobs, call);
}

static void pool_wake(void *self, int n) {
    fa__pypool_t *p = self;
    /* Pairs with the fence in fa__pyworker_on_wake: our pushes are ordered before this load. */
    atomic_thread_fence(memory_order_seq_cst);
    /* Workers still polling the queue (spin_pop) take these calls without a wake-up. */
    n -= atomic_load_explicit(&p->spinning, memory_order_seq_cst);
    uint64_t m = atomic_load_explicit(&p->idle, memory_order_relaxed);
    while (n > 0 && m) {
        int i = __builtin_ctzll(m);
        /* Relaxed CAS: it only decides which waker signals worker i; the eventfd write and the
         * worker's read of the queue carry the ordering. */
        if (atomic_compare_exchange_weak_explicit(&p->idle, &m, m & ~(1ull << i),
                                                  memory_order_relaxed, memory_order_relaxed)) {
            efd_signal(p->workers[i].efd);
            n--;
            m = atomic_load_explicit(&p->idle, memory_order_relaxed);
        }
    }
}

/* Queues a call to stop for the canceller thread. The call itself may be freed before the
 * canceller runs, so only its seq and worker travel. */
static void pool_cancel(void *self, fa_call_t *call) {
    fa__pypool_t *p = self;
    atomic_thread_fence(memory_order_seq_cst); /* after the cancelled store (see run_call) */
    intptr_t slot = atomic_load_explicit(&call->exec_slot, memory_order_seq_cst);
    if (slot < 0)
        return; /* not started: the worker skips it when it sees the flag */
    pthread_mutex_lock(&p->cancel_lock);
    if (p->cancel_tail - p->cancel_head < p->cancel_cap) {
        fa__pycancel_t *r = &p->cancel_q[p->cancel_tail++ % p->cancel_cap];
        r->seq = call->seq;
        r->worker = (int)slot;
        pthread_cond_signal(&p->cancel_cond);
    } else {
        FA_WARN("cancellation queue full; call %s keeps running", call->id_text);
    }
    pthread_mutex_unlock(&p->cancel_lock);
}

int fa__pypool_submit_web(fa__pypool_t *p, fa__pyweb_job_t *job) {
    int rc = fa_mpmc_push(p->web_jobs, job);
    if (rc == 0)
        pool_wake(p, 1);
    return rc ? FA_EFULL : 0;
}

fa__executor_t fa__pypool_executor(fa__pypool_t *p) {
    return (fa__executor_t){p, pool_submit, pool_wake, pool_cancel};
}

/* Stops one call on worker w: under that interpreter's GIL, raise CancelledError in a running
 * plain tool, or cancel the call's task. Acquiring the GIL waits at most one switch interval
 * (5 ms) while the worker runs Python. */
static void cancel_one(fa__pypool_t *p, fa__pycancel_t r) {
    fa__pyworker_t *w = &p->workers[r.worker];
    if (!w->interp)
        return;
    PyThreadState *ts = PyThreadState_New(w->interp);
    if (!ts)
        return;
    PyEval_RestoreThread(ts);
    if (!w->cancelled_error) {
        /* A loopless early worker has not imported asyncio yet: do it here, under the GIL it
         * reads the class under (rare: a call cancelled in the first few hundred ms). */
        PyObject *asyncio = PyImport_ImportModule("asyncio");
        PyObject *cls = asyncio ? PyObject_GetAttrString(asyncio, "CancelledError") : NULL;
        Py_XDECREF(asyncio);
        PyErr_Clear();
        /* The import may have let the worker run and set it meanwhile. */
        if (!w->cancelled_error)
            w->cancelled_error = cls;
        else
            Py_XDECREF(cls);
    }
    if (w->cancelled_error &&
        atomic_load_explicit(&w->current_seq, memory_order_seq_cst) == r.seq) {
        atomic_store_explicit(&w->async_exc_seq, r.seq, memory_order_release);
        PyThreadState_SetAsyncExc(w->thread_id, w->cancelled_error);
    } else if (w->tasks) {
        PyObject *key = PyLong_FromUnsignedLongLong(r.seq);
        PyObject *task = key ? PyDict_GetItemWithError(w->tasks, key) : NULL; /* borrowed */
        if (task && w->loop) {
            PyObject *cancel = PyObject_GetAttrString(task, "cancel");
            PyObject *res =
                cancel ? PyObject_CallMethod(w->loop, "call_soon_threadsafe", "O", cancel) : NULL;
            Py_XDECREF(res);
            Py_XDECREF(cancel);
        }
        Py_XDECREF(key);
        PyErr_Clear();
    }
    PyThreadState_Clear(ts);
    PyThreadState_DeleteCurrent();
}

static void *canceller_main(void *arg) {
    fa__pypool_t *p = arg;
    pthread_setname_np(pthread_self(), "fa-py-cancel");
    pthread_mutex_lock(&p->cancel_lock);
    for (;;) {
        while (!p->cancel_stop && p->cancel_head == p->cancel_tail)
            pthread_cond_wait(&p->cancel_cond, &p->cancel_lock);
        if (p->cancel_stop)
            break;
        fa__pycancel_t r = p->cancel_q[p->cancel_head++ % p->cancel_cap];
        pthread_mutex_unlock(&p->cancel_lock);
        cancel_one(p, r);
        pthread_mutex_lock(&p->cancel_lock);
    }
    pthread_mutex_unlock(&p->cancel_lock);
    return NULL;
}

/* ---- lifecycle (host thread, no GIL held) ---- */

static void stop_workers(fa__pypool_t *p) {
    open_gate(p); /* workers still held back start, see stop and end at once */
    for (int i = 0; i < p->n; i++) {
        if (!p->workers[i].thread_started)
            continue;
        atomic_store_explicit(&p->workers[i].stop, 1, memory_order_release);
        efd_signal(p->workers[i].efd);
    }
    for (int i = 0; i < p->n; i++)
        if (p->workers[i].thread_started)
            pthread_join(p->workers[i].thread, NULL);
}

void fa__pypool_free(fa__pypool_t *p) {
    if (!p)
        return;
    if (p->canceller_started) {
        pthread_mutex_lock(&p->cancel_lock);
        p->cancel_stop = 1;
        pthread_cond_signal(&p->cancel_cond);
        pthread_mutex_unlock(&p->cancel_lock);
        pthread_join(p->canceller, NULL);
    }
    stop_workers(p);
    /* Web requests nobody will run: answered, so each deferred request is released. */
    fa__pyweb_job_t *job;
    while (p->web_jobs && (job = fa_mpmc_pop(p->web_jobs)) != NULL)
        fa__pyweb_job_reject(job, 503, "503 Service Unavailable: shutting down\n");
    fa_mpmc_free(p->web_jobs);
    for (int i = 0; i < p->n; i++) {
        if (p->workers[i].efd >= 0)
            close(p->workers[i].efd);
        free_answers(p->workers[i].inbox_head);
        pthread_mutex_destroy(&p->workers[i].inbox_lock);
        fa__pyws_drop_events(p->workers[i].ws_head);
        pthread_mutex_destroy(&p->workers[i].ws_lock);
    }
    fa_mpmc_free(p->jobs);
    free(p->workers);
    free(p->cancel_q);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->create_lock);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->cancel_lock);
    pthread_cond_destroy(&p->cancel_cond);
    free(p);
}

/* FA_PY_HOLD_MS, or FASTERAPI_WORKER_HOLD_MS (0..FA_PY_HOLD_MS_MAX). */
#define FA_PY_HOLD_MS_MAX 10000
static uint64_t hold_window_ns(void) {
    unsigned long ms = FA_PY_HOLD_MS;
    const char *v = getenv("FASTERAPI_WORKER_HOLD_MS");
    if (v && *v) {
        char *end;
        unsigned long x = strtoul(v, &end, 10);
        if (*end == '\0' && *v != '-' && x <= FA_PY_HOLD_MS_MAX)
            ms = x;
        else
            FA_WARN("FASTERAPI_WORKER_HOLD_MS=%s is not 0..%d; using %lu", v, FA_PY_HOLD_MS_MAX,
                    ms);
    }
    return (uint64_t)ms * 1000000u;
}

int fa__pypool_start(fa__pypool_t **out, fa__py_mode_t mode, int n, size_t capacity,
                     const fa__pyapp_t *app, PyObject *shared_mcp, fa__pypool_ready_fn on_ready,
                     void *ready_arg, char *err, size_t err_size) {
    if (n < 1 || n > FA_PY_MAX_WORKERS - 1) {
        snprintf(err, err_size, "the worker count must be 1..%d", FA_PY_MAX_WORKERS - 1);
        return FA_EINVAL;
    }
    fa__pypool_t *p = aligned_alloc(64, (sizeof *p + 63) & ~(size_t)63);
    if (!p)
        return FA_ENOMEM;
    memset(p, 0, sizeof *p);
    p->mode = mode;
    p->app = *app;
    p->spin_ns = fa__spin_window_ns("FASTERAPI_WORKER_SPIN_US", FA_PY_SPIN_US);
    p->sched = fa__worker_sched_policy();
    p->hold_ns = hold_window_ns();
    p->shared_mcp = shared_mcp;
    p->on_ready = on_ready;
    p->ready_arg = ready_arg;
    /* Own GIL: one more thread, the early worker, in the main interpreter (last index). */
    int total = mode == FA_PY_OWN_GIL ? n + 1 : n;
    p->early = mode == FA_PY_OWN_GIL ? n : -1;
    p->starting = mode == FA_PY_OWN_GIL ? n : 0;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->create_lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    pthread_mutex_init(&p->cancel_lock, NULL);
    pthread_cond_init(&p->cancel_cond, NULL);
    p->cancel_cap = capacity;
    p->workers = calloc((size_t)total, sizeof *p->workers);
    p->cancel_q = calloc(capacity, sizeof *p->cancel_q);
    if (!p->workers || !p->cancel_q || fa_mpmc_new(&p->jobs, capacity) != 0 ||
        fa_mpmc_new(&p->web_jobs, FA_PY_WEB_QUEUE) != 0) {
        fa__pypool_free(p);
        return FA_ENOMEM;
    }
    p->n = total;
    for (int i = 0; i < total; i++) {
        fa__pyworker_t *w = &p->workers[i];
        w->pool = p;
        w->index = i;
        w->in_main = mode == FA_PY_SHARED_GIL || i == p->early;
        w->efd = -1;
        pthread_mutex_init(&w->inbox_lock, NULL);
        pthread_mutex_init(&w->ws_lock, NULL);
    }
    int rc = 0;
    /* The early worker first, alone: it only needs a thread state in the main interpreter,
     * where the app is imported already, so it serves within a few milliseconds. The isolated
     * workers start once it does: each one holds the main GIL while it creates its interpreter,
     * which would hold the early worker up too; then they import the package and the app on
     * their own GILs (~100 ms) while the early worker answers. */
    for (int k = 0; k < total && rc == 0; k++) {
        fa__pyworker_t *w = &p->workers[p->early >= 0 ? (k + total - 1) % total : k];
        w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w->efd < 0) {
            rc = -errno;
            break;
        }
        int e = pthread_create(&w->thread, NULL, worker_main, w);
        if (e) {
            rc = -e;
            break;
        }
        w->thread_started = 1;
        if (k == 0 && p->early >= 0) {
            pthread_mutex_lock(&p->lock);
            while (!w->ready && !w->failed)
                pthread_cond_wait(&p->cond, &p->lock);
            p->started_ns = uv_hrtime(); /* the hold counts from here (wait_gate) */
            if (w->failed) {
                snprintf(err, err_size, "%s", w->error);
                rc = FA_EPYTHON;
                p->starting = 0; /* no isolated worker will start */
            }
            pthread_mutex_unlock(&p->lock);
        }
    }
    if (rc && p->early >= 0) {
        /* The isolated workers never started (or some did): none may report any more. */
        pthread_mutex_lock(&p->lock);
        p->on_ready = NULL;
        pthread_mutex_unlock(&p->lock);
    }
    /* Shared GIL: wait for all. */
    pthread_mutex_lock(&p->lock);
    for (;;) {
        int pending = 0;
        for (int i = 0; i < total; i++) {
            const fa__pyworker_t *w = &p->workers[i];
            if (p->early < 0 && w->thread_started && !w->ready && !w->failed)
                pending++;
        }
        if (!pending)
            break;
        pthread_cond_wait(&p->cond, &p->lock);
    }
    for (int i = 0; rc == 0 && i < total; i++) {
        if (p->workers[i].failed && p->early < 0) {
            snprintf(err, err_size, "%s", p->workers[i].error);
            rc = FA_EPYTHON;
        }
    }
    if (rc)
        p->on_ready = NULL; /* isolated workers still starting must not report any more */
    pthread_mutex_unlock(&p->lock);
    if (rc == 0 && pthread_create(&p->canceller, NULL, canceller_main, p) == 0)
        p->canceller_started = 1;
    if (rc) {
        /* Isolated workers still starting are stopped and joined like the others. */
        fa__pypool_free(p);
        return rc;
    }
    *out = p;
    if (p->early < 0 && on_ready)
        on_ready(ready_arg, 0, 0, "");
    return 0;
}
