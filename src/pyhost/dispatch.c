/* dispatch.c: running one MCP request in Python, on a worker thread with its GIL held.
 *
 * The arguments (or the request's params) are converted from json_t straight into Python objects
 * of this interpreter, the Dispatcher method is called (contract: python/fasterapi/_runtime.py),
 * and the result is either finished at once (a plain `def`) or, when it is awaitable, wrapped in
 * a task on the worker's asyncio loop whose done-callback finishes the call later. The call is
 * always finished exactly once and its Context is detached before that.
 */
#include <string.h>

#include "core/log.h"
#include "fasterapi/error.h"
#include "pyhost/convert.h"
#include "pyhost/pyhost_internal.h"

enum { M_TOOL = 0, M_RESOURCE = 1, M_PROMPT = 2, M_COMPLETE = 3 };

static int is_tool(const fa_call_t *call) {
    return call->op == FA__OP_TOOL;
}

/* Finishes the call with a Python result (borrowed): a protocol error, or a JSON result. */
static void finish_result(fa_call_t *call, PyObject *ctx, PyObject *res, Py_ssize_t host_refs) {
    fa__pyctx_release(ctx, host_refs);
    PyObject *e = PyDict_Check(res) ? PyDict_GetItemString(res, "__error__") : NULL;
    if (e && PyDict_Check(e)) {
        /* {"__error__": {"code": int, "message": str, "data"?: any}} -> JSON-RPC error. */
        PyObject *code = PyDict_GetItemString(e, "code");
        PyObject *msg = PyDict_GetItemString(e, "message");
        PyObject *data = PyDict_GetItemString(e, "data");
        long c = code && PyLong_Check(code) ? PyLong_AsLong(code) : FA_RPC_INTERNAL_ERROR;
        const char *m = msg && PyUnicode_Check(msg) ? PyUnicode_AsUTF8(msg) : NULL;
        char why[256];
        json_t *jd = data ? fa__py_to_json(data, why, sizeof why) : NULL;
        PyErr_Clear();
        fa_call_error(call, (int)c, m ? m : "error", jd);
        return;
    }
    char why[512];
    json_t *j = fa__py_to_json(res, why, sizeof why);
    if (j) {
        fa_call_complete(call, j);
        return;
    }
    char msg[700];
    if (is_tool(call)) {
        snprintf(msg, sizeof msg, "Tool %s returned a value that is not JSON: %s",
                 fa_call_tool_name(call), why);
        fa_call_fail(call, msg);
    } else {
        snprintf(msg, sizeof msg, "Internal error: the result is not JSON: %s", why);
        fa_call_error(call, FA_RPC_INTERNAL_ERROR, msg, NULL);
    }
}

/* Finishes the call after an exception escaped the Dispatcher (or a task ended with one). */
static void finish_exception(fa__pyworker_t *w, fa_call_t *call, PyObject *ctx,
                             Py_ssize_t host_refs) {
    fa__pyctx_release(ctx, host_refs);
    if (fa_call_is_cancelled(call) && PyErr_ExceptionMatches(w->cancelled_error)) {
        PyErr_Clear();
        fa_call_complete(call, NULL); /* cancelled: no response (the spec's rule) */
        return;
    }
    char text[2048];
    fa__py_format_exception(text, sizeof text, w->pool->app.debug);
    char msg[2200];
    snprintf(msg, sizeof msg, "Internal error: %s", text);
    fa_call_error(call, FA_RPC_INTERNAL_ERROR, msg, NULL);
}

static void task_done_fn_impl(PyObject *pair, PyObject *task);

static PyObject *task_done_fn(PyObject *pair, PyObject *task) {
    task_done_fn_impl(pair, task);
    Py_RETURN_NONE;
}

/* Static C data (not a PyObject), so one definition serves every interpreter. */
static PyMethodDef task_done_def = {"_task_done", task_done_fn, METH_O, NULL};

static void task_done_fn_impl(PyObject *pair, PyObject *task) {
    fa_call_t *call = PyCapsule_GetPointer(PyTuple_GET_ITEM(pair, 0), NULL);
    PyObject *ctx = PyTuple_GET_ITEM(pair, 1);
    fa__pyworker_t *w = fa__pyworker_current();
    if (!call || !w) {
        PyErr_Clear();
        return;
    }
    fa__py_task_done(w, call, ctx, task);
}

void fa__py_task_done(fa__pyworker_t *w, fa_call_t *call, PyObject *ctx, PyObject *task) {
    PyObject *key = PyLong_FromUnsignedLongLong(call->seq);
    if (key && PyDict_DelItem(w->tasks, key) < 0)
        PyErr_Clear();
    Py_XDECREF(key);
    PyObject *cancelled = PyObject_CallMethod(task, "cancelled", NULL);
    int was_cancelled = cancelled == Py_True;
    Py_XDECREF(cancelled);
    if (was_cancelled) {
        fa__pyctx_release(ctx, 1);
        if (fa_call_is_cancelled(call))
            fa_call_complete(call, NULL);
        else
            fa_call_error(call, FA_RPC_INTERNAL_ERROR, "Internal error: the task was cancelled",
                          NULL);
        return;
    }
    PyObject *res = PyObject_CallMethod(task, "result", NULL);
    if (!res) {
        finish_exception(w, call, ctx, 1);
        return;
    }
    finish_result(call, ctx, res, 1);
    Py_DECREF(res);
}

