/* jsonrpc.c: JSON-RPC 2.0 envelope validation and reply writing (see jsonrpc.h). */
#include "mcp/jsonrpc.h"

#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/json_parse.h"
#include "fasterapi/error.h"

static int valid_id(const json_t *id) {
    return json_is_string(id) || json_is_integer(id);
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

json_t *fa__rpc_parse(const char *text, size_t len, int max_depth, int *code, char *why,
                      size_t why_size) {
    fa__json_error_t err;
    json_t *v = fa__json_parse(text, len, max_depth, NULL, &err);
    if (!v) {
        *code = err.code;
        snprintf(why, why_size, "line %d column %d: %s", err.line, err.column, err.text);
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
