/* pyhost/convert.h: json_t <-> PyObject, directly, with no JSON text in between.
 *
 * Why direct: a tool call's `params.arguments` is already a jansson tree (parsed once in C to
 * route the request), and the tool's return value has to become one again. Building the Python
 * objects straight from the tree costs ~0.15-0.3 us for a 3-key object, 8-10x less than
 * json.loads on the same text, and the reverse ~10x less than json.JSONEncoder
 * (research/subinterp.md §4.3, §5.4; tests/pyhost/test_convert.c prints current figures). Only the
 * arguments and the result cross; the JSON-RPC envelope never enters Python.
 *
 * Interpreters: both functions work in whatever interpreter is current on the calling thread
 * (main or an isolated OWN_GIL subinterpreter). They keep no state and cache no PyObject: every
 * object they create belongs to the current interpreter and must not be handed to another one
 * (subinterp.md §2.3). A json_t tree is interpreter-neutral and may cross threads by transfer.
 *
 * Threads: any thread that holds the current interpreter's GIL (an attached thread state). The
 * json_t passed to fa__py_from_json must not be mutated by anyone else during the call.
 *
 * Recursion is bounded by FA_PY_CONVERT_MAX_DEPTH, not by Python's recursion limit. Strings
 * built with json_stringn_nocheck that hold invalid UTF-8 make fa__py_from_json fail with
 * UnicodeDecodeError.
 *
 * fa__py_to_json details: an error in the top-level value has no location prefix ("bytes is not
 * JSON ..."), as in core schema errors; why may be NULL (or why_size 0) when no reason is wanted;
 * a cut reason stays valid UTF-8. Exact built-in types are read directly (PyDict_Next, the list's
 * storage); dict subclasses are read through items(), like json.dumps, so an OrderedDict keeps
 * its move_to_end() order. That call, and any GC pass triggered by an allocation, may run Python
 * code; the walk holds its own references, so such code cannot free what is being converted.
 */
#ifndef FA_PYHOST_CONVERT_H
#define FA_PYHOST_CONVERT_H

#include <Python.h>
#include <jansson.h>

/* Deepest nesting converted in either direction (cycles in Python containers hit it too). */
#define FA_PY_CONVERT_MAX_DEPTH 512

/* json_t -> new PyObject in the *current* interpreter (the caller holds its GIL).
 * object -> dict (insertion order kept), array -> list, string -> str (UTF-8, embedded NUL kept:
 * use json_string_length), integer -> int, real -> float, true/false -> True/False, null -> None.
 * Returns a new reference, or NULL with a Python exception set (MemoryError, RecursionError when
 * deeper than FA_PY_CONVERT_MAX_DEPTH). */
PyObject *fa__py_from_json(const json_t *v);

/* PyObject -> new json_t. dict (str keys only; str subclasses OK) -> object, list and tuple ->
 * array, str -> string, bool -> true/false (checked before int!), int -> integer (must fit
 * json_int_t, else error), float -> real (NaN/±Infinity -> error), None -> null; subclasses of
 * these (IntEnum, str Enum, OrderedDict, defaultdict, namedtuple) convert as their base type.
 * Anything else (bytes, set, custom objects, ...) is an error. On error returns NULL, writes a
 * readable reason into why[0..why_size) naming the location as a JSON Pointer, e.g.
 * "/content/0/data: bytes is not JSON (encode it with base64)" or "/count: integer
 * 1267650600228229401496703205376 is out of range (64-bit)", "/x: float nan is not valid JSON",
 * "/k: dict keys must be str, got int", "nesting deeper than 512 levels", and leaves no Python
 * exception set (it clears anything it caused). The caller holds the GIL. */
json_t *fa__py_to_json(PyObject *o, char *why, size_t why_size);

#endif
