/* pyhost/pyhost_internal.h: the Python host (DESIGN.md §4).
 *
 * Shape. The `fasterapi` CLI initialises CPython on its main thread, imports the user's file in
 * the main interpreter once to export the tool/resource/prompt table, then starts a pool of
 * worker threads. On Python >= 3.12 each worker creates and owns an isolated interpreter with
 * its own GIL (PyInterpreterConfig_OWN_GIL); on 3.11, or when the user's module refuses to load
 * in a subinterpreter (numpy, pydantic-core, PyO3/Cython modules), all workers run in the main
 * interpreter instead (shared GIL) and the host says so once. The main thread then releases the
 * GIL and becomes the libuv loop that serves MCP; it never touches Python again until shutdown.
 *
 * Cold start. Isolated workers take ~100 ms to import the package and the app again, so with
 * OWN_GIL the pool first starts an early worker: a thread in the main interpreter, where the app
 * is imported already, which serves calls within milliseconds. The isolated workers start once
 * it serves, and when the last is up the early worker retires (it finishes what it has and never
 * announces itself idle again). A worker whose interpreter refuses the app (isolation) falls
 * back to the main interpreter by itself; the host learns how the start ended from on_ready.
 *
 * A worker thread runs an asyncio loop in its interpreter. Its eventfd is a reader on that loop:
 * when the server queues calls it writes the eventfd of an idle worker, whose callback
 * (_fasterapi._on_wake) pops calls from the shared MPMC queue and runs them. A plain `def` tool
 * runs inline; an `async def` tool becomes a task on the loop, so one worker serves many calls
 * that are awaiting. Calls are finished from the worker thread with fa_call_complete.
 *
 * Threads and ownership:
 *  - fa__pyworker_t fields marked (worker) are touched only by that worker's thread, with its
 *    interpreter's GIL held; (any) fields are atomics or set before the thread starts.
 *  - No PyObject crosses interpreters: arguments and results cross as json_t (convert.h).
 *  - The canceller thread stops running calls: it attaches a temporary thread state to the
 *    worker's interpreter, and under that GIL either raises CancelledError in a running plain
 *    tool (PyThreadState_SetAsyncExc) or cancels the call's task (call_soon_threadsafe).
 */
#ifndef FA_PYHOST_INTERNAL_H
#define FA_PYHOST_INTERNAL_H

#include <Python.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "fasterapi/queue.h"
#include "mcp/server_internal.h"
#include "pyhost/web.h"

/* Most workers a pool supports (the idle set is one 64-bit word). */
#define FA_PY_MAX_WORKERS 64
/* How long a worker that just ran a call keeps polling the job queue before it sleeps in its
 * loop, in microseconds (pool.c spin_pop; FASTERAPI_WORKER_SPIN_US overrides it). */
#define FA_PY_SPIN_US 50
/* Calls a worker runs per wake-up before letting its loop breathe (async tasks, I/O). */
#define FA_PY_WAKE_BUDGET 64
/* Web requests waiting for a Python worker (all loops together). A full queue answers 503 with
 * Retry-After (DESIGN.md §2 push-back): 4096 is ~40 ms of work at 100k req/s, deeper queues
 * only add latency a client would time out on. */
#define FA_PY_WEB_QUEUE 4096
/* How long the isolated workers hold back their start (creating an interpreter, importing the
 * package and the app: ~100 ms of CPU each) while the early worker has not yet finished a call,
 * in milliseconds (FASTERAPI_WORKER_HOLD_MS overrides it, 0 turns it off). A client that
 * launches a server and calls a tool at once has its call queued when the pool starts: the
 * early worker answers it in a few milliseconds if two importing workers and their hold on the
 * main GIL (the _asyncio pre-import) do not compete with it for the 2 vCPUs of the reference
 * box (bench/README.md, "Cold start"). A client that calls later finds the workers up 20 ms
 * later than without the hold, served meanwhile by the early worker. */
#define FA_PY_HOLD_MS 20

