/* Tests for src/pyhost/convert.c: every JSON type both ways, the refusals with their exact
 * messages and JSON Pointer locations, the depth limit, a random round-trip property, a
 * cross-check against Python's json module, the same conversions inside an isolated OWN_GIL
 * subinterpreter (3.12+), and a timing print (information only, never asserted).
 *
 * Each test runs in its own forked child with a fresh interpreter (checked fixture:
 * Py_InitializeEx / Py_FinalizeEx, whose result is asserted), so a test that leaves Python in a
 * bad state fails by itself and finalisation is checked once per test. */
#include "pyhost/convert.h"
#include "pyhost/pyhost_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fa_test.h"

/* ------------------------------------------------------------------------------------------ */
/* helpers                                                                                     */

static void py_setup(void) {
    Py_InitializeEx(0); /* no signal handlers; PYTHONMALLOC=malloc from ctest is honoured */
}

static void py_teardown(void) {
    ck_assert(!PyErr_Occurred());
    ck_assert_int_eq(Py_FinalizeEx(), 0);
}

/* Runs `setup` (statements, may be NULL) then evaluates `expr` in a fresh module namespace.
 * Returns a new reference; a Python error fails the test. */
static PyObject *py_eval(const char *setup, const char *expr) {
    PyObject *g = PyDict_New();
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(PyDict_SetItemString(g, "__builtins__", PyEval_GetBuiltins()), 0);
    if (setup) {
        PyObject *r = PyRun_String(setup, Py_file_input, g, g);
        if (!r)
            PyErr_Print();
        ck_assert_msg(r != NULL, "python setup failed: %s", setup);
        Py_DECREF(r);
    }
    PyObject *v = PyRun_String(expr, Py_eval_input, g, g);
    if (!v)
        PyErr_Print();
    ck_assert_msg(v != NULL, "python eval failed: %s", expr);
    Py_DECREF(g);
    return v;
}

static json_t *jparse(const char *text) {
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    ck_assert_msg(v != NULL, "bad test JSON %s: %s", text, err.text);
    return v;
}

/* repr(o) as a malloc'd UTF-8 string: shows types (True vs 1, 1 vs 1.0), -0.0 and key order. */
static char *repr_of(PyObject *o) {
    PyObject *r = PyObject_Repr(o);
    ck_assert_ptr_nonnull(r);
    const char *s = PyUnicode_AsUTF8(r);
    ck_assert_ptr_nonnull(s);
    char *copy = strdup(s);
    Py_DECREF(r);
    return copy;
}

/* json_t (given as text) -> Python, compared by repr. */
static void check_from(const char *json_text, const char *want_repr) {
    json_t *v = jparse(json_text);
    PyObject *o = fa__py_from_json(v);
    ck_assert_msg(o != NULL, "from_json failed on %s", json_text);
    ck_assert(!PyErr_Occurred());
    char *r = repr_of(o);
    ck_assert_msg(strcmp(r, want_repr) == 0, "%s -> %s, want %s", json_text, r, want_repr);
    free(r);
    Py_DECREF(o);
    json_decref(v);
}

/* Python expression -> json_t, compared with json_equal (types strict: 1 != 1.0 != true). */
static void check_to(const char *setup, const char *expr, const char *want_json) {
    PyObject *o = py_eval(setup, expr);
    char why[256];
    json_t *j = fa__py_to_json(o, why, sizeof why);
    ck_assert_msg(j != NULL, "%s: %s", expr, why);
    ck_assert(!PyErr_Occurred());
    json_t *want = jparse(want_json);
    char *got = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    ck_assert_msg(json_equal(j, want), "%s -> %s, want %s", expr, got, want_json);
    free(got);
    json_decref(want);
    json_decref(j);
    Py_DECREF(o);
}

/* Python expression -> refused with exactly `want_why`, and no exception left behind. */
static void check_refused(const char *setup, const char *expr, const char *want_why) {
    PyObject *o = py_eval(setup, expr);
    char why[256];
    memset(why, 'X', sizeof why);
    json_t *j = fa__py_to_json(o, why, sizeof why);
    ck_assert_msg(j == NULL, "%s was converted", expr);
    ck_assert_msg(strcmp(why, want_why) == 0, "%s: why = \"%s\", want \"%s\"", expr, why, want_why);
    ck_assert_msg(!PyErr_Occurred(), "%s left an exception set", expr);
    Py_DECREF(o);
}

/* Keys of a json object joined with ',' (insertion order). */
static void json_keys(const json_t *o, char *out, size_t size) {
    out[0] = '\0';
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)(uintptr_t)o, k, v) {
        (void)v;
        if (out[0])
            strncat(out, ",", size - strlen(out) - 1);
        strncat(out, k, size - strlen(out) - 1);
    }
}

/* Strict structural equality: like json_equal, but key order matters and keys may hold NUL
 * (jansson 2.14's json_equal looks keys up as C strings, so it calls {"k\0x": 1} unequal to
 * itself). */