/* Runs the result: finished now, or as a task when it is awaitable. Steals res. */
static void deliver(fa__pyworker_t *w, fa_call_t *call, PyObject *ctx, PyObject *res) {
    if (!res) {
        finish_exception(w, call, ctx, 1);
        return;
    }
    PyTypeObject *tp = Py_TYPE(res);
    int awaitable = PyCoro_CheckExact(res) || (tp->tp_as_async && tp->tp_as_async->am_await);
    if (!awaitable) {
        finish_result(call, ctx, res, 1);
        Py_DECREF(res);
        return;
    }
    /* An async tool: a task on this worker's loop; the worker stays free for other calls. */
    PyObject *task = w->loop || fa__pyworker_start_loop(w) == 0
                         ? PyObject_CallFunction(w->ensure_future, "O", res)
                         : NULL;
    Py_DECREF(res);
    PyObject *key = task ? PyLong_FromUnsignedLongLong(call->seq) : NULL;
    PyObject *cap = key ? PyCapsule_New(call, NULL, NULL) : NULL;
    PyObject *pair = cap ? PyTuple_Pack(2, cap, ctx) : NULL;
    PyObject *cb = pair ? PyCFunction_New(&task_done_def, pair) : NULL;
    PyObject *r = cb ? PyObject_CallMethod(task, "add_done_callback", "O", cb) : NULL;
    int ok = r && PyDict_SetItem(w->tasks, key, task) == 0;
    Py_XDECREF(r);
    Py_XDECREF(cb);
    Py_XDECREF(pair);
    Py_XDECREF(cap);
    Py_XDECREF(key);
    if (!ok) {
        if (task) {
            /* The callback may not be attached: cancel the task and answer now. */
            PyObject *c = PyObject_CallMethod(task, "cancel", NULL);
            Py_XDECREF(c);
        }
        Py_XDECREF(task);
        finish_exception(w, call, ctx, 1);
        return;
    }
    Py_DECREF(task);
}

/* Calls one Dispatcher method with args[0..n) (stolen; a NULL means conversion failed) and the
 * call's Context appended. args must have room for n + 1 entries. */
static void invoke(fa_call_t *call, int method, PyObject **args, int n) {
    fa__pyworker_t *w = fa__pyworker_current();
    int ok = 1;
    for (int i = 0; i < n; i++)
        ok &= args[i] != NULL;
    PyObject *ctx = ok ? fa__pyctx_new(call) : NULL;
    PyObject *res = NULL;
    if (ctx) {
        args[n] = ctx;
        res = PyObject_Vectorcall(w->methods[method], args, (size_t)n + 1, NULL);
    }
    for (int i = 0; i < n; i++)
        Py_XDECREF(args[i]);
    if (!ctx) {
        finish_exception(w, call, NULL, 1);
        return;
    }
    deliver(w, call, ctx, res);
    Py_DECREF(ctx);
}

static PyObject *str_of(const json_t *v) {
    return PyUnicode_FromStringAndSize(json_string_value(v), (Py_ssize_t)json_string_length(v));
}

void fa__py_tool_cb(fa_call_t *call, const json_t *args, void *data) {
    static _Atomic int first = 1;
    if (atomic_load_explicit(&first, memory_order_relaxed) &&
        atomic_exchange_explicit(&first, 0, memory_order_relaxed))
        fa__trace_start("first tools/call runs");
    PyObject *a[3] = {PyUnicode_FromString(data), fa__py_from_json(args), NULL};
    invoke(call, M_TOOL, a, 2);
}

static void read_resource_cb(fa_call_t *call, const json_t *params, void *data) {
    (void)data;
    PyObject *a[2] = {str_of(json_object_get(params, "uri")), NULL};
    invoke(call, M_RESOURCE, a, 1);
}

static void get_prompt_cb(fa_call_t *call, const json_t *params, void *data) {
    (void)data;
    const json_t *args = json_object_get(params, "arguments");
    PyObject *a[3] = {str_of(json_object_get(params, "name")),
                      args ? fa__py_from_json(args) : PyDict_New(), NULL};
    invoke(call, M_PROMPT, a, 2);
}

static void complete_cb(fa_call_t *call, const json_t *params, void *data) {
    (void)data;
    const json_t *context = json_object_get(params, "context");
    PyObject *a[4] = {fa__py_from_json(json_object_get(params, "ref")),
                      fa__py_from_json(json_object_get(params, "argument")),
                      context ? fa__py_from_json(context) : Py_NewRef(Py_None), NULL};
    invoke(call, M_COMPLETE, a, 3);
}

const fa__ops_t fa__py_ops = {read_resource_cb, get_prompt_cb, complete_cb, NULL};