typedef enum { FA_PY_OWN_GIL = 1, FA_PY_SHARED_GIL = 2 } fa__py_mode_t;

typedef struct fa__pypool_s fa__pypool_t;

/* A client's answer to a request a call sent (ctx.elicit / ctx.sample), on its way from the
 * server's loop to the worker whose future awaits it. */
typedef struct fa__pyanswer_s {
    struct fa__pyanswer_s *next;
    uint64_t token;
    json_t *result, *error; /* deep copies owned by the answer; one is NULL */
} fa__pyanswer_t;

/* A request to stop a running call: only its seq and worker, since the call may be gone. */
typedef struct {
    uint64_t seq;
    int worker;
} fa__pycancel_t;

typedef struct {
    fa__pypool_t *pool; /* (any) */
    int index;          /* (any) */
    int in_main;        /* runs in the main interpreter (shared GIL, the early worker, or the
                           fallback); set before the thread starts, or by the worker itself
                           when it falls back, before it reports */
    pthread_t thread;
    int thread_started;
    int efd;                    /* (any) eventfd: calls queued, stop */
    PyInterpreterState *interp; /* (any, after start) the interpreter this worker runs */
    PyThreadState *ts;          /* (worker) this thread's state in interp */
    PyThreadState *main_ts;     /* (worker) OWN_GIL: the main-interpreter state it created from */
    unsigned long thread_id;    /* (any, after start) for PyThreadState_SetAsyncExc */
    PyObject *dispatcher;       /* (worker) fasterapi._runtime.Dispatcher */
    PyObject *loop;             /* (worker) its asyncio loop; NULL while loopless */
    int loopless;               /* (worker) started without a loop (the early worker, pool.c
                                   setup_app); it makes one when a call first needs it */
    PyObject *tasks;            /* (worker) dict: call address -> asyncio.Task */
    PyObject *cancelled_error;  /* (worker) asyncio.CancelledError */
    PyObject *ensure_future;    /* (worker) asyncio.ensure_future */
    PyObject *ctx_type;         /* (worker) _fasterapi.CallContext of this interpreter */
    PyObject *methods[4];   /* (worker) dispatcher.call_tool/read_resource/get_prompt/complete */
    PyObject *web;          /* (worker) the WebHost's handle(row, creq), or NULL: no App */
    PyObject *web_req_type; /* (worker) _fasterapi.HttpRequest of this interpreter */
    _Atomic uint64_t current_seq;   /* seq of the call running inline (read by the canceller) */
    _Atomic uint64_t async_exc_seq; /* seq the canceller raised CancelledError into */
    PyObject *futures;              /* (worker) dict: token -> asyncio.Future awaiting an answer */
    uint64_t next_token;            /* (worker) */
    pthread_mutex_t inbox_lock;     /* answers from the loop thread: */
    fa__pyanswer_t *inbox_head, *inbox_tail;
    /* WebSocket events of the connections bound to this worker, from the I/O threads (ws.c). */
    pthread_mutex_t ws_lock;
    struct fa__pyws_ev_s *ws_head, *ws_tail;
    PyObject *ws_conns; /* (worker) dict: connection key -> the Python WebSocket */
    PyObject *ws_open;  /* (worker) WebHost.ws_open, looked up at the first connection */
    PyObject *ws_type;  /* (worker) _fasterapi.WebSocketConn of this interpreter */
    struct fa__pyws_worker_s *ws_state; /* (worker) ws.c's: method names, unsent frames */
    _Atomic int stop;                   /* (any) */
    /* Start-up report, under pool->lock. */
    int ready, failed, isolation_refused;
    char error[4096];
} fa__pyworker_t;

typedef struct {
    const char *app_path; /* the user's server file */
    const char *app_name; /* --mcp NAME, or NULL */
    const char *web_name; /* --app NAME, or NULL */
    const char *pydir;    /* directory holding the fasterapi package */
    int debug;            /* tracebacks in tool errors */
    double web_timeout_s; /* async web handlers are cancelled after this (0: never) */
} fa__pyapp_t;

