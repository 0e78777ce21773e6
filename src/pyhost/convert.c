/* pyhost/convert.c: json_t <-> PyObject without JSON text (contracts in convert.h).
 *
 * Both directions are plain recursive descents bounded by FA_PY_CONVERT_MAX_DEPTH; each level
 * keeps only a few locals, so 512 levels fit on any worker thread's stack (plus the 8 KB
 * location array of fa__py_to_json).
 *
 * PyObject -> json_t does not build the error location on the way down: each level records
 * where it is (a borrowed pointer to the dict key's cached UTF-8, or the array index) in a
 * fixed array, and only a failure turns that into a JSON Pointer (RFC 6901). The success path
 * therefore costs one store per element.
 *
 * Hazard: converting can run Python code, even for exact built-in types: any allocation of a
 * container may start a GC pass whose finalizers run arbitrary code, and dict subclasses are read
 * through their items() method. That code could mutate the containers being walked, so every
 * key and value is held with a strong reference while it is converted (PyDict_Next and
 * PyList_GET_ITEM only lend them), list sizes are re-read on each step, and the recorded key
 * pointers stay valid because their str objects are held until the failure message is written.
 */
#include "pyhost/convert.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"

/* The range error message says "64-bit" and PyLong_AsLongLongAndOverflow fills a long long. */
_Static_assert(sizeof(json_int_t) == sizeof(long long), "json_int_t must be a 64-bit long long");

/* ------------------------------------------------------------------------------------------ */
/* json_t -> PyObject                                                                          */

static PyObject *from_value(const json_t *v, int depth);

/* jansson's iterator functions take a non-const json_t although walking an object does not
 * modify it; this drops the qualifier in one visible place. */
static json_t *unconst_json(const json_t *v) {
    return (json_t *)(uintptr_t)v;
}

static PyObject *from_object(const json_t *v, int depth) {
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
    json_t *o = unconst_json(v);
    /* jansson 2.14 iterates in insertion order; keys may hold NUL, so use their length. */
    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it)) {
        PyObject *k = PyUnicode_DecodeUTF8(json_object_iter_key(it),
                                           (Py_ssize_t)json_object_iter_key_len(it), NULL);
        if (!k)
            goto fail;
        PyObject *x = from_value(json_object_iter_value(it), depth);
        if (!x) {
            Py_DECREF(k);
            goto fail;
        }
        int rc = PyDict_SetItem(d, k, x);
        Py_DECREF(k);
        Py_DECREF(x);
        if (rc < 0)
            goto fail;
    }
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

static PyObject *from_array(const json_t *v, int depth) {
    size_t n = json_array_size(v);
    PyObject *l = PyList_New((Py_ssize_t)n);
    if (!l)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        PyObject *x = from_value(json_array_get(v, i), depth);
        if (!x) {
            Py_DECREF(l); /* unfilled slots are NULL, which list_dealloc skips */
            return NULL;
        }
        PyList_SET_ITEM(l, (Py_ssize_t)i, x);
    }
    return l;
}

/* depth = number of containers enclosing v (0 for the top-level value). */
static PyObject *from_value(const json_t *v, int depth) {
    switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        if (depth >= FA_PY_CONVERT_MAX_DEPTH) {
            PyErr_Format(PyExc_RecursionError, "JSON nesting deeper than %d levels",
                         FA_PY_CONVERT_MAX_DEPTH);
            return NULL;
        }
        return json_is_object(v) ? from_object(v, depth + 1) : from_array(v, depth + 1);
    case JSON_STRING:
        return PyUnicode_DecodeUTF8(json_string_value(v), (Py_ssize_t)json_string_length(v), NULL);
    case JSON_INTEGER:
        return PyLong_FromLongLong(json_integer_value(v));
    case JSON_REAL:
        return PyFloat_FromDouble(json_real_value(v));
    case JSON_TRUE:
        Py_RETURN_TRUE;
    case JSON_FALSE:
        Py_RETURN_FALSE;
    case JSON_NULL:
        Py_RETURN_NONE;
    }
    PyErr_SetString(PyExc_SystemError, "fa__py_from_json: unknown json_t type");
    return NULL;
}

