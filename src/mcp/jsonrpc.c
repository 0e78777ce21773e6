/* jsonrpc.c: JSON-RPC 2.0 envelope validation and reply writing (see jsonrpc.h). */
#include "mcp/jsonrpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/json_parse.h"
#include "fasterapi/error.h"

static int valid_id(const json_t *id) {
    return json_is_string(id) || json_is_integer(id);
}

/* The mark fa__rpc_parse leaves on a message with an out-of-range number (see jsonrpc.h). */
#define RANGE_MARK '\xff'

static int range_marked(const json_t *version) {
    return json_is_string(version) && json_string_value(version)[0] == RANGE_MARK;
}

void fa__rpc_classify(json_t *msg, fa__rpc_msg_t *out) {
    memset(out, 0, sizeof *out);
    out->kind = FA_RPC_INVALID;
    if (!json_is_object(msg)) {
        out->why = json_is_array(msg) ? "a batch must not be empty or nested"
                                      : "a message must be a JSON object";
        return;
    }
    json_t *id = json_object_get(msg, "id");
    json_t *method = json_object_get(msg, "method");
    json_t *result = json_object_get(msg, "result");
    json_t *error = json_object_get(msg, "error");
    json_t *version = json_object_get(msg, "jsonrpc");

    if (range_marked(version)) {
        out->kind = !method && (result || error) ? FA_RPC_INVALID_RESPONSE : FA_RPC_INVALID;
        out->id = valid_id(id) ? id : NULL;
        out->why = json_string_value(version) + 1;
        out->code = FA_RPC_INVALID_PARAMS;
        return;
    }
    if (!method && (result || error)) {
        /* Response-shaped: an answer to one of our server-to-client requests. JSON-RPC allows an
         * error response with id null when the request id could not be read. */
        out->kind = FA_RPC_INVALID_RESPONSE;
        out->result = result;
        out->error = error;
        if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0)
            out->why = "jsonrpc must be \"2.0\"";
        else if (result && error)
            out->why = "a response must not carry both result and error";
        else if (!id || !(valid_id(id) || (error && json_is_null(id))))
            out->why = "a response needs the id of the request it answers";
        else if (error &&
                 (!json_is_object(error) || !json_is_integer(json_object_get(error, "code")) ||
                  !json_is_string(json_object_get(error, "message"))))
            out->why = "error must be an object with an integer code and a string message";
        else {
            out->kind = FA_RPC_RESPONSE;
            out->id = valid_id(id) ? id : NULL;
        }
        return;
    }
    if (id && !valid_id(id)) {
        out->why = json_is_null(id) ? "id must not be null (MCP requires a string or an integer)"
                                    : "id must be a string or an integer";
        return;
    }
    out->id = id;
    if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0) {
        out->why = "jsonrpc must be \"2.0\"";
        return;
    }
    if (!method) {
        out->why = "missing method";
        return;
    }
    if (!json_is_string(method)) {
        out->why = "method must be a string";
        return;
    }
    if (result || error) {
        out->why = "a request must not carry result or error";
        return;
    }
    json_t *params = json_object_get(msg, "params");
    if (params && !json_is_object(params) && !json_is_array(params)) {
        out->why = "params must be an object or an array";
        return;
    }
    out->method = json_string_value(method);
    out->params = params;
    out->kind = id ? FA_RPC_REQUEST : FA_RPC_NOTIFICATION;
}

/* After a strict parse failed with FA_ERANGE only: parse again with the number as null and mark
 * the object holding it (the message, or the batch element its path starts with). NULL when
 * that is not an object, or the text has another error after the number. */
static json_t *parse_marked(const char *text, size_t len, int max_depth,
                            const fa__json_error_t *range, fa__json_error_t *err) {
    json_t *v = fa__json_parse_ex(text, len, max_depth, FA_JSON_RANGE_AS_NULL, NULL, err);
    json_t *target = v;
    const char *path = range->path;
    if (json_is_array(v)) {
        char *end = NULL;
        unsigned long i = path[0] == '[' ? strtoul(path + 1, &end, 10) : 0;
        target = path[0] == '[' && *end == ']' ? json_array_get(v, i) : NULL;
        path = target ? end + 1 + (end[1] == '.') : path;
    }
    char mark[sizeof range->path + sizeof range->text + 64];
    snprintf(mark, sizeof mark,
             "%c%s%s%s (JSON numbers here must fit a 64-bit integer or a double)", RANGE_MARK, path,
             path[0] ? ": " : "", range->text);
    json_t *s = json_is_object(target) ? json_stringn_nocheck(mark, strlen(mark)) : NULL;
    if (!s || json_object_set_new_nocheck(target, "jsonrpc", s) != 0) {
        json_decref(v);
        return NULL;
    }
    return v;
}