/* How the start of the isolated workers ended, told once from a worker thread (with that
 * worker's GIL held) or, when there are none to wait for, from fa__pypool_start:
 * rc 0 all are serving; with `fell_back` set the app refused isolated interpreters, `why` says
 * why, and every worker now runs in the main interpreter (shared GIL). rc FA_EPYTHON: a worker
 * could not import the app; `why` holds the traceback. */
typedef void (*fa__pypool_ready_fn)(void *arg, int rc, int fell_back, const char *why);

struct fa__pypool_s {
    fa__py_mode_t mode;
    int n;                  /* threads in `workers`, the early worker included */
    int early;              /* index of the early worker, or -1 */
    _Atomic int retired;    /* the early worker takes no more calls: the isolated ones serve */
    int starting;           /* isolated workers still starting (under lock) */
    int fell_back;          /* under lock: a worker fell back to the main interpreter */
    int start_rc;           /* under lock: FA_EPYTHON once a worker failed */
    char start_error[4096]; /* under lock: the first failure or fallback reason */
    fa__pypool_ready_fn on_ready;
    void *ready_arg;
    fa__pyworker_t *workers;
    fa_mpmc_t *jobs;
    fa_mpmc_t *web_jobs;      /* fa__pyweb_job_t: web requests (web.c), beside the MCP calls */
    _Atomic unsigned ws_next; /* round robin of new WebSocket connections over the workers */
    fa__pyapp_t app;
    uint64_t spin_ns;     /* how long an idle worker polls the queue (spin_pop in pool.c) */
    int sched;            /* fa__worker_sched_policy (core/workers.h): set by each worker */
    PyObject *shared_mcp; /* SHARED_GIL: the main interpreter's FastMCP instance (borrowed) */
    _Alignas(64) _Atomic uint64_t idle; /* bit i: worker i waits in its loop for calls */
    _Atomic int spinning;               /* workers polling the queue (pool.c spin_pop) */
    pthread_mutex_t lock;               /* start-up reports */
    pthread_mutex_t create_lock;        /* interpreter creation (taken before the main GIL) */
    int preloaded;                      /* under create_lock: _asyncio imported in main */
    _Atomic int gate_open;              /* the isolated workers may start (pool.c wait_gate) */
    uint64_t hold_ns;                   /* FA_PY_HOLD_MS */
    uint64_t started_ns;                /* when the early worker began serving (uv_hrtime) */
    pthread_cond_t cond;
    /* The canceller thread and its queue. */
    pthread_t canceller;
    int canceller_started;
    pthread_mutex_t cancel_lock;
    pthread_cond_t cancel_cond;
    fa__pycancel_t *cancel_q; /* ring of calls to stop; the loop thread appends */
    size_t cancel_head, cancel_tail, cancel_cap;
    int cancel_stop;
};

/* ---- pool.c ---- */
/* Starts n workers in the given mode. shared_mcp is the app's FastMCP instance in the main
 * interpreter. SHARED_GIL: n threads in the main interpreter; returns once all serve.
 * OWN_GIL: n isolated workers, plus an early worker in the main interpreter (which has the app
 * imported already) that serves calls until they are up; returns as soon as the early worker
 * serves, and on_ready tells how the isolated start ended (an app that refuses isolation makes
 * the workers fall back to the main interpreter by themselves). The caller holds no Python
 * thread state (the GIL is released). Returns 0, or FA_EPYTHON with the error text in err. */
int fa__pypool_start(fa__pypool_t **out, fa__py_mode_t mode, int n, size_t capacity,
                     const fa__pyapp_t *app, PyObject *shared_mcp, fa__pypool_ready_fn on_ready,
                     void *ready_arg, char *err, size_t err_size);
#if PY_VERSION_HEX >= 0x030C0000
/* Creates an isolated interpreter (own GIL, own allocator, only multi-phase extensions;
 * subinterp.md §1.1) from the attached `caller` state. Returns its thread state, attached, with
 * `caller` detached; or NULL with `caller` still attached and the reason in err (3.12 leaves the
 * caller without its GIL on failure, §1.2: this restores it). */
