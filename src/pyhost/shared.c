/* shared.c: fasterapi.shared, state visible from every interpreter.
 *
 * A module global is per interpreter, so a counter kept in Python would count per worker. These
 * structures live in C memory, process-wide, behind one mutex; Python sees them through
 * `_fasterapi.shared_*` functions (wrapped by python/fasterapi/shared.py). Values are JSON text
 * (the Python side encodes canonically), so nothing Python-specific crosses interpreters.
 *
 * Lock discipline: the mutex is never held while calling into Python (arguments are read
 * before, results built after), so there is no lock-order problem with any GIL.
 */
#include <Python.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/map.h"
#include "fasterapi/error.h"
#include "pyhost/pyhost_internal.h"

typedef struct {
    char *key;
    long long counter; /* kind 'c' */
    fa__map_t members; /* kind 's': value text -> entry (key owned by the entry) */
    fa__map_t items;   /* kind 'm': key -> item_t */
} object_t;

typedef struct {
    char *key;
    char *value;
    size_t value_len;
} item_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static fa__map_t objects; /* "<kind>:<name>" -> object_t */

/* Finds or creates the object named kind:name. Caller holds the lock. */
static object_t *get_object(char kind, const char *name, size_t len, int create) {
    char stack[256];
    char *k = len + 3 <= sizeof stack ? stack : malloc(len + 3);
    if (!k)
        return NULL;
    k[0] = kind;
    k[1] = ':';
    memcpy(k + 2, name, len);
    object_t *o = fa__map_get(&objects, k, len + 2);
    if (!o && create) {
        o = calloc(1, sizeof *o);
        if (o && (o->key = malloc(len + 2))) {
            memcpy(o->key, k, len + 2);
            if (fa__map_put(&objects, o->key, len + 2, o) != 0) {
                free(o->key);
                free(o);
                o = NULL;
            }
        } else {
            free(o);
            o = NULL;
        }
    }
    if (k != stack)
        free(k);
    return o;
}

static int str_arg(PyObject *o, const char **s, Py_ssize_t *n) {
    *s = PyUnicode_AsUTF8AndSize(o, n);
    return *s ? 0 : -1;
}

#define NEED_ARGS(n)                                                                               \
    do {                                                                                           \
        if (nargs != (n)) {                                                                        \
            PyErr_Format(PyExc_TypeError, "expected %d arguments, got %zd", (n), nargs);           \
            return NULL;                                                                           \
        }                                                                                          \
    } while (0)

static PyObject *counter_add(PyObject *m, PyObject *const *args, Py_ssize_t nargs) {
    (void)m;
    NEED_ARGS(2);
    const char *name;
    Py_ssize_t n;
    long long delta = PyLong_AsLongLong(args[1]);
    if (str_arg(args[0], &name, &n) || (delta == -1 && PyErr_Occurred()))
        return NULL;
    pthread_mutex_lock(&lock);
    object_t *o = get_object('c', name, (size_t)n, 1);
    long long v = o ? (o->counter += delta) : 0;
    pthread_mutex_unlock(&lock);
    return o ? PyLong_FromLongLong(v) : PyErr_NoMemory();
}

static PyObject *counter_get(PyObject *m, PyObject *const *args, Py_ssize_t nargs) {
    (void)m;
    NEED_ARGS(1);
    const char *name;
    Py_ssize_t n;
    if (str_arg(args[0], &name, &n))
        return NULL;
    pthread_mutex_lock(&lock);
    object_t *o = get_object('c', name, (size_t)n, 0);
    long long v = o ? o->counter : 0;
    pthread_mutex_unlock(&lock);
    return PyLong_FromLongLong(v);
}

/* ---- sets of JSON texts ---- */

static PyObject *set_op(PyObject *const *args, Py_ssize_t nargs, int op) {
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "expected 2 arguments, got %zd", nargs);
        return NULL;
    }
    const char *name, *val;
    Py_ssize_t n, vn;
    if (str_arg(args[0], &name, &n) || str_arg(args[1], &val, &vn))
        return NULL;
    int result = 0, oom = 0;
    pthread_mutex_lock(&lock);
    object_t *o = get_object('s', name, (size_t)n, op == 'a');
    if (o) {
        char *have = fa__map_get(&o->members, val, (size_t)vn);
        if (op == 'a' && !have) {
            char *k = malloc((size_t)vn + 1);
            if (k) {
                memcpy(k, val, (size_t)vn);
                k[vn] = '\0';
                if (fa__map_put(&o->members, k, (size_t)vn, k) == 0)
                    result = 1;
                else
                    free(k), oom = 1;
            } else {
                oom = 1;
            }
        } else if (op == 'd' && have) {
            free(fa__map_del(&o->members, val, (size_t)vn));
            result = 1;
        } else if (op == 'c') {
            result = have != NULL;
        }
    } else if (op == 'a') {
        oom = 1;
    }
    pthread_mutex_unlock(&lock);
    if (oom)
        return PyErr_NoMemory();
    return PyBool_FromLong(result);
}

