/* mcp/schema.h: JSON Schema 2020-12 validation of tool arguments, in C, before any tool runs.
 *
 * MCP (2025-11-25, SEP-1613) makes 2020-12 the default dialect and puts input-validation failures
 * in the tool result (isError, SEP-1303) so the model can fix its call. Validating here means a
 * bad call never reaches a worker or Python. The subset covers what tool schemas use in practice
 * (and what our type-hint generator emits): type (string or list), enum, const, properties,
 * required, additionalProperties, items, prefixItems, minItems, maxItems, uniqueItems, minLength,
 * maxLength (code points), pattern is ignored, minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, multipleOf, minProperties, maxProperties, allOf, anyOf, oneOf, not, local
 * $ref ("#", "#/$defs/..", "#/definitions/.."). Other keywords (format, title, description,
 * default, examples, ...) are annotations and ignored, as 2020-12 allows.
 *
 * Pure functions on borrowed values; any thread.
 */
#ifndef FA_MCP_SCHEMA_H
#define FA_MCP_SCHEMA_H

#include <jansson.h>

#include "core/buf.h"

/* Schema and instance recursion bound (a $ref cycle cannot loop forever). */
#define FA_SCHEMA_MAX_DEPTH 128
/* Work bound for one validation, in schema/instance node visits. anyOf/oneOf over $refs can make
 * validation exponential in the instance depth (found by fuzzing: a 400-byte argument against a
 * recursive schema); real tool arguments need a few hundred steps. Exceeding it fails the call
 * with a clear message instead of burning a worker. */
#define FA_SCHEMA_MAX_STEPS 1000000

/* Checks that `schema` is usable as a tool schema: an object whose root "type" is "object", with
 * well-formed keywords and resolvable $refs, and a supported "$schema" if present. Returns 0 or
 * FA_ESCHEMA with the reason in why. */
int fa__schema_check(const json_t *schema, char *why, size_t why_size);

/* Validates instance against schema (root = schema for $ref resolution). Returns 0 when valid,
 * FA_ESCHEMA with a readable reason appended to *err ("/count: expected integer, got string"),
 * or FA_ENOMEM. */
int fa__schema_validate(const json_t *schema, const json_t *instance, fa__buf_t *err);

/* The same for tool arguments, and when they are valid, every number the schema types
 * "integer" (and not also "number") that arrived as an integral real (50.0, which 2020-12
 * accepts as an integer) is replaced by a JSON integer, so tools read it as one. */
int fa__schema_validate_args(const json_t *schema, json_t *instance, fa__buf_t *err);

#endif