PyThreadState *fa__py_new_isolated(PyThreadState *caller, char *err, size_t err_size);
#endif
/* Stops the workers (each ends its own interpreter) and frees the pool. No GIL held. */
void fa__pypool_free(fa__pypool_t *p);
/* Any thread: queues a web request and wakes a worker. 0, or FA_EFULL when the queue is full. */
int fa__pypool_submit_web(fa__pypool_t *p, fa__pyweb_job_t *job);
/* The executor the server runs calls on. */
fa__executor_t fa__pypool_executor(fa__pypool_t *p);
/* The worker running on this thread, or NULL. */
fa__pyworker_t *fa__pyworker_current(void);

/* ---- dispatch.c: run on a worker thread, its GIL held ---- */
void fa__py_tool_cb(fa_call_t *call, const json_t *args, void *data);
extern const fa__ops_t fa__py_ops;
/* Called by _fasterapi when a call's task is done. */
void fa__py_task_done(fa__pyworker_t *w, fa_call_t *call, PyObject *ctx, PyObject *task);

/* Sends a server-to-client request for the running call and returns an asyncio future on this
 * worker's loop that resolves to the client's result (or {"__error__": {...}}). */
/* qkey: the question's key in a 2026-07-28 input_required result, or NULL (engine-chosen). */
/* The current worker's asyncio loop (borrowed), or NULL outside a worker. */
PyObject *fa__pyworker_loop(void);
PyObject *fa__pyworker_request(fa_call_t *call, const char *qkey, const char *method,
                               PyObject *params);

/* Runs queued calls (the worker's eventfd callback); in the worker's interpreter. */
PyObject *fa__pyworker_on_wake(fa__pyworker_t *w);
int fa__pyworker_bind_loop(fa__pyworker_t *w, PyObject *loop);
/* Makes this worker's asyncio loop if it has none yet (imports asyncio, enters the lifespan).
 * 0, or -1 with a Python exception set. */
int fa__pyworker_start_loop(fa__pyworker_t *w);

/* ---- module.c: the built-in `_fasterapi` module ---- */
PyMODINIT_FUNC PyInit__fasterapi(void);
/* The current interpreter's _fasterapi.CallContext type (new reference), or NULL. */
PyObject *fa__py_ctx_type(void);
/* A CallContext object for a call (new reference), of the current worker's interpreter. */
PyObject *fa__pyctx_new(fa_call_t *call);
/* Detaches a CallContext from its call (the call is being finished). host_refs: the references
 * the host itself still holds; more means user code kept the Context. */
void fa__pyctx_release(PyObject *ctx, Py_ssize_t host_refs);
/* Formats the current Python exception as text (traceback when `with_traceback`) into buf and
 * clears it. */
void fa__py_format_exception(char *buf, size_t size, int with_traceback);

/* ---- web.c ---- */
void fa__pyweb_run(fa__pyworker_t *w, fa__pyweb_job_t *job);
int fa__pyweb_add_type(PyObject *module);

/* ---- ws.c: WebSocket routes ---- */
typedef struct fa__pyws_ev_s fa__pyws_ev_t;
/* Hands the worker's queued WebSocket events to Python (its eventfd callback, GIL held). */
void fa__pyws_deliver(fa__pyworker_t *w);
/* Frees events nobody will run (the pool is stopping). */
void fa__pyws_drop_events(fa__pyws_ev_t *ev);
/* Drops the worker's WebSocket objects (its interpreter is ending, GIL held). */
void fa__pyws_worker_clear(fa__pyworker_t *w);
/* Adds `_fasterapi.WebSocketConn` and the group functions to a module (per interpreter). */
int fa__pyws_add_type(PyObject *module);

/* ---- shared.c: fasterapi.shared, process-wide ---- */
extern PyMethodDef fa__py_shared_methods[];
void fa__py_shared_free_all(void);

#endif
