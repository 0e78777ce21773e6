/* module.c: `_fasterapi`, the built-in module the Python package talks to.
 *
 * Multi-phase initialisation (PEP 489) with per-interpreter state and
 * Py_MOD_PER_INTERPRETER_GIL_SUPPORTED, so every isolated worker interpreter gets its own module
 * object and its own CallContext type; nothing here is a static PyObject.
 *
 * Contents:
 *  - CallContext: the `ctx` handed to fasterapi._runtime.Dispatcher (contract in
 *    python/fasterapi/_runtime.py): request_id, session_id, cancelled, log(), progress().
 *    It points at the fa_call_t only while the call is unfinished; afterwards its methods raise.
 *  - _serve(fd): the worker's asyncio loop (Python source below), _on_wake and _bind_loop.
 *  - the fasterapi.shared functions (shared.c).
 */
#include <Python.h>

#include "core/json_parse.h"
#include "core/log.h"
#include "fasterapi/error.h"
#include "pyhost/convert.h"
#include "pyhost/pyhost_internal.h"

typedef struct {
    PyObject *ctx_type;
} modstate_t;

typedef struct {
    PyObject_HEAD fa_call_t *call; /* NULL once the call is finished */
    PyObject *request_id;
    int flush_pending; /* _flush_requests is scheduled on the worker's loop */
} ctxobject_t;

/* ---- CallContext ---- */

static void ctx_dealloc(PyObject *self) {
    ctxobject_t *c = (ctxobject_t *)self;
    PyTypeObject *tp = Py_TYPE(self);
    Py_CLEAR(c->request_id);
    tp->tp_free(self);
    Py_DECREF(tp); /* heap types own a reference from each instance */
}

static fa_call_t *live_call(ctxobject_t *c) {
    if (!c->call)
        PyErr_SetString(PyExc_RuntimeError,
                        "this request has already finished (a Context is only valid during "
                        "its own call)");
    return c->call;
}

static PyObject *ctx_log(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"level", "data", "logger", NULL};
    const char *level, *logger = NULL;
    PyObject *data;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sO|z", kwlist, &level, &data, &logger))
        return NULL;
    fa_call_t *call = live_call((ctxobject_t *)self);
    if (!call)
        return NULL;
    char why[256];
    json_t *j = fa__py_to_json(data, why, sizeof why);
    if (!j) {
        /* Not JSON (an exception object, a set...): log its str() rather than nothing. */
        PyObject *s = PyObject_Str(data);
        const char *t = s ? PyUnicode_AsUTF8(s) : NULL;
        j = t ? json_string(t) : NULL;
        Py_XDECREF(s);
        PyErr_Clear();
    }
    int rc = fa_call_log(call, level, logger, j);
    if (rc == FA_EINVAL) {
        PyErr_Format(PyExc_ValueError,
                     "unknown log level '%s' (use debug, info, notice, warning, error, critical, "
                     "alert or emergency)",
                     level);
        return NULL;
    }
    if (rc != 0 && rc != FA_EALREADY) {
        PyErr_Format(PyExc_RuntimeError, "log message not sent: %s", fa_strerror(rc));
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *ctx_progress(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"progress", "total", "message", NULL};
    double progress;
    PyObject *total = Py_None;
    const char *message = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "d|Oz", kwlist, &progress, &total, &message))
        return NULL;
    fa_call_t *call = live_call((ctxobject_t *)self);
    if (!call)
        return NULL;
    double t = -1;
    if (total != Py_None && (t = PyFloat_AsDouble(total)) == -1 && PyErr_Occurred())
        return NULL;
    int rc = fa_call_progress(call, progress, t, message);
    if (rc == FA_EINVAL) {
        PyErr_SetString(PyExc_ValueError, "progress and total must be finite numbers");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* close_stream(): SSE polling (SEP-1699), fa_call_close_stream; nothing on stdio. */
static PyObject *ctx_close_stream(PyObject *self, PyObject *unused) {
    (void)unused;
    fa_call_t *call = live_call((ctxobject_t *)self);
    if (!call)
        return NULL;
    fa_call_close_stream(call);
    Py_RETURN_NONE;
}

/* elicit(params, key=None) / sample(params, key=None): the full elicitation/create or
 * sampling/createMessage params; returns an awaitable resolving to the client's result or
 * {"__error__": {...}}. `key` names the question in a 2026-07-28 input_required result
 * (inputRequests.<key>); None lets the engine name it. */
static PyObject *ctx_request(PyObject *self, const char *key, const char *method,
                             PyObject *params) {
    ctxobject_t *c = (ctxobject_t *)self;
    fa_call_t *call = live_call(c);
    if (!call)
        return NULL;
    PyObject *fut = fa__pyworker_request(call, key, method, params);
    if (!fut || c->flush_pending)
        return fut;
    /* The end of this burst of requests: the next loop iteration, after every task that was
     * ready alongside this one (asyncio.gather's children) has sent its own. */
    PyObject *loop = fa__pyworker_loop();
    PyObject *cb = loop ? PyObject_GetAttrString(self, "_flush_requests") : NULL;
    PyObject *h = cb ? PyObject_CallMethod(loop, "call_soon", "O", cb) : NULL;
    Py_XDECREF(cb);
    if (h) {
        Py_DECREF(h);
        c->flush_pending = 1;
    } else {
        PyErr_Clear();
        (void)fa_call_flush_requests(call); /* cannot schedule it: the round ends here */
    }
    return fut;
}

static PyObject *ctx_flush_requests(PyObject *self, PyObject *unused) {
    (void)unused;
    ctxobject_t *c = (ctxobject_t *)self;
    c->flush_pending = 0;
    if (c->call)
        (void)fa_call_flush_requests(c->call); /* FA_EALREADY: finished meanwhile */
    Py_RETURN_NONE;
}

static PyObject *ctx_elicit(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"params", "key", NULL};
    PyObject *params;
    const char *key = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|z", kwlist, &params, &key))
        return NULL;
    return ctx_request(self, key, "elicitation/create", params);
}

