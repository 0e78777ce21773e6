/* A C extension with legacy single-phase initialisation, like numpy or any PyO3/Cython module:
 * isolated subinterpreters refuse to import it ("does not support loading in subinterpreters"),
 * so a server that imports it must be served from the main interpreter. Built by the test
 * suite to prove the host's fallback. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *answer(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyLong_FromLong(42);
}

static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, "42"}, {NULL, NULL, 0, NULL}};

static struct PyModuleDef def = {
    PyModuleDef_HEAD_INIT, "fa_singlephase", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit_fa_singlephase(void);
PyMODINIT_FUNC PyInit_fa_singlephase(void) {
    return PyModule_Create(&def);
}
