/* http_modern_stub.c: the modern-era (2026-07-28) hook until the modern engine is merged; that
 * branch replaces this file (contract: mcp/http_endpoint.h). */
#include "fasterapi/error.h"
#include "mcp/http_endpoint.h"

void fa__mcp_modern_handle(fa__mcp_http_t *ep, fa_http_req_t *req, const json_t *body,
                           const char *raw, size_t raw_len) {
    (void)ep;
    (void)body;
    (void)raw;
    (void)raw_len;
    fa__mcp_http_error(req, 400, FA_MCP_UNSUPPORTED_VERSION,
                       "Unsupported protocol version: this server does not speak 2026-07-28 yet");
}
