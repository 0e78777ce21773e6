/* mcp/jsonrpc.h: the JSON-RPC 2.0 envelope (https://www.jsonrpc.org/specification), as MCP uses it.
 *
 * Messages are parsed once, into jansson values, by core/json_parse.c (which accepts what
 * json_loadb with JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL accepts, at a third of
 * the cost) with the nesting limit enforced while parsing; fa__rpc_classify
 * then sorts a parsed value into request, notification, response or invalid, with a reason for the
 * invalid ones. Replies are written as text straight into an output buffer:
 * `{"jsonrpc":"2.0","id":<id>,"result":<result>}` or
 * `...,"error":{"code":c,"message":m[,"data":d]}}`, never with a newline.
 *
 * MCP narrows JSON-RPC: ids are strings or integers, never null (basic/index 1.2); params are
 * objects for every MCP method. Pure functions; any thread.
 */
#ifndef FA_MCP_JSONRPC_H
#define FA_MCP_JSONRPC_H

#include <jansson.h>

#include "core/buf.h"
#include "fasterapi/mcp.h"

typedef enum {
    FA_RPC_REQUEST = 1,
    FA_RPC_NOTIFICATION,
    FA_RPC_RESPONSE,
    FA_RPC_INVALID,         /* answer with -32600 and the id (or null) */
    FA_RPC_INVALID_RESPONSE /* response-shaped but malformed: log it, never answer a response */
} fa__rpc_kind_t;

typedef struct {
    fa__rpc_kind_t kind;
    json_t *id;         /* borrowed; string or integer; NULL for notifications or unreadable ids */
    const char *method; /* borrowed; requests and notifications */
    json_t *params;     /* borrowed; NULL when absent */
    json_t *result;     /* borrowed; responses */
    json_t *error;      /* borrowed; responses */
    const char *why;    /* the invalid kinds: static text, or text inside msg */
    int code;           /* the invalid kinds: the JSON-RPC error code to answer with, 0 for
                           the default (-32600); -32602 for an out-of-range number */
} fa__rpc_msg_t;

/* Classifies a parsed message (borrowed). Never fails. */
void fa__rpc_classify(json_t *msg, fa__rpc_msg_t *out);

/* Deepest nesting ever parsed, whatever max_depth is configured: when a message is over the
 * configured limit it is parsed again up to this cap to find its id for the error reply. The
 * same as jansson's JSON_PARSER_MAX_DEPTH. */
#define FA_RPC_PARSE_DEPTH_CAP 2048

/* Parses one message. On success returns the new value (caller owns it), *code 0. On failure
 * returns NULL, sets *code (FA_EJSON, FA_ELIMIT when nested deeper than max_depth, FA_ENOMEM) and
 * writes the detail ("line 1 column 7: ...") into why[0..why_size).
 *
 * One exception, so that the client gets an answer to its request rather than -32700 with id
 * null (JSON allows any number; a 64-bit integer or a double cannot hold 1e400 or 2^64): a
 * request or notification object (or such an element of a batch) that is valid but for an
 * out-of-range number is returned with *code FA_ERANGE and the detail in why, the number built
 * as null and the object marked so that fa__rpc_classify reports it FA_RPC_INVALID (or
 * FA_RPC_INVALID_RESPONSE) with code -32602, its id, and why = "PATH: what" naming the member
 * ("params.arguments.n: integer too big for a 64-bit value"). The mark replaces the "jsonrpc"
 * member with a string that starts with the byte 0xFF, which no parsed message can hold
 * (strings are validated UTF-8), so classify tells it apart at no cost to valid messages. */
json_t *fa__rpc_parse(const char *text, size_t len, int max_depth, int *code, char *why,
                      size_t why_size);

/* Appends the id as JSON text: the integer, the quoted string, or null when id is NULL. */
int fa__rpc_write_id(fa__buf_t *b, const json_t *id);

/* Append a complete response (no newline). id_text is JSON text ("7", "\"a\"", "null"). The
 * _raw variant splices already-serialised result JSON. `data` is borrowed and may be NULL.
 * On failure b->len is restored and FA_ENOMEM/FA_ELIMIT returned. */
int fa__rpc_write_result(fa__buf_t *b, const char *id_text, size_t id_len, const json_t *result);
int fa__rpc_write_result_raw(fa__buf_t *b, const char *id_text, size_t id_len, const char *raw,
                             size_t raw_len);
int fa__rpc_write_error(fa__buf_t *b, const char *id_text, size_t id_len, int code,
                        const char *message, const json_t *data);
/* Appends a notification {"jsonrpc":"2.0","method":m,"params":p}; params borrowed, may be NULL. */
int fa__rpc_write_notification(fa__buf_t *b, const char *method, const json_t *params);

#endif