PyObject *fa__py_from_json(const json_t *v) {
    if (!v) {
        PyErr_SetString(PyExc_SystemError, "fa__py_from_json: NULL json_t");
        return NULL;
    }
    return from_value(v, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* PyObject -> json_t                                                                          */

/* Where the walk is inside one container. */
typedef struct {
    const char *key; /* the dict key's UTF-8 (owned by a str the walk holds), NULL in an array */
    Py_ssize_t n;    /* key length in bytes, or the array index */
} seg_t;

typedef struct {
    char *why;
    size_t why_size;
    int depth;                         /* containers entered */
    seg_t at[FA_PY_CONVERT_MAX_DEPTH]; /* at[i]: position inside the container at level i + 1 */
} to_ctx_t;

/* Bounded appender for the error message; remembers that it had to cut. */
typedef struct {
    char *buf;
    size_t cap, len;
    int cut;
} msg_t;

static void msg_put(msg_t *m, const char *s, size_t n) {
    size_t room = m->cap - 1 - m->len;
    if (n > room) {
        n = room;
        m->cut = 1;
    }
    memcpy(m->buf + m->len, s, n);
    m->len += n;
}

/* Appends a dict key as a JSON Pointer token: "~" -> "~0", "/" -> "~1" (RFC 6901 §3). A NUL
 * cannot appear in a C string, so it is shown as the JSON escape \u0000. */
static void msg_put_token(msg_t *m, const char *s, size_t n) {
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc = s[i] == '~' ? "~0" : s[i] == '/' ? "~1" : s[i] == '\0' ? "\\u0000" : NULL;
        if (esc) {
            msg_put(m, s + start, i - start);
            msg_put(m, esc, strlen(esc));
            start = i + 1;
        }
    }
    msg_put(m, s + start, n - start);
}

/* Writes "<pointer to the first nseg levels>: <reason>" (just the reason at the top level) and
 * clears any Python exception. Returns NULL so callers can `return fail(...)`. The reason is the
 * useful part, so a long path (deep nesting, huge keys) gets only the room the reason leaves and
 * ends in "..." when cut. */
static json_t *fail(to_ctx_t *c, int nseg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *fail(to_ctx_t *c, int nseg, const char *fmt, ...) {
    PyErr_Clear();
    if (!c->why || c->why_size == 0)
        return NULL;
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    size_t rn = fa__utf8_vformat(reason, sizeof reason, fmt, ap);
    va_end(ap);
    size_t need = nseg > 0 ? rn + 2 : rn;
    msg_t m = {c->why, c->why_size > need + 8 ? c->why_size - need : c->why_size, 0, 0};
    for (int i = 0; i < nseg && !m.cut; i++) {
        msg_put(&m, "/", 1);
        if (c->at[i].key) {
            msg_put_token(&m, c->at[i].key, (size_t)c->at[i].n);
        } else {
            char num[24];
            int k = snprintf(num, sizeof num, "%zd", c->at[i].n);
            msg_put(&m, num, (size_t)k);
        }
    }
    /* Cut text must stay valid UTF-8: it ends up in a JSON-RPC reply. */
    if (m.cut) {
        m.len = fa__utf8_clip(m.buf, m.len > 3 ? m.len - 3 : 0);
        msg_put(&m, "...", 3);
    }
    m.cap = c->why_size;
    if (nseg > 0)
        msg_put(&m, ": ", 2);
    msg_put(&m, reason, rn);
    if (m.cut)
        m.len = fa__utf8_clip(m.buf, m.len);
    m.buf[m.len] = '\0';
    return NULL;
}

/* Takes the pending exception (normalized) out of the thread state; NULL if none. */
static PyObject *take_exception(void) {
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

/* Reports a Python exception raised while reading `what` (MemoryError, or whatever an overridden
 * items() raised) and clears it. */
static json_t *fail_exception(to_ctx_t *c, int nseg, const char *what) {
    if (PyErr_ExceptionMatches(PyExc_MemoryError))
        return fail(c, nseg, "out of memory");
    PyObject *exc = take_exception();
    if (!exc)
        return fail(c, nseg, "%s failed", what);
    PyObject *text = PyObject_Str(exc);
    const char *s = text ? PyUnicode_AsUTF8(text) : NULL;
    fail(c, nseg, "%s failed: %s: %s", what, Py_TYPE(exc)->tp_name, s ? s : "?");
    Py_XDECREF(text);
    Py_DECREF(exc);
    PyErr_Clear(); /* anything PyObject_Str or PyUnicode_AsUTF8 raised */
    return NULL;
}

/* PyUnicode_AsUTF8AndSize failed: with strict UTF-8 the only encoding error is a surrogate
 * code point (U+D800..U+DFFF), which Python str allows and UTF-8 does not. */
static json_t *fail_utf8(to_ctx_t *c, int nseg, const char *what) {
    if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
        return fail(c, nseg, "%s contains a lone surrogate", what);
    return fail_exception(c, nseg, what);
}

static json_t *to_value(to_ctx_t *c, PyObject *o);

static json_t *to_string(to_ctx_t *c, PyObject *o) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(o, &n); /* cached in o; no copy for ASCII */
    if (!s)
        return fail_utf8(c, c->depth, "str");
    /* Python's UTF-8 encoder produced it, so jansson need not validate it again. */
    json_t *j = json_stringn_nocheck(s, (size_t)n);
    return j ? j : fail(c, c->depth, "out of memory");
}

static json_t *fail_int_range(to_ctx_t *c, PyObject *o) {
    /* PyNumber_ToBase reads the int value itself (an IntEnum's str() may be its name); it
     * refuses numbers beyond sys.get_int_max_str_digits(). */
    PyObject *digits = PyNumber_ToBase(o, 10);
    Py_ssize_t n = 0;
    const char *s = digits ? PyUnicode_AsUTF8AndSize(digits, &n) : NULL;
    if (!s)
        fail(c, c->depth, "integer is out of range (64-bit)");
    else if (n <= 64)
        fail(c, c->depth, "integer %s is out of range (64-bit)", s);
    else
        fail(c, c->depth, "integer %.24s... (%zd digits) is out of range (64-bit)", s,
             n - (s[0] == '-'));
    Py_XDECREF(digits);
    PyErr_Clear();
    return NULL;
}

static json_t *to_integer(to_ctx_t *c, PyObject *o) {
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow)
        return fail_int_range(c, o);
    if (x == -1 && PyErr_Occurred())
        return fail_exception(c, c->depth, "int");
    json_t *j = json_integer((json_int_t)x);
    return j ? j : fail(c, c->depth, "out of memory");
}

static json_t *to_real(to_ctx_t *c, PyObject *o) {
    double d = PyFloat_AS_DOUBLE(o);
    if (!isfinite(d)) /* spelled as Python's repr() spells them */
        return fail(c, c->depth, "float %s is not valid JSON",
                    isnan(d) ? "nan"
                    : d > 0  ? "inf"
                             : "-inf");
    json_t *j = json_real(d);
    return j ? j : fail(c, c->depth, "out of memory");
}

/* Enters one more container level; NULL (with the message written) past the limit. */
static int enter(to_ctx_t *c) {
    if (c->depth == FA_PY_CONVERT_MAX_DEPTH) {
        fail(c, 0, "nesting deeper than %d levels", FA_PY_CONVERT_MAX_DEPTH);
        return -1;
    }
    c->depth++;
    return 0;
}

/* list, tuple and their subclasses (namedtuple): read through the object's own storage. */
static json_t *to_array(to_ctx_t *c, PyObject *o) {
    if (enter(c) < 0)
        return NULL;
    json_t *a = json_array();
    if (!a)
        return fail(c, c->depth - 1, "out of memory");
    seg_t *seg = &c->at[c->depth - 1];
    seg->key = NULL;
    int is_list = PyList_Check(o);
    /* A list's size is re-read each step: code run by the GC may shrink it (see the top). */
    for (Py_ssize_t i = 0; i < (is_list ? PyList_GET_SIZE(o) : PyTuple_GET_SIZE(o)); i++) {
        PyObject *item = is_list ? PyList_GET_ITEM(o, i) : PyTuple_GET_ITEM(o, i);
        seg->n = i;
        Py_INCREF(item);
        json_t *j = to_value(c, item);
        if (!j || json_array_append_new(a, j) < 0) {
            if (j)
                fail(c, c->depth, "out of memory");
            Py_DECREF(item);
            json_decref(a);
            return NULL;
        }
        Py_DECREF(item);
    }
    c->depth--;
    return a;
}

/* Converts one key/value pair into obj; -1 after writing the message. The caller has entered
 * the object's level and seg is that level's slot. */
static int put_member(to_ctx_t *c, json_t *obj, seg_t *seg, PyObject *k, PyObject *v) {
    if (!PyUnicode_Check(k)) {
        fail(c, c->depth - 1, "dict keys must be str, got %s", Py_TYPE(k)->tp_name);
        return -1;
    }
    Py_ssize_t kn;
    const char *ks = PyUnicode_AsUTF8AndSize(k, &kn);
    if (!ks) {
        fail_utf8(c, c->depth - 1, "dict key");
        return -1;
    }
    Py_INCREF(k); /* keeps ks alive for the error path, too */
    Py_INCREF(v);
    seg->key = ks;
    seg->n = kn;
    int rc = -1;
    json_t *j = to_value(c, v);
    if (j) {
        if (json_object_setn_new_nocheck(obj, ks, (size_t)kn, j) == 0) /* steals j */
            rc = 0;
        else
            fail(c, c->depth, "out of memory");
    }
    Py_DECREF(v);
    Py_DECREF(k);
    return rc;
}

/* Exact dict: the fast path, in insertion order. */
static json_t *to_object(to_ctx_t *c, PyObject *o) {
    if (enter(c) < 0)
        return NULL;
    json_t *obj = json_object();
    if (!obj)
        return fail(c, c->depth - 1, "out of memory");
    seg_t *seg = &c->at[c->depth - 1];
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(o, &pos, &k, &v)) {
        if (put_member(c, obj, seg, k, v) < 0) {
            json_decref(obj);
            return NULL;
        }
    }
    c->depth--;
    return obj;
}