static PyObject *ctx_sample(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"params", "key", NULL};
    PyObject *params;
    const char *key = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|z", kwlist, &params, &key))
        return NULL;
    return ctx_request(self, key, "sampling/createMessage", params);
}

/* request(method, params=None, key=None): any other server-to-client request (roots/list for
 * ctx.session). */
static PyObject *ctx_generic_request(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"method", "params", "key", NULL};
    const char *method;
    PyObject *params = Py_None;
    const char *key = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|Oz", kwlist, &method, &params, &key))
        return NULL;
    return ctx_request(self, key, method, params);
}

/* notify(method, params=None): a notification the client gets in the call's place in the stream
 * (ctx.session.send_resource_updated, send_*_list_changed, send_progress_notification with a
 * token of its own). Dropped like log messages once the call is cancelled. */
static PyObject *ctx_notify(PyObject *self, PyObject *args) {
    const char *method;
    PyObject *params = Py_None;
    if (!PyArg_ParseTuple(args, "s|O", &method, &params))
        return NULL;
    fa_call_t *call = live_call((ctxobject_t *)self);
    if (!call)
        return NULL;
    if (strncmp(method, "notifications/", 14) != 0) {
        PyErr_Format(PyExc_ValueError, "'%s' is not a notification method", method);
        return NULL; /* checked here too: fa_call_notify's FA_EINVAL would not say why */
    }
    char why[256];
    json_t *jp = NULL;
    if (params != Py_None && !(jp = fa__py_to_json(params, why, sizeof why))) {
        PyErr_Format(PyExc_ValueError, "notification params are not JSON: %s", why);
        return NULL;
    }
    if (jp && !json_is_object(jp)) {
        json_decref(jp);
        PyErr_SetString(PyExc_ValueError, "notification params must be a dict");
        return NULL;
    }
    /* A list change concerns every client, not only this call's: in protocol 2026-07-28 the
     * clients listening with subscriptions/listen hear it through fa_server_notify_changed
     * (the legacy era's clients get it in the call's stream, below). */
    unsigned changed =
        strcmp(method, "notifications/tools/list_changed") == 0       ? FA_MCP_CHANGED_TOOLS
        : strcmp(method, "notifications/prompts/list_changed") == 0   ? FA_MCP_CHANGED_PROMPTS
        : strcmp(method, "notifications/resources/list_changed") == 0 ? FA_MCP_CHANGED_RESOURCES
                                                                      : 0;
    fa_server_t *srv = call->srv;
    int rc = fa_call_notify(call, method, jp);
    if (changed && (rc == 0 || rc == FA_EALREADY))
        (void)fa_server_notify_changed(srv, changed); /* FA_ESTATE: stopping, nobody listens */
    if (rc == FA_EALREADY || rc == FA_ESTATE)
        Py_RETURN_NONE; /* finished, or the server is stopping: nobody left to tell */
    if (rc) {
        PyErr_Format(PyExc_RuntimeError, "notification %s not sent: %s", method, fa_strerror(rc));
        return NULL;
    }
    Py_RETURN_NONE;
}