json_t *fa__rpc_parse(const char *text, size_t len, int max_depth, int *code, char *why,
                      size_t why_size) {
    fa__json_error_t err;
    json_t *v = fa__json_parse(text, len, max_depth, NULL, &err);
    *code = 0;
    if (!v) {
        *code = err.code;
        snprintf(why, why_size, "line %d column %d: %s%s%s", err.line, err.column, err.path,
                 err.path[0] ? ": " : "", err.text);
        if (err.code == FA_ERANGE) {
            fa__json_error_t later;
            v = parse_marked(text, len, max_depth, &err, &later);
            if (!v && later.code == FA_ELIMIT) {
                /* Nested too deep after the number: the nesting limit's answer (by id) wins. */
                *code = FA_ELIMIT;
                snprintf(why, why_size, "line %d column %d: %s", later.line, later.column,
                         later.text);
            } else if (!v) {
                *code = FA_EJSON; /* not a request we can answer by id: a plain parse error */
            }
        }
    }
    return v;
}

int fa__rpc_write_id(fa__buf_t *b, const json_t *id) {
    if (!id)
        return fa__buf_append(b, "null", 4);
    return fa__json_write(b, id);
}

#define HEAD "{\"jsonrpc\":\"2.0\",\"id\":"

int fa__rpc_write_result(fa__buf_t *b, const char *id_text, size_t id_len, const json_t *result) {
    size_t mark = b->len;
    int rc;
    if ((rc = fa__buf_append(b, HEAD, sizeof HEAD - 1)) ||
        (rc = fa__buf_append(b, id_text, id_len)) || (rc = fa__buf_append(b, ",\"result\":", 10)) ||
        (rc = fa__json_write(b, result)) || (rc = fa__buf_putc(b, '}'))) {
        b->len = mark;
        return rc;
    }
    return 0;
}

int fa__rpc_write_result_raw(fa__buf_t *b, const char *id_text, size_t id_len, const char *raw,
                             size_t raw_len) {
    size_t mark = b->len;
    int rc;
    if ((rc = fa__buf_reserve(b, sizeof HEAD + id_len + raw_len + 12)) ||
        (rc = fa__buf_append(b, HEAD, sizeof HEAD - 1)) ||
        (rc = fa__buf_append(b, id_text, id_len)) || (rc = fa__buf_append(b, ",\"result\":", 10)) ||
        (rc = fa__buf_append(b, raw, raw_len)) || (rc = fa__buf_putc(b, '}'))) {
        b->len = mark;
        return rc;
    }
    return 0;
}

int fa__rpc_write_error(fa__buf_t *b, const char *id_text, size_t id_len, int code,
                        const char *message, const json_t *data) {
    size_t mark = b->len;
    int rc;
    if ((rc = fa__buf_append(b, HEAD, sizeof HEAD - 1)) ||
        (rc = fa__buf_append(b, id_text, id_len)) ||
        (rc = fa__buf_appendf(b, ",\"error\":{\"code\":%d,\"message\":", code)) ||
        (rc = fa__json_write_string(b, message, strlen(message))))
        goto fail;
    if (data && ((rc = fa__buf_append(b, ",\"data\":", 8)) || (rc = fa__json_write(b, data))))
        goto fail;
    if ((rc = fa__buf_append(b, "}}", 2)))
        goto fail;
    return 0;
fail:
    b->len = mark;
    return rc;
}

int fa__rpc_write_notification(fa__buf_t *b, const char *method, const json_t *params) {
    size_t mark = b->len;
    int rc;
    if ((rc = fa__buf_append_str(b, "{\"jsonrpc\":\"2.0\",\"method\":")) ||
        (rc = fa__json_write_string(b, method, strlen(method))))
        goto fail;
    if (params &&
        ((rc = fa__buf_append(b, ",\"params\":", 10)) || (rc = fa__json_write(b, params))))
        goto fail;
    if ((rc = fa__buf_putc(b, '}')))
        goto fail;
    return 0;
fail:
    b->len = mark;
    return rc;
}
