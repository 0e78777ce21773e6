/* core/json_parse.h: a strict JSON parser (RFC 8259) that builds jansson values.
 *
 * Why not json_loadb: on the stdio benchmark's tools/call message jansson's loader costs ~1.3 us,
 * while building the same tree through jansson's API costs ~0.22 us; its character-at-a-time
 * lexer was half of the server's CPU per call. This parser scans the buffer directly, copies
 * each string once (none when it has no escapes), and bounds nesting itself. The values are
 * ordinary jansson values, so everything downstream is unchanged.
 *
 * It accepts exactly what json_loadb(JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)
 * accepts, and builds equal values (fuzz/fuzz_json_parse.c checks that differentially): any
 * value at top level, surrounding whitespace, "\u0000" in string values (not in keys), duplicate
 * keys refused, integers that do not fit json_int_t refused, reals that overflow refused (both
 * FA_ERANGE, with the member's path), UTF-8 validated, lone surrogate escapes refused.
 *
 * Pure function; any thread; no global state (numbers are read in the C locale).
 */
#ifndef FA_CORE_JSON_PARSE_H
#define FA_CORE_JSON_PARSE_H

#include <jansson.h>
#include <stddef.h>

/* Room for the member path of an out-of-range number ("params.arguments.n", "[2].id"); a
 * deeper path keeps its innermost part after a leading "...". */
#define FA_JSON_PATH_MAX 96

typedef struct {
    int code;         /* 0, FA_EJSON (syntax), FA_ERANGE (a number JSON allows but a 64-bit
                         integer or a double cannot hold), FA_ELIMIT (nesting over the limit),
                         FA_ENOMEM */
    size_t position;  /* byte offset of the error */
    int line, column; /* 1-based; column counts bytes */
    char text[120];   /* what is wrong, e.g. "unexpected character 'x'" */
    char path[FA_JSON_PATH_MAX]; /* FA_ERANGE: where the number is ("a.b[3]"; "" at the top) */
} fa__json_error_t;

/* Parses text[0..len). Returns a new value, or NULL with *err filled in. Nesting deeper than
 * max_depth (arrays/objects) fails with FA_ELIMIT; *depth (may be NULL) gets the deepest nesting
 * seen, also on success. */
json_t *fa__json_parse(const char *text, size_t len, int max_depth, int *depth,
                       fa__json_error_t *err);

/* fa__json_parse with a choice: FA_JSON_RANGE_AS_NULL builds out-of-range numbers as null
 * instead of failing (everything else is refused as usual). The JSON-RPC layer uses it, after a
 * strict parse failed with FA_ERANGE, to read the request's id and answer it (issue 9 §4). */
#define FA_JSON_RANGE_AS_NULL 1
json_t *fa__json_parse_ex(const char *text, size_t len, int max_depth, int flags, int *depth,
                          fa__json_error_t *err);

#endif