/* notify_resource_updated(uri): notifications/resources/updated to every session subscribed to
 * uri (fa_server_notify_resource_updated), not only this call's client. */
static PyObject *ctx_notify_resource_updated(PyObject *self, PyObject *arg) {
    const char *uri = PyUnicode_AsUTF8(arg);
    if (!uri)
        return NULL;
    fa_call_t *call = live_call((ctxobject_t *)self);
    if (!call)
        return NULL;
    int rc = fa_server_notify_resource_updated(call->srv, uri);
    if (rc && rc != FA_ESTATE) { /* FA_ESTATE: stopping, nobody left to tell */
        PyErr_Format(PyExc_RuntimeError, "resources/updated for %s not sent: %s", uri,
                     fa_strerror(rc));
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Parses the call's id text into a Python value (on demand: most tools never ask). */
static int load_request_id(ctxobject_t *c) {
    if (c->request_id || !c->call)
        return 0;
    fa__json_error_t err;
    json_t *id = fa__json_parse(c->call->id_text, c->call->id_len, 4, NULL, &err);
    if (id) {
        c->request_id = fa__py_from_json(id);
        json_decref(id);
        if (!c->request_id)
            return -1;
    }
    return 0;
}

static PyObject *ctx_get_request_id(PyObject *self, void *closure) {
    (void)closure;
    ctxobject_t *c = (ctxobject_t *)self;
    if (load_request_id(c) < 0)
        return NULL;
    return Py_NewRef(c->request_id ? c->request_id : Py_None);
}

static PyObject *ctx_get_session_id(PyObject *self, void *closure) {
    (void)self;
    (void)closure;
    Py_RETURN_NONE; /* stdio has one client and no session id */
}

/* The request's _meta.progressToken (ctx.request_context.meta.progressToken), or None. The loop
 * set it before the call was queued and frees it only after the call is finished. */
static PyObject *ctx_get_progress_token(PyObject *self, void *closure) {
    (void)closure;
    ctxobject_t *c = (ctxobject_t *)self;
    if (!c->call || !c->call->progress_token)
        Py_RETURN_NONE;
    return fa__py_from_json(c->call->progress_token);
}

static PyObject *ctx_get_cancelled(PyObject *self, void *closure) {
    (void)closure;
    ctxobject_t *c = (ctxobject_t *)self;
    return PyBool_FromLong(!c->call || fa_call_is_cancelled(c->call));
}

static PyMethodDef ctx_methods[] = {
    {"log", (PyCFunction)(void (*)(void))ctx_log, METH_VARARGS | METH_KEYWORDS,
     "log(level, data, logger=None): send notifications/message for this request"},
    {"progress", (PyCFunction)(void (*)(void))ctx_progress, METH_VARARGS | METH_KEYWORDS,
     "progress(progress, total=None, message=None): send notifications/progress"},
    {"close_stream", ctx_close_stream, METH_NOARGS,
     "close_stream(): close the HTTP connection carrying this request's SSE stream now (the "
     "client resumes it); nothing on stdio"},
    {"elicit", (PyCFunction)(void (*)(void))ctx_elicit, METH_VARARGS | METH_KEYWORDS,
     "elicit(params, key=None): send elicitation/create; returns an awaitable of the client's "
     "result"},
    {"sample", (PyCFunction)(void (*)(void))ctx_sample, METH_VARARGS | METH_KEYWORDS,
     "sample(params, key=None): send sampling/createMessage; returns an awaitable of the result"},
    {"request", (PyCFunction)(void (*)(void))ctx_generic_request, METH_VARARGS | METH_KEYWORDS,
     "request(method, params=None, key=None): send a request to the client; an awaitable of its "
     "result"},
    {"notify", ctx_notify, METH_VARARGS,
     "notify(method, params=None): send a notification to the client"},
    {"_flush_requests", ctx_flush_requests, METH_NOARGS,
     "end of a burst of requests to the client (scheduled by the request methods)"},
    {"notify_resource_updated", ctx_notify_resource_updated, METH_O,
     "notify_resource_updated(uri): tell every client subscribed to uri that it changed"},
    {NULL, NULL, 0, NULL}};

/* The capabilities the client declared (initialize, or this request's _meta in 2026-07-28) as a
 * dict, for ctx.session.check_client_capability; {} once the call is finished. */
static PyObject *ctx_get_client_capabilities(PyObject *self, void *closure) {
    (void)closure;
    ctxobject_t *c = (ctxobject_t *)self;
    const json_t *caps = c->call ? fa_call_client_capabilities(c->call) : NULL;
    return caps ? fa__py_from_json(caps) : PyDict_New();
}

static PyGetSetDef ctx_getset[] = {
    {"request_id", ctx_get_request_id, NULL, "the JSON-RPC id of the request", NULL},
    {"session_id", ctx_get_session_id, NULL, "the session id (None on stdio)", NULL},
    {"cancelled", ctx_get_cancelled, NULL, "True once the client cancelled or it timed out", NULL},
    {"progress_token", ctx_get_progress_token, NULL, "the request's _meta.progressToken", NULL},
    {"client_capabilities", ctx_get_client_capabilities, NULL,
     "the capabilities the client declared (a dict)", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyType_Slot ctx_slots[] = {{Py_tp_dealloc, (void *)ctx_dealloc},
                                  {Py_tp_methods, ctx_methods},
                                  {Py_tp_getset, ctx_getset},
                                  {Py_tp_doc, (void *)"The host side of a request's Context."},
                                  {0, NULL}};

static PyType_Spec ctx_spec = {"_fasterapi.CallContext", sizeof(ctxobject_t), 0, Py_TPFLAGS_DEFAULT,
                               ctx_slots};

PyObject *fa__py_ctx_type(void) {
    PyObject *mod = PyImport_ImportModule("_fasterapi");
    if (!mod)
        return NULL;
    modstate_t *st = PyModule_GetState(mod);
    PyObject *tp = Py_NewRef(st->ctx_type);
    Py_DECREF(mod);
    return tp;
}

PyObject *fa__pyctx_new(fa_call_t *call) {
    fa__pyworker_t *w = fa__pyworker_current();
    PyTypeObject *tp = w ? (PyTypeObject *)w->ctx_type : NULL;
    if (!tp) {
        PyErr_SetString(PyExc_RuntimeError, "no CallContext type in this interpreter");
        return NULL;
    }
    ctxobject_t *c = PyObject_New(ctxobject_t, tp);
    if (!c)
        return NULL;
    c->call = call;
    c->request_id = NULL; /* parsed when first asked for (load_request_id) */
    c->flush_pending = 0;
    return (PyObject *)c;
}

void fa__pyctx_release(PyObject *ctx, Py_ssize_t host_refs) {
    if (!ctx)
        return;
    /* Someone kept the Context past its call: keep its id readable. Otherwise skip the parse. */
    if (Py_REFCNT(ctx) > host_refs && load_request_id((ctxobject_t *)ctx) < 0)
        PyErr_Clear();
    ((ctxobject_t *)ctx)->call = NULL;
}

/* ---- errors ---- */

void fa__py_format_exception(char *buf, size_t size, int with_traceback) {
    buf[0] = '\0';
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *exc = PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value && tb)
        PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    PyObject *exc = value;
#endif
    if (!exc)
        return;
    PyObject *text = NULL;
    if (with_traceback) {
        PyObject *tbmod = PyImport_ImportModule("traceback");
        PyObject *lines =
            tbmod ? PyObject_CallMethod(tbmod, "format_exception", "OOO", (PyObject *)Py_TYPE(exc),
                                        exc, PyException_GetTraceback(exc))
                  : NULL;
        PyObject *empty = PyUnicode_FromString("");
        if (lines && empty)
            text = PyUnicode_Join(empty, lines);
        Py_XDECREF(empty);
        Py_XDECREF(lines);
        Py_XDECREF(tbmod);
    }
    if (!text) {
        PyErr_Clear();
        PyObject *msg = PyObject_Str(exc);
        const char *name = Py_TYPE(exc)->tp_name;
        text = msg && PyUnicode_GetLength(msg) > 0 ? PyUnicode_FromFormat("%s: %U", name, msg)
                                                   : PyUnicode_FromString(name);
        Py_XDECREF(msg);
    }
    const char *t = text ? PyUnicode_AsUTF8(text) : NULL;
    snprintf(buf, size, "%s", t ? t : "(an exception that cannot be printed)");
    Py_XDECREF(text);
    Py_DECREF(exc);
    PyErr_Clear();
}

/* ---- the worker loop ---- */

static PyObject *mod_on_wake(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    fa__pyworker_t *w = fa__pyworker_current();
    if (!w) {
        PyErr_SetString(PyExc_RuntimeError, "_on_wake outside a FasterAPI worker");
        return NULL;
    }
    return fa__pyworker_on_wake(w);
}

static PyObject *mod_bind_loop(PyObject *self, PyObject *loop) {
    (void)self;
    fa__pyworker_t *w = fa__pyworker_current();
    if (!w) {
        PyErr_SetString(PyExc_RuntimeError, "_bind_loop outside a FasterAPI worker");
        return NULL;
    }
    if (fa__pyworker_bind_loop(w, loop) != 0)
        return NULL;
    Py_RETURN_NONE;
}

/* _write_stderr(data): whole lines of a Python interpreter's stdout/stderr, written at once
 * and never spliced with another interpreter's lines or the host's log records (see
 * fasterapi._runtime.LineWriter). The GIL is released while writing. */
static PyObject *mod_write_stderr(PyObject *self, PyObject *arg) {
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyThreadState *ts = PyEval_SaveThread();
    fa__log_write_raw(view.buf, (size_t)view.len);
    PyEval_RestoreThread(ts);
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyObject *mod_hosted(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    Py_RETURN_TRUE;
}

/* worker_id(): the index of the pool worker running this code, 0..workers-1 (the early worker of
 * an own-GIL pool, which serves only during start-up, is `workers`), or None outside a worker
 * (the main interpreter importing the app). Lets shared state be keyed per worker, e.g. to see
 * that every worker took requests: an interpreter id cannot, since in the shared-GIL mode every
 * worker runs in the main interpreter. */
static PyObject *mod_worker_id(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    fa__pyworker_t *w = fa__pyworker_current();
    if (!w)
        Py_RETURN_NONE;
    return PyLong_FromLong(w->index);
}

static PyMethodDef mod_methods[] = {
    {"_on_wake", mod_on_wake, METH_NOARGS, "run queued calls (the worker's eventfd callback)"},
    {"_bind_loop", mod_bind_loop, METH_O, "tell the host which asyncio loop this worker runs"},
    {"hosted", mod_hosted, METH_NOARGS, "True: running inside the FasterAPI host"},
    {"_write_stderr", mod_write_stderr, METH_O, "write whole lines to stderr at once"},
    {"worker_id", mod_worker_id, METH_NOARGS, "the index of the worker running this code"},
    {NULL, NULL, 0, NULL}};

/* The worker's loop. _start(dispatcher) makes it and runs the app's lifespan up to its yield
 * (a failure there is a start-up error, with the traceback); _serve(fd, loop, dispatcher) then
 * serves calls, which arrive through the eventfd reader. When the host stops the worker,
 * _on_wake stops the loop, anything still running is cancelled and awaited, and the lifespan's
 * teardown runs last, on the same loop and task that entered it. */
static const char serve_source[] =
    "def _quiet_dummy_thread():\n"
    "    # threading sees this worker thread (not started by threading) as a _DummyThread\n"
    "    # as soon as code asks for current_thread() (Thread(), ThreadPoolExecutor and\n"
    "    # asyncio.to_thread do). On 3.13 a _DeleteDummyThreadOnDel tracker removes it when the\n"
    "    # thread's locals are cleared, which ending the interpreter does after threading's\n"
    "    # globals are gone: 'Exception ignored in ... TypeError' on every shutdown. Make the\n"
    "    # dummy now and let its tracker's __del__ fail quietly (no global names: it may run\n"
    "    # during teardown).\n"
    "    import threading\n"
    "    base = getattr(threading, '_DeleteDummyThreadOnDel', None)\n"
    "    if base is None:\n"
    "        return  # before 3.13 dummy threads are never torn down\n"
    "    threading.current_thread()\n"
    "    ref = getattr(threading._thread_local_info, '_track_dummy_thread_ref', None)\n"
    "    if type(ref) is not base:\n"
    "        return\n"
    "    class Quiet(base):\n"
    "        def __del__(self, _base_del=base.__del__):\n"
    "            try:\n"
    "                _base_del(self)\n"
    "            except:\n"
    "                pass\n"
    "    ref.__class__ = Quiet\n"
    "\n"
    "def _start(disp):\n"
    "    import asyncio\n"
    "    loop = asyncio.new_event_loop()\n"
    "    asyncio.set_event_loop(loop)\n"
    "    _bind_loop(loop)\n"
    "    _quiet_dummy_thread()\n"
    "    try:\n"
    "        disp.start(loop)\n"
    "    except BaseException:\n"
    "        loop.close()\n"
    "        asyncio.set_event_loop(None)\n"
    "        _bind_loop(None)\n"
    "        raise\n"
    "    return loop\n"
    "\n"
    "def _serve(fd, loop, disp):\n"
    "    import asyncio\n"
    "    loop.add_reader(fd, _on_wake)\n"
    "    loop.call_soon(_on_wake)\n"
    "    try:\n"
    "        while True:\n"
    "            try:\n"
    "                loop.run_forever()\n"
    "                break\n"
    "            except (SystemExit, KeyboardInterrupt):\n"
    "                pass  # a task raised it: its call is answered; the worker keeps serving\n"
    "    finally:\n"
    "        keep = disp.lifespan_task\n"
    "        pending = [t for t in asyncio.all_tasks(loop) if not t.done() and t is not keep]\n"
    "        for t in pending:\n"
    "            t.cancel()\n"
    "        if pending:\n"
    "            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))\n"
    "        loop.remove_reader(fd)\n"
    "        disp.stop(loop)\n"
    "        try:\n"
    "            loop.run_until_complete(loop.shutdown_default_executor())\n"
    "        except Exception:\n"
    "            pass  # asyncio.to_thread's threads: joined here, else at interpreter exit\n"
    "        loop.close()\n"
    "        asyncio.set_event_loop(None)\n"
    "        _bind_loop(None)\n";

static int mod_exec(PyObject *m) {
    modstate_t *st = PyModule_GetState(m);
    st->ctx_type = PyType_FromModuleAndSpec(m, &ctx_spec, NULL);
    if (!st->ctx_type || PyModule_AddObjectRef(m, "CallContext", st->ctx_type) < 0)
        return -1;
    if (PyModule_AddFunctions(m, fa__py_shared_methods) < 0 || fa__pyweb_add_type(m) < 0 ||
        fa__pyws_add_type(m) < 0)
        return -1;
    PyObject *dict = PyModule_GetDict(m); /* borrowed */
    if (PyDict_GetItemString(dict, "__builtins__") == NULL &&
        PyDict_SetItemString(dict, "__builtins__", PyEval_GetBuiltins()) < 0)
        return -1;
    PyObject *r = PyRun_String(serve_source, Py_file_input, dict, dict);
    if (!r)
        return -1;
    Py_DECREF(r);
    return 0;
}

static int mod_traverse(PyObject *m, visitproc visit, void *arg) {
    modstate_t *st = PyModule_GetState(m);
    Py_VISIT(st->ctx_type);
    return 0;
}

static int mod_clear(PyObject *m) {
    modstate_t *st = PyModule_GetState(m);
    Py_CLEAR(st->ctx_type);
    return 0;
}

static void mod_free(void *m) {
    mod_clear(m);
}

static PyModuleDef_Slot mod_slots[] = {
    {Py_mod_exec, (void *)mod_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL}};

static struct PyModuleDef mod_def = {
    PyModuleDef_HEAD_INIT, "_fasterapi", "The FasterAPI host's side of the fasterapi package.",
    sizeof(modstate_t),    mod_methods,  mod_slots,
    mod_traverse,          mod_clear,    mod_free};

PyMODINIT_FUNC PyInit__fasterapi(void) {
    return PyModuleDef_Init(&mod_def);
}