static PyObject *set_add(PyObject *m, PyObject *const *a, Py_ssize_t n) {
    (void)m;
    return set_op(a, n, 'a');
}
static PyObject *set_discard(PyObject *m, PyObject *const *a, Py_ssize_t n) {
    (void)m;
    return set_op(a, n, 'd');
}
static PyObject *set_contains(PyObject *m, PyObject *const *a, Py_ssize_t n) {
    (void)m;
    return set_op(a, n, 'c');
}

/* Copies the entries of a set or map (under the lock) so Python objects are built after it. */
typedef struct {
    char **keys, **values;
    size_t *klens, *vlens;
    size_t n;
} snapshot_t;

static void snapshot_free(snapshot_t *s) {
    for (size_t i = 0; i < s->n; i++) {
        free(s->keys[i]);
        if (s->values)
            free(s->values[i]);
    }
    free(s->keys);
    free(s->values);
    free(s->klens);
    free(s->vlens);
}

static int snapshot(char kind, const char *name, size_t len, snapshot_t *s) {
    memset(s, 0, sizeof *s);
    int rc = 0;
    pthread_mutex_lock(&lock);
    object_t *o = get_object(kind, name, len, 0);
    fa__map_t *m = o ? (kind == 's' ? &o->members : &o->items) : NULL;
    size_t cap = m ? m->count : 0;
    if (cap) {
        s->keys = calloc(cap, sizeof *s->keys);
        s->klens = calloc(cap, sizeof *s->klens);
        if (kind == 'm') {
            s->values = calloc(cap, sizeof *s->values);
            s->vlens = calloc(cap, sizeof *s->vlens);
        }
        if (!s->keys || !s->klens || (kind == 'm' && (!s->values || !s->vlens)))
            rc = FA_ENOMEM;
        for (size_t i = 0; rc == 0 && i < m->cap; i++) {
            fa__map_entry_t *e = &m->slots[i];
            if (!e->key)
                continue;
            s->klens[s->n] = e->key_len;
            s->keys[s->n] = strndup(e->key, e->key_len);
            if (kind == 'm') {
                item_t *it = e->value;
                s->vlens[s->n] = it->value_len;
                s->values[s->n] = strndup(it->value, it->value_len);
            }
            if (!s->keys[s->n] || (kind == 'm' && !s->values[s->n]))
                rc = FA_ENOMEM;
            s->n++;
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

/* ---- maps of str -> JSON text ---- */

static PyObject *map_set(PyObject *m, PyObject *const *args, Py_ssize_t nargs) {
    (void)m;
    NEED_ARGS(3);
    const char *name, *key, *val;
    Py_ssize_t n, kn, vn;
    if (str_arg(args[0], &name, &n) || str_arg(args[1], &key, &kn) || str_arg(args[2], &val, &vn))
        return NULL;
    char *v = malloc((size_t)vn + 1);
    if (!v)
        return PyErr_NoMemory();
    memcpy(v, val, (size_t)vn);
    v[vn] = '\0';
    int oom = 0;
    pthread_mutex_lock(&lock);
    object_t *o = get_object('m', name, (size_t)n, 1);
    item_t *it = o ? fa__map_get(&o->items, key, (size_t)kn) : NULL;
    if (it) {
        free(it->value);
        it->value = v;
        it->value_len = (size_t)vn;
    } else if (o && (it = calloc(1, sizeof *it)) && (it->key = strndup(key, (size_t)kn))) {
        it->value = v;
        it->value_len = (size_t)vn;
        if (fa__map_put(&o->items, it->key, (size_t)kn, it) != 0) {
            free(it->key);
            free(it);
            free(v);
            oom = 1;
        }
    } else {
        free(it);
        free(v);
        oom = 1;
    }
    pthread_mutex_unlock(&lock);
    if (oom)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *map_get(PyObject *m, PyObject *const *args, Py_ssize_t nargs) {
    (void)m;
    NEED_ARGS(2);
    const char *name, *key;
    Py_ssize_t n, kn;
    if (str_arg(args[0], &name, &n) || str_arg(args[1], &key, &kn))
        return NULL;
    char *copy = NULL;
    size_t len = 0;
    int found = 0;
    pthread_mutex_lock(&lock);
    object_t *o = get_object('m', name, (size_t)n, 0);
    item_t *it = o ? fa__map_get(&o->items, key, (size_t)kn) : NULL;
    if (it) {
        found = 1;
        len = it->value_len;
        copy = strndup(it->value, len);
    }
    pthread_mutex_unlock(&lock);
    if (!found)
        Py_RETURN_NONE;
    if (!copy)
        return PyErr_NoMemory();
    PyObject *r = PyUnicode_DecodeUTF8(copy, (Py_ssize_t)len, "strict");
    free(copy);
    return r;
}

static PyObject *map_delete(PyObject *m, PyObject *const *args, Py_ssize_t nargs) {
    (void)m;
    NEED_ARGS(2);
    const char *name, *key;
    Py_ssize_t n, kn;
    if (str_arg(args[0], &name, &n) || str_arg(args[1], &key, &kn))
        return NULL;
    pthread_mutex_lock(&lock);
    object_t *o = get_object('m', name, (size_t)n, 0);
    item_t *it = o ? fa__map_del(&o->items, key, (size_t)kn) : NULL;
    pthread_mutex_unlock(&lock);
    if (it) {
        free(it->key);
        free(it->value);
        free(it);
    }
    return PyBool_FromLong(it != NULL);
}

/* len() of the set or map named by args[0]. */
static PyObject *count_of(char kind, PyObject *const *args, Py_ssize_t nargs) {
    NEED_ARGS(1);
    const char *name;
    Py_ssize_t n;
    if (str_arg(args[0], &name, &n))
        return NULL;
    pthread_mutex_lock(&lock);
    object_t *o = get_object(kind, name, (size_t)n, 0);
    size_t count = o ? (kind == 's' ? o->members.count : o->items.count) : 0;
    pthread_mutex_unlock(&lock);
    return PyLong_FromSize_t(count);
}

/* The members of a set (list of str) or the items of a map (list of (key, value) tuples). */
static PyObject *items_of(char kind, PyObject *const *args, Py_ssize_t nargs) {
    NEED_ARGS(1);
    const char *name;
    Py_ssize_t n;
    if (str_arg(args[0], &name, &n))
        return NULL;
    snapshot_t s;
    if (snapshot(kind, name, (size_t)n, &s)) {
        snapshot_free(&s);
        return PyErr_NoMemory();
    }
    PyObject *list = PyList_New((Py_ssize_t)s.n);
    for (size_t i = 0; list && i < s.n; i++) {
        PyObject *v = kind == 's'
                          ? PyUnicode_DecodeUTF8(s.keys[i], (Py_ssize_t)s.klens[i], "strict")
                          : Py_BuildValue("(s#s#)", s.keys[i], (Py_ssize_t)s.klens[i], s.values[i],
                                          (Py_ssize_t)s.vlens[i]);
        if (!v) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, v);
    }
    snapshot_free(&s);
    return list;
}

static PyObject *set_len(PyObject *m, PyObject *const *a, Py_ssize_t n) {
    (void)m;
    return count_of('s', a, n);
}
static PyObject *set_items(PyObject *m, PyObject *const *a, Py_ssize_t n) {
    (void)m;
    return items_of('s', a, n);
}
static PyObject *map_len(PyObject *m, PyObject *const *a, Py_ssize_t n) {
    (void)m;
    return count_of('m', a, n);
}
static PyObject *map_items(PyObject *m, PyObject *const *a, Py_ssize_t n) {
    (void)m;
    return items_of('m', a, n);
}

#define FASTCALL(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL
PyMethodDef fa__py_shared_methods[] = {
    {"shared_counter_add", FASTCALL(counter_add), "shared_counter_add(name, delta) -> int"},
    {"shared_counter_get", FASTCALL(counter_get), "shared_counter_get(name) -> int"},
    {"shared_set_add", FASTCALL(set_add), "shared_set_add(name, value_json) -> bool"},
    {"shared_set_discard", FASTCALL(set_discard), "shared_set_discard(name, value_json) -> bool"},
    {"shared_set_contains", FASTCALL(set_contains), "shared_set_contains(name, json) -> bool"},
    {"shared_set_len", FASTCALL(set_len), "shared_set_len(name) -> int"},
    {"shared_set_items", FASTCALL(set_items), "shared_set_items(name) -> list[str]"},
    {"shared_map_set", FASTCALL(map_set), "shared_map_set(name, key, value_json)"},
    {"shared_map_get", FASTCALL(map_get), "shared_map_get(name, key) -> str | None"},
    {"shared_map_delete", FASTCALL(map_delete), "shared_map_delete(name, key) -> bool"},
    {"shared_map_len", FASTCALL(map_len), "shared_map_len(name) -> int"},
    {"shared_map_items", FASTCALL(map_items), "shared_map_items(name) -> list[tuple[str,str]]"},
    {NULL, NULL, 0, NULL}};

void fa__py_shared_free_all(void) {
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < objects.cap; i++) {
        object_t *o = objects.slots[i].key ? objects.slots[i].value : NULL;
        if (!o)
            continue;
        for (size_t j = 0; j < o->members.cap; j++)
            if (o->members.slots[j].key)
                free(o->members.slots[j].value);
        for (size_t j = 0; j < o->items.cap; j++) {
            item_t *it = o->items.slots[j].key ? o->items.slots[j].value : NULL;
            if (it) {
                free(it->key);
                free(it->value);
                free(it);
            }
        }
        fa__map_free(&o->members);
        fa__map_free(&o->items);
        free(o->key);
        free(o);
    }
    fa__map_free(&objects);
    pthread_mutex_unlock(&lock);
}
