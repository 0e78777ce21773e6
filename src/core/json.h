/* core/json.h: our JSON writer and a byte-level nesting scan, next to jansson's parser.
 *
 * Why our own writer: responses are assembled as text (`{"jsonrpc":"2.0","id":` + id + ...), the
 * cached tools/list page is spliced in verbatim, and reals are written in their shortest
 * round-trip form (0.1, not jansson's 0.10000000000000001). Output is compact, keys keep
 * insertion order, and it never contains a raw newline (stdio framing depends on that).
 * Pure functions; any thread.
 */
#ifndef FA_CORE_JSON_H
#define FA_CORE_JSON_H

#include <jansson.h>

#include "core/buf.h"

/* Deepest structure fa__json_write will recurse into (C tools can build anything). */
#define FA_JSON_WRITE_MAX_DEPTH 1000

/* Appends the compact text of v. Returns 0, FA_ENOMEM, or FA_ELIMIT (deeper than
 * FA_JSON_WRITE_MAX_DEPTH). On error b->len is unspecified but b stays valid. */
int fa__json_write(fa__buf_t *b, const json_t *v);

/* Appends a JSON string literal ("..." with escapes) for len bytes of UTF-8 text. */
int fa__json_write_string(fa__buf_t *b, const char *s, size_t len);

/* Appends the shortest text that reads back as exactly d (NaN/Inf are written as null). */
int fa__json_write_real(fa__buf_t *b, double d);

/* Serialises v to a new malloc'd NUL-terminated string (compact); NULL on failure. */
char *fa__json_dumps(const json_t *v, size_t *len);

#endif