/* dict subclasses go through items(), as json.dumps does: an OrderedDict's order after
 * move_to_end() lives in its own linked list, not in the dict storage PyDict_Next walks. */
static json_t *to_object_items(to_ctx_t *c, PyObject *o) {
    if (enter(c) < 0)
        return NULL;
    PyObject *items = PyMapping_Items(o); /* a new list */
    if (!items)
        return fail_exception(c, c->depth - 1, "items()");
    json_t *obj = json_object();
    if (!obj) {
        Py_DECREF(items);
        return fail(c, c->depth - 1, "out of memory");
    }
    seg_t *seg = &c->at[c->depth - 1];
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
        PyObject *pair = PyList_GET_ITEM(items, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            fail(c, c->depth - 1, "%s.items() did not return (key, value) pairs",
                 Py_TYPE(o)->tp_name);
            goto fail;
        }
        if (put_member(c, obj, seg, PyTuple_GET_ITEM(pair, 0), PyTuple_GET_ITEM(pair, 1)) < 0)
            goto fail;
    }
    Py_DECREF(items);
    c->depth--;
    return obj;
fail:
    Py_DECREF(items);
    json_decref(obj);
    return NULL;
}

static json_t *not_json(to_ctx_t *c, PyObject *o) {
    const char *name = Py_TYPE(o)->tp_name;
    if (PyBytes_Check(o) || PyByteArray_Check(o) || PyMemoryView_Check(o))
        return fail(c, c->depth, "%s is not JSON (encode it with base64)", name);
    if (PyAnySet_Check(o))
        return fail(c, c->depth, "%s is not JSON (use a list)", name);
    return fail(c, c->depth, "%s is not JSON", name);
}