static int json_same(const json_t *a, const json_t *b) {
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!json_same(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    if (!json_is_object(a))
        return json_equal(a, b);
    void *ia = json_object_iter((json_t *)(uintptr_t)a);
    void *ib = json_object_iter((json_t *)(uintptr_t)b);
    for (; ia && ib; ia = json_object_iter_next((json_t *)(uintptr_t)a, ia),
                     ib = json_object_iter_next((json_t *)(uintptr_t)b, ib)) {
        size_t la = json_object_iter_key_len(ia), lb = json_object_iter_key_len(ib);
        if (la != lb || memcmp(json_object_iter_key(ia), json_object_iter_key(ib), la) != 0)
            return 0;
        if (!json_same(json_object_iter_value(ia), json_object_iter_value(ib)))
            return 0;
    }
    return ia == NULL && ib == NULL;
}

/* n nested arrays (or {"a": ...} objects), the innermost empty. */
static json_t *nested_json(int n, int objects) {
    json_t *root = objects ? json_object() : json_array();
    json_t *cur = root;
    for (int i = 1; i < n; i++) {
        json_t *next = objects ? json_object() : json_array();
        if (objects)
            json_object_set_new(cur, "a", next);
        else
            json_array_append_new(cur, next);
        cur = next;
    }
    return root;
}

static int json_depth(const json_t *v) {
    int d = 0;
    while (json_is_array(v) || json_is_object(v)) {
        d++;
        v = json_is_array(v) ? json_array_get(v, 0) : json_object_get(v, "a");
    }
    return d;
}

/* Appends the UTF-8 of code point cp. */
static size_t put_utf8(char *s, uint32_t cp) {
    if (cp < 0x80) {
        s[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        s[0] = (char)(0xC0 | cp >> 6);
        s[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        s[0] = (char)(0xE0 | cp >> 12);
        s[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        s[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    s[0] = (char)(0xF0 | cp >> 18);
    s[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    s[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    s[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A random string over all of Unicode (NUL, every UTF-8 length, astral planes; no surrogates),
 * written into buf (>= 4 * 16 bytes); returns its length and the code point count in *cps. */
static size_t random_unicode(uint64_t *st, char *buf, size_t *cps) {
    size_t n = 0, count = fa_test_rand(st) % 16;
    for (size_t i = 0; i < count; i++) {
        uint64_t r = fa_test_rand(st);
        uint32_t cp;
        switch (r % 4) {
        case 0:
            cp = (uint32_t)(r >> 8) % 0x80;
            break;
        case 1:
            cp = 0x80 + (uint32_t)(r >> 8) % (0x800 - 0x80);
            break;
        case 2:
            cp = 0x800 + (uint32_t)(r >> 8) % (0x10000 - 0x800);
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp -= 0x1000;
            break;
        default:
            cp = 0x10000 + (uint32_t)(r >> 8) % (0x110000 - 0x10000);
            break;
        }
        n += put_utf8(buf + n, cp);
    }
    *cps = count;
    return n;
}

/* Round trip of `count` random values; returns the number of failures (no ck_assert, so it can
 * run inside a subinterpreter and report afterwards). */
static int round_trip_random(uint64_t seed, int count, char *first_failure, size_t size) {
    uint64_t st = seed;
    int bad = 0;
    for (int i = 0; i < count; i++) {
        json_t *v = fa_test_random_json(&st, 0);
        PyObject *o = fa__py_from_json(v);
        char why[256] = "";
        json_t *back = o ? fa__py_to_json(o, why, sizeof why) : NULL;
        if (!back || !json_same(v, back) || PyErr_Occurred()) {
            if (bad++ == 0) {
                char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
                snprintf(first_failure, size, "value %d %.150s: %s", i, text ? text : "?",
                         o ? why : "from_json failed");
                free(text);
            }
            PyErr_Clear();
        }
        json_decref(back);
        Py_XDECREF(o);
        json_decref(v);
    }
    return bad;
}

/* ------------------------------------------------------------------------------------------ */
/* json_t -> PyObject                                                                          */

START_TEST(test_from_json_scalars) {
    check_from("null", "None");
    check_from("true", "True");
    check_from("false", "False");
    check_from("0", "0");
    check_from("-42", "-42");
    check_from("9223372036854775807", "9223372036854775807");
    check_from("-9223372036854775808", "-9223372036854775808");
    check_from("1.5", "1.5");
    check_from("1.0", "1.0"); /* stays a float */
    check_from("-0.0", "-0.0");
    check_from("1.7976931348623157e308", "1.7976931348623157e+308");
    check_from("-1.7976931348623157e308", "-1.7976931348623157e+308");
    check_from("5e-324", "5e-324");
    check_from("2.2250738585072014e-308", "2.2250738585072014e-308");
    check_from("\"\"", "''");
    check_from("\"hi \\\"there\\\"\\n\"", "'hi \"there\"\\n'");
}
END_TEST

START_TEST(test_from_json_containers_keep_order) {
    check_from("[]", "[]");
    check_from("{}", "{}");
    check_from("[[], {}, [[]]]", "[[], {}, [[]]]");
    check_from("{\"z\": 1, \"a\": 2, \"m\": 3, \"b\": 4}", "{'z': 1, 'a': 2, 'm': 3, 'b': 4}");
    check_from("{\"a\": [1, 2.5, \"x\", null, true, false, {\"b\": {}}]}",
               "{'a': [1, 2.5, 'x', None, True, False, {'b': {}}]}");
    /* A JSON 1 stays an int and true stays a bool, distinct even though they compare equal. */
    json_t *v = jparse("[1, true, 0, false]");
    PyObject *o = fa__py_from_json(v);
    ck_assert_ptr_nonnull(o);
    ck_assert(PyLong_CheckExact(PyList_GET_ITEM(o, 0)));
    ck_assert_ptr_eq(PyList_GET_ITEM(o, 1), Py_True);
    ck_assert(PyLong_CheckExact(PyList_GET_ITEM(o, 2)));
    ck_assert_ptr_eq(PyList_GET_ITEM(o, 3), Py_False);
    Py_DECREF(o);
    json_decref(v);
}
END_TEST

START_TEST(test_from_json_embedded_nul_in_strings_and_keys) {
    json_t *v = json_object();
    json_object_setn_new(v, "k\0ey", 4, json_stringn("a\0b", 3));
    PyObject *o = fa__py_from_json(v);
    ck_assert_ptr_nonnull(o);
    char *r = repr_of(o);
    ck_assert_str_eq(r, "{'k\\x00ey': 'a\\x00b'}");
    free(r);
    Py_DECREF(o);
    json_decref(v);
}
END_TEST

START_TEST(test_from_json_unicode) {
    check_from("\"h\\u00e9llo \\u65e5\\u672c\"", "'h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac'");
    /* An astral character is one code point in Python (not a surrogate pair). */
    json_t *v = json_string("\xf0\x9f\x98\x80-\xf4\x8f\xbf\xbf"); /* U+1F600, U+10FFFF */
    PyObject *o = fa__py_from_json(v);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(PyUnicode_GetLength(o), 3);
    ck_assert_uint_eq(PyUnicode_ReadChar(o, 0), 0x1F600);
    ck_assert_uint_eq(PyUnicode_ReadChar(o, 2), 0x10FFFF);
    Py_DECREF(o);
    json_decref(v);
}
END_TEST

START_TEST(test_from_json_invalid_utf8_from_nocheck_string) {
    json_t *v = json_stringn_nocheck("\xff", 1);
    ck_assert_ptr_null(fa__py_from_json(v));
    ck_assert(PyErr_ExceptionMatches(PyExc_UnicodeDecodeError));
    PyErr_Clear();
    json_decref(v);
}
END_TEST

START_TEST(test_from_json_depth_limit) {
    for (int objects = 0; objects <= 1; objects++) {
        json_t *ok = nested_json(FA_PY_CONVERT_MAX_DEPTH, objects);
        PyObject *o = fa__py_from_json(ok);
        ck_assert_ptr_nonnull(o);
        int d = 0;
        for (PyObject *cur = o; cur; d++) {
            if (objects)
                cur = PyDict_GetItemString(cur, "a"); /* borrowed, NULL at the innermost */
            else
                cur = PyList_GET_SIZE(cur) ? PyList_GET_ITEM(cur, 0) : NULL;
        }
        ck_assert_int_eq(d, FA_PY_CONVERT_MAX_DEPTH);
        Py_DECREF(o);
        json_decref(ok);

        json_t *deep = nested_json(FA_PY_CONVERT_MAX_DEPTH + 1, objects);
        ck_assert_ptr_null(fa__py_from_json(deep));
        ck_assert(PyErr_ExceptionMatches(PyExc_RecursionError));
        PyErr_Clear();
        json_decref(deep);
    }
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* PyObject -> json_t                                                                          */

START_TEST(test_to_json_scalars) {
    check_to(NULL, "None", "null");
    check_to(NULL, "True", "true");
    check_to(NULL, "False", "false");
    check_to(NULL, "[True, 1, False, 0]", "[true, 1, false, 0]"); /* bool before int */
    check_to(NULL, "0", "0");
    check_to(NULL, "-42", "-42");
    check_to(NULL, "2**63 - 1", "9223372036854775807");
    check_to(NULL, "-2**63", "-9223372036854775808");
    check_to(NULL, "1.5", "1.5");
    check_to(NULL, "1.0", "1.0"); /* stays a real */
    check_to(NULL, "1.7976931348623157e308", "1.7976931348623157e308");
    check_to(NULL, "5e-324", "5e-324");
    check_to(NULL, "'x'", "\"x\"");
    check_to(NULL, "''", "\"\"");

    /* -0.0 keeps its sign (json_equal would not notice). */
    PyObject *o = PyFloat_FromDouble(-0.0);
    char why[128];
    json_t *j = fa__py_to_json(o, why, sizeof why);
    ck_assert(json_is_real(j) && json_real_value(j) == 0.0 && signbit(json_real_value(j)));
    json_decref(j);
    Py_DECREF(o);
}
END_TEST

START_TEST(test_to_json_integer_range) {
    check_refused(NULL, "2**63", "integer 9223372036854775808 is out of range (64-bit)");
    check_refused(NULL, "-2**63 - 1", "integer -9223372036854775809 is out of range (64-bit)");
    check_refused(NULL, "{'count': 2**100}",
                  "/count: integer 1267650600228229401496703205376 is out of range (64-bit)");
    check_refused(NULL, "[-10**100]",
                  "/0: integer -10000000000000000000000... (101 digits) is out of range (64-bit)");
}
END_TEST

START_TEST(test_to_json_non_finite_floats) {
    check_refused(NULL, "{'x': float('nan')}", "/x: float nan is not valid JSON");
    check_refused(NULL, "{'x': [1, float('inf')]}", "/x/1: float inf is not valid JSON");
    check_refused(NULL, "-float('inf')", "float -inf is not valid JSON");
}
END_TEST

START_TEST(test_to_json_strings) {
    check_to(NULL, "'a\\x00b'", "\"a\\u0000b\"");
    check_to(NULL, "'h\\u00e9 \\u65e5 \\U0001F600 \\U0010FFFF'",
             "\"h\\u00e9 \\u65e5 \\ud83d\\ude00 \\udbff\\udfff\"");

    PyObject *o = py_eval(NULL, "'\\U0001F600\\x00'");
    char why[128];
    json_t *j = fa__py_to_json(o, why, sizeof why);
    ck_assert_ptr_nonnull(j);
    ck_assert_uint_eq(json_string_length(j), 5);
    ck_assert_mem_eq(json_string_value(j), "\xf0\x9f\x98\x80\0", 5);
    json_decref(j);
    Py_DECREF(o);

    /* A key with NUL (jansson's text parser refuses those, so compare by hand). */
    o = py_eval(NULL, "{'k\\x00': 1}");
    j = fa__py_to_json(o, why, sizeof why);
    ck_assert_ptr_nonnull(j);
    void *it = json_object_iter(j);
    ck_assert_ptr_nonnull(it);
    ck_assert_uint_eq(json_object_iter_key_len(it), 2);
    ck_assert_mem_eq(json_object_iter_key(it), "k\0", 2);
    json_decref(j);
    Py_DECREF(o);

    check_refused(NULL, "{'x': '\\ud800'}", "/x: str contains a lone surrogate");
    /* Python does not pair surrogates written separately. */
    check_refused(NULL, "['ok', 'a\\ud83d\\ude00']", "/1: str contains a lone surrogate");
    check_refused(NULL, "{'d': {'\\udfff': 1}}", "/d: dict key contains a lone surrogate");
}
END_TEST

START_TEST(test_to_json_containers_keep_order) {
    check_to(NULL, "[]", "[]");
    check_to(NULL, "{}", "{}");
    check_to(NULL, "()", "[]");
    check_to(NULL, "(1, 'a', (None,))", "[1, \"a\", [null]]");
    check_to(NULL, "{'a': [1, 2.5, 'x', None, True, False, {'b': {}}, ()]}",
             "{\"a\": [1, 2.5, \"x\", null, true, false, {\"b\": {}}, []]}");

    PyObject *o = py_eval("d = {'z': 1, 'a': 2, 'm': 3}\nd['b'] = 4\ndel d['a']\nd['a'] = 5", "d");
    char why[128], keys[64];
    json_t *j = fa__py_to_json(o, why, sizeof why);
    ck_assert_ptr_nonnull(j);
    json_keys(j, keys, sizeof keys);
    ck_assert_str_eq(keys, "z,m,b,a");
    json_decref(j);
    Py_DECREF(o);
}
END_TEST

static const char *const enums_py = "import enum, collections\n"
                                    "class Color(enum.IntEnum):\n"
                                    "    RED = 1\n"
                                    "    BIG = 2**62\n"
                                    "    HUGE = 2**64\n"
                                    "class Mode(str, enum.Enum):\n"
                                    "    FAST = 'fast'\n"
                                    "class Perm(enum.IntFlag):\n"
                                    "    R = 4\n"
                                    "    W = 2\n"
                                    "class F(float): pass\n"
                                    "class L(list): pass\n"
                                    "class K(str): pass\n"
                                    "Point = collections.namedtuple('Point', 'x y')\n";

START_TEST(test_to_json_subclasses_convert_as_base) {
    check_to(enums_py, "Color.RED", "1");
    check_to(enums_py, "[Color.BIG, Perm.R | Perm.W]", "[4611686018427387904, 6]");
    check_to(enums_py, "{'mode': Mode.FAST}", "{\"mode\": \"fast\"}");
    check_to(enums_py, "F(2.5)", "2.5");
    check_to(enums_py, "L([1, L([2])])", "[1, [2]]");
    check_to(enums_py, "{K('key'): K('value')}", "{\"key\": \"value\"}");
    check_to(enums_py, "Point(1, y=[2, 3])", "[1, [2, 3]]");
    check_to(enums_py, "collections.defaultdict(list, a=[1])", "{\"a\": [1]}");
    check_to(enums_py, "{Mode.FAST: 1}", "{\"fast\": 1}"); /* str Enum keys too */
    check_refused(enums_py, "{'c': Color.HUGE}",
                  "/c: integer 18446744073709551616 is out of range (64-bit)");

    /* OrderedDict order after move_to_end lives outside the dict storage. */
    PyObject *o = py_eval(enums_py, "collections.OrderedDict(a=1, b=2, c=3)");
    PyObject *r = PyObject_CallMethod(o, "move_to_end", "s", "a");
    ck_assert_ptr_nonnull(r);
    Py_DECREF(r);
    char why[128], keys[64];
    json_t *j = fa__py_to_json(o, why, sizeof why);
    ck_assert_msg(j != NULL, "%s", why);
    json_keys(j, keys, sizeof keys);
    ck_assert_str_eq(keys, "b,c,a");
    json_decref(j);
    Py_DECREF(o);
}
END_TEST

START_TEST(test_to_json_refuses_non_json_types) {
    const char *py = "class Foo: pass\n"
                     "class Bad(dict):\n"
                     "    def items(self): raise ValueError('boom')\n"
                     "class Odd(dict):\n"
                     "    def items(self): return [1]\n";
    check_refused(py, "{'content': [{'type': 'image', 'data': b'\\x89PNG'}]}",
                  "/content/0/data: bytes is not JSON (encode it with base64)");
    check_refused(py, "[bytearray(b'x')]", "/0: bytearray is not JSON (encode it with base64)");
    check_refused(py, "{'m': memoryview(b'x')}",
                  "/m: memoryview is not JSON (encode it with base64)");
    check_refused(py, "{'s': {1, 2}}", "/s: set is not JSON (use a list)");
    check_refused(py, "frozenset()", "frozenset is not JSON (use a list)");
    check_refused(py, "{'o': object()}", "/o: object is not JSON");
    check_refused(py, "{'o': [Foo()]}", "/o/0: Foo is not JSON");
    check_refused(py, "1j", "complex is not JSON");
    check_refused(py, "{'f': len}", "/f: builtin_function_or_method is not JSON");
    check_refused(py, "{'x': Bad(a=1)}", "/x: items() failed: ValueError: boom");
    check_refused(py, "Odd(a=1)", "Odd.items() did not return (key, value) pairs");
}
END_TEST

START_TEST(test_to_json_pointer_escapes_keys) {
    check_refused(NULL, "{'a/b': {'c~d': [0, b'x']}}",
                  "/a~1b/c~0d/1: bytes is not JSON (encode it with base64)");
    check_refused(NULL, "{'': {'~1': {'h\\u00e9 \\U0001F600': set()}}}",
                  "//~01/h\xc3\xa9 \xf0\x9f\x98\x80: set is not JSON (use a list)");
    check_refused(NULL, "{'a\\x00b': b''}",
                  "/a\\u0000b: bytes is not JSON (encode it with base64)");
}
END_TEST

START_TEST(test_to_json_non_str_keys) {
    check_refused(NULL, "{'k': {1: 'x'}}", "/k: dict keys must be str, got int");
    check_refused(NULL, "{None: 1}", "dict keys must be str, got NoneType");
    check_refused(NULL, "[{'a': 1}, {True: 1}]", "/1: dict keys must be str, got bool");
    check_refused(NULL, "{(1, 2): 1}", "dict keys must be str, got tuple");
    check_refused(NULL, "{b'k': 1}", "dict keys must be str, got bytes");
}
END_TEST

START_TEST(test_to_json_depth_limit) {
    char setup[128];
    /* 512 nested lists convert; one more does not, in lists, dicts and tuples. */
    snprintf(setup, sizeof setup, "x = []\nfor _ in range(%d): x = [x]",
             FA_PY_CONVERT_MAX_DEPTH - 1);
    PyObject *o = py_eval(setup, "x");
    char why[128];
    json_t *j = fa__py_to_json(o, why, sizeof why);
    ck_assert_msg(j != NULL, "%s", why);
    ck_assert_int_eq(json_depth(j), FA_PY_CONVERT_MAX_DEPTH);
    json_decref(j);
    Py_DECREF(o);

    snprintf(setup, sizeof setup, "x = []\nfor _ in range(%d): x = [x]", FA_PY_CONVERT_MAX_DEPTH);
    check_refused(setup, "x", "nesting deeper than 512 levels");
    snprintf(setup, sizeof setup, "x = {}\nfor _ in range(%d): x = {'a': x}",
             FA_PY_CONVERT_MAX_DEPTH);
    check_refused(setup, "x", "nesting deeper than 512 levels");
    snprintf(setup, sizeof setup, "x = ()\nfor _ in range(%d): x = (x,)", FA_PY_CONVERT_MAX_DEPTH);
    check_refused(setup, "x", "nesting deeper than 512 levels");
}
END_TEST

START_TEST(test_to_json_self_referencing_containers) {
    check_refused("l = [1]\nl.append(l)", "l", "nesting deeper than 512 levels");
    check_refused("d = {}\nd['d'] = [d]", "d", "nesting deeper than 512 levels");
    /* Break the cycles now rather than leaving them to the collector at finalisation. */
    PyObject *r = py_eval("import gc", "gc.collect()");
    Py_DECREF(r);
}
END_TEST

START_TEST(test_to_json_why_buffer_edges) {
    PyObject *o = py_eval(NULL, "{'\\u00e9\\u00e9\\u00e9\\u00e9': b''}");
    /* A cut message stays NUL-terminated and valid UTF-8 (no half character), and nothing is
     * written past why_size. */
    for (size_t size = 1; size <= 56; size++) {
        char why[64];
        memset(why, 'X', sizeof why);
        ck_assert_ptr_null(fa__py_to_json(o, why, size));
        size_t n = strlen(why);
        ck_assert_uint_lt(n, size);
        ck_assert_uint_eq(why[size], 'X');
        PyObject *text = PyUnicode_DecodeUTF8(why, (Py_ssize_t)n, NULL);
        ck_assert_msg(text != NULL, "cut inside a character at size %zu", size);
        Py_DECREF(text);
        if (size == 56) /* fits */
            ck_assert_str_eq(why, "/\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9: bytes is not JSON (encode it "
                                  "with base64)");
    }
    Py_DECREF(o);

    /* A long path gives way to the reason, and says it was cut. */
    o = py_eval(NULL, "{'k' * 300: {'\\u00e9' * 100: [b'']}}");
    char why[128];
    ck_assert_ptr_null(fa__py_to_json(o, why, sizeof why));
    const char *reason = ": bytes is not JSON (encode it with base64)";
    size_t n = strlen(why), rn = strlen(reason);
    ck_assert_uint_eq(n, sizeof why - 1);
    ck_assert_str_eq(why + n - rn, reason);
    ck_assert_mem_eq(why + n - rn - 3, "...", 3);
    ck_assert_mem_eq(why, "/kkkk", 5);
    Py_DECREF(o);
    /* ... also when the cut falls inside the second key's 2-byte characters. */
    o = py_eval(NULL, "{'k' * 40: {'\\u00e9' * 100: [b'']}}");
    ck_assert_ptr_null(fa__py_to_json(o, why, sizeof why));
    n = strlen(why);
    ck_assert_str_eq(why + n - rn, reason);
    ck_assert_mem_eq(why + n - rn - 3, "...", 3);
    PyObject *text = PyUnicode_DecodeUTF8(why, (Py_ssize_t)n, NULL); /* valid UTF-8 */
    ck_assert_ptr_nonnull(text);
    Py_DECREF(text);

    /* No buffer at all: still refused, nothing written, no exception. */
    ck_assert_ptr_null(fa__py_to_json(o, NULL, 0));
    ck_assert(!PyErr_Occurred());
    Py_DECREF(o);
    ck_assert_ptr_null(fa__py_to_json(NULL, why, sizeof why));
    ck_assert_str_eq(why, "no value (NULL PyObject)");
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* properties                                                                                  */

START_TEST(test_round_trip_random_values) {
    char first[512] = "";
    int bad = round_trip_random(0x9E3779B97F4A7C15ull, 3000, first, sizeof first);
    ck_assert_msg(bad == 0, "%d of 3000 failed; first: %s", bad, first);
}
END_TEST

START_TEST(test_round_trip_random_unicode) {
    uint64_t st = 0xC0FFEEull;
    for (int i = 0; i < 2000; i++) {
        char s[64], k[64];
        size_t cps, kcps;
        size_t n = random_unicode(&st, s, &cps);
        size_t kn = random_unicode(&st, k, &kcps);
        json_t *v = json_object();
        ck_assert_int_eq(json_object_setn_new(v, k, kn, json_stringn(s, n)), 0);
        PyObject *o = fa__py_from_json(v);
        ck_assert_ptr_nonnull(o);
        Py_ssize_t pos = 0;
        PyObject *pk, *pv;
        ck_assert(PyDict_Next(o, &pos, &pk, &pv));
        ck_assert_int_eq(PyUnicode_GetLength(pk), (Py_ssize_t)kcps);
        ck_assert_int_eq(PyUnicode_GetLength(pv), (Py_ssize_t)cps);
        char why[128];
        json_t *back = fa__py_to_json(o, why, sizeof why);
        ck_assert_msg(back != NULL, "%s", why);
        ck_assert(json_same(v, back));
        Py_DECREF(o);
        json_decref(back);
        json_decref(v);
    }
}
END_TEST

/* Our conversions agree with Python's own json module in both directions. */
START_TEST(test_agrees_with_python_json_module) {
    PyObject *json_mod = PyImport_ImportModule("json");
    ck_assert_ptr_nonnull(json_mod);
    PyObject *dumps = PyObject_GetAttrString(json_mod, "dumps");
    PyObject *loads = PyObject_GetAttrString(json_mod, "loads");
    ck_assert(dumps && loads);
    uint64_t st = 42;
    for (int i = 0; i < 1000; i++) {
        json_t *v = fa_test_random_json(&st, 0);
        /* json.dumps(from_json(v)) parses back to v */
        PyObject *o = fa__py_from_json(v);
        ck_assert_ptr_nonnull(o);
        PyObject *text = PyObject_CallOneArg(dumps, o);
        ck_assert_ptr_nonnull(text);
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(text, &n);
        json_error_t err;
        json_t *parsed = json_loadb(s, (size_t)n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        ck_assert_msg(parsed != NULL, "%s: %s", s, err.text);
        ck_assert_msg(json_same(parsed, v), "json.dumps gave %s", s);
        json_decref(parsed);
        Py_DECREF(text);
        Py_DECREF(o);

        /* to_json(json.loads(jansson's text of v)) is v */
        char *jt = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        ck_assert_ptr_nonnull(jt);
        PyObject *pj = PyUnicode_FromString(jt);
        PyObject *loaded = PyObject_CallOneArg(loads, pj);
        ck_assert_msg(loaded != NULL, "json.loads refused %s", jt);
        char why[128];
        json_t *back = fa__py_to_json(loaded, why, sizeof why);
        ck_assert_msg(back != NULL, "%s: %s", jt, why);
        ck_assert_msg(json_same(back, v), "json.loads(%s)", jt);
        json_decref(back);
        Py_DECREF(loaded);
        Py_DECREF(pj);
        free(jt);
        json_decref(v);
    }
    Py_DECREF(loads);
    Py_DECREF(dumps);
    Py_DECREF(json_mod);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* isolated subinterpreter (3.12+)                                                             */

#if PY_VERSION_HEX >= 0x030C0000
/* An isolated interpreter made as the pool makes them; on return its thread state is attached
 * and the caller's (*main_ts) is detached. */
static PyThreadState *sub_begin(PyThreadState **main_ts) {
    *main_ts = PyThreadState_Get();
    char err[256];
    PyThreadState *sub = fa__py_new_isolated(*main_ts, err, sizeof err);
    if (!sub)
        ck_abort_msg("%s", err);
    return sub;
}

/* Ends the interpreter (which returns with no thread state attached, §1.3 rule 6) and
 * re-attaches the caller's. */
static void sub_end(PyThreadState *sub, PyThreadState *main_ts) {
    Py_EndInterpreter(sub);
    PyEval_RestoreThread(main_ts);
}

START_TEST(test_round_trip_in_own_gil_subinterpreter) {
    PyThreadState *main_ts;
    PyThreadState *sub = sub_begin(&main_ts);
    int in_sub = PyThreadState_GetInterpreter(sub) != PyThreadState_GetInterpreter(main_ts) &&
                 PyThreadState_Get() == sub;

    /* No ck_assert in here: a failure would leave the subinterpreter attached. */
    char first[512] = "", why[256] = "";
    int bad = round_trip_random(7, 1000, first, sizeof first);

    /* Subclasses and a refusal, with modules imported by the subinterpreter itself. */
    PyObject *g = PyDict_New();
    PyDict_SetItemString(g, "__builtins__", PyEval_GetBuiltins());
    PyObject *r = PyRun_String(enums_py, Py_file_input, g, g);
    Py_XDECREF(r);
    PyObject *o = r ? PyRun_String("{'c': Color.RED, 'm': Mode.FAST, 'p': Point(1, 2.5)}",
                                   Py_eval_input, g, g)
                    : NULL;
    json_t *j = o ? fa__py_to_json(o, why, sizeof why) : NULL;
    json_t *want = json_pack("{s:i, s:s, s:[i, f]}", "c", 1, "m", "fast", "p", 1, 2.5);
    int sub_ok = j && json_equal(j, want) && !PyErr_Occurred();
    json_decref(want);
    json_decref(j);
    Py_XDECREF(o);
    PyObject *bytes = PyBytes_FromString("x");
    j = fa__py_to_json(bytes, why, sizeof why);
    int refused_ok =
        !j && strcmp(why, "bytes is not JSON (encode it with base64)") == 0 && !PyErr_Occurred();
    Py_DECREF(bytes);
    if (PyErr_Occurred())
        PyErr_Print();
    Py_DECREF(g);

    sub_end(sub, main_ts);
    ck_assert_ptr_eq(PyThreadState_Get(), main_ts);
    ck_assert(in_sub);
    ck_assert_msg(bad == 0, "%d of 1000 failed in the subinterpreter; first: %s", bad, first);
    ck_assert_msg(sub_ok, "subclasses in the subinterpreter: %s", why);
    ck_assert(refused_ok);

    /* The main interpreter is still fine afterwards. */
    bad = round_trip_random(8, 100, first, sizeof first);
    ck_assert_msg(bad == 0, "main after sub: %s", first);
}
END_TEST
#endif

/* ------------------------------------------------------------------------------------------ */
/* timing (printed for comparison with research/subinterp.md §5.4; not asserted)               */

/* 33 bytes, like §5.4's 3-key payload, and a 170-byte tools/call `arguments` object. */
static const char small_json[] = "{\"a\":12,\"name\":\"hello\",\"c\":[1,2]}";
static const char mcp_json[] =
    "{\"query\":\"weather forecast\",\"location\":{\"city\":\"Paris\",\"country\":\"FR\","
    "\"lat\":48.8566,\"lon\":2.3522},\"days\":5,\"units\":\"metric\",\"include\":[\"hourly\","
    "\"alerts\"],\"verbose\":false}";

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void bench_payload(const char *where, const char *name, const char *text, long iters) {
    json_t *v = jparse(text);
    PyObject *o = fa__py_from_json(v);
    ck_assert_ptr_nonnull(o);
    double best_from = 1e30, best_to = 1e30;
    char why[128];
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) {
            PyObject *x = fa__py_from_json(v);
            Py_DECREF(x);
        }
        double t1 = now_ns();
        for (long i = 0; i < iters; i++) {
            json_t *x = fa__py_to_json(o, why, sizeof why);
            json_decref(x);
        }
        double t2 = now_ns();
        if ((t1 - t0) / (double)iters < best_from)
            best_from = (t1 - t0) / (double)iters;
        if ((t2 - t1) / (double)iters < best_to)
            best_to = (t2 - t1) / (double)iters;
    }
    printf("convert timing  %-7s %-22s %3zu B  json->py %7.0f ns   py->json %7.0f ns\n", where,
           name, strlen(text), best_from, best_to);
    Py_DECREF(o);
    json_decref(v);
}

static long bench_iters(void) {
    const char *e = getenv("FA_CONVERT_BENCH_ITERS");
    if (e && atol(e) > 0)
        return atol(e);
#if defined(__SANITIZE_ADDRESS__)
    return 5000;
#else
    return 100000;
#endif
}

START_TEST(test_timing_print) {
    long iters = bench_iters();
    printf("convert timing: Python %s, best of 3 x %ld iterations\n", PY_VERSION, iters);
    bench_payload("main", "3-key object", small_json, iters);
    bench_payload("main", "MCP arguments object", mcp_json, iters);
#if PY_VERSION_HEX >= 0x030C0000
    PyThreadState *main_ts;
    PyThreadState *sub = sub_begin(&main_ts);
    bench_payload("OWN_GIL", "3-key object", small_json, iters);
    bench_payload("OWN_GIL", "MCP arguments object", mcp_json, iters);
    sub_end(sub, main_ts);
#endif
    fflush(stdout);
}
END_TEST

int main(void) {
    Suite *s = suite_create("pyhost/convert");
    TCase *tc = tcase_create("convert");
    tcase_add_checked_fixture(tc, py_setup, py_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_from_json_scalars);
    tcase_add_test(tc, test_from_json_containers_keep_order);
    tcase_add_test(tc, test_from_json_embedded_nul_in_strings_and_keys);
    tcase_add_test(tc, test_from_json_unicode);
    tcase_add_test(tc, test_from_json_invalid_utf8_from_nocheck_string);
    tcase_add_test(tc, test_from_json_depth_limit);
    tcase_add_test(tc, test_to_json_scalars);
    tcase_add_test(tc, test_to_json_integer_range);
    tcase_add_test(tc, test_to_json_non_finite_floats);
    tcase_add_test(tc, test_to_json_strings);
    tcase_add_test(tc, test_to_json_containers_keep_order);
    tcase_add_test(tc, test_to_json_subclasses_convert_as_base);
    tcase_add_test(tc, test_to_json_refuses_non_json_types);
    tcase_add_test(tc, test_to_json_pointer_escapes_keys);
    tcase_add_test(tc, test_to_json_non_str_keys);
    tcase_add_test(tc, test_to_json_depth_limit);
    tcase_add_test(tc, test_to_json_self_referencing_containers);
    tcase_add_test(tc, test_to_json_why_buffer_edges);
    tcase_add_test(tc, test_round_trip_random_values);
    tcase_add_test(tc, test_round_trip_random_unicode);
    tcase_add_test(tc, test_agrees_with_python_json_module);
#if PY_VERSION_HEX >= 0x030C0000
    tcase_add_test(tc, test_round_trip_in_own_gil_subinterpreter);
#endif
    tcase_add_test(tc, test_timing_print);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