static json_t *to_value(to_ctx_t *c, PyObject *o) {
    /* Exact types first, most frequent first: each test is one pointer compare. */
    if (PyUnicode_CheckExact(o))
        return to_string(c, o);
    if (PyDict_CheckExact(o))
        return to_object(c, o);
    if (PyLong_CheckExact(o))
        return to_integer(c, o);
    if (PyList_CheckExact(o))
        return to_array(c, o);
    if (o == Py_None)
        return json_null();
    /* bool is an int subclass, so it must be decided before PyLong_Check; it has no
     * subclasses of its own, so identity is enough. */
    if (o == Py_True)
        return json_true();
    if (o == Py_False)
        return json_false();
    if (PyFloat_CheckExact(o))
        return to_real(c, o);
    if (PyTuple_CheckExact(o))
        return to_array(c, o);
    /* Subclasses (IntEnum, str Enum, float subclasses, OrderedDict, defaultdict, namedtuple)
     * convert as their base type. int and str cannot both be bases of one class. */
    if (PyLong_Check(o))
        return to_integer(c, o);
    if (PyUnicode_Check(o))
        return to_string(c, o);
    if (PyFloat_Check(o))
        return to_real(c, o);
    if (PyDict_Check(o))
        return to_object_items(c, o);
    if (PyList_Check(o) || PyTuple_Check(o))
        return to_array(c, o);
    return not_json(c, o);
}

json_t *fa__py_to_json(PyObject *o, char *why, size_t why_size) {
    to_ctx_t c; /* at[] is written before it is read: not zeroed, it is 8 KB */
    c.why = why;
    c.why_size = why_size;
    c.depth = 0;
    if (why && why_size)
        why[0] = '\0';
    if (!o)
        return fail(&c, 0, "no value (NULL PyObject)");
    return to_value(&c, o);
}
