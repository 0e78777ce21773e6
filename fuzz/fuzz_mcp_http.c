/* fuzz_mcp_http.c: the Streamable HTTP endpoint's pure pieces: the Accept matcher and the era
 * classification (mcp/http_endpoint.h), on input "ACCEPT\nVERSION\nBODY". Invariants: no crash,
 * answers are deterministic, errors carry a 4xx status and a known code, a GET is always legacy,
 * a batch is never modern, an object carrying the claim is always modern.
 */
#include <string.h>

#include "fuzz_common.h"
#include "mcp/http_endpoint.h"
#include "mcp/jsonrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *accept = text, *version = NULL, *body = NULL;
    char *nl = strchr(accept, '\n');
    if (nl) {
        *nl = '\0';
        version = nl + 1;
        if ((nl = strchr(version, '\n')) != NULL) {
            *nl = '\0';
            body = nl + 1;
        }
    }
    int a = fa__mcp_http_accepts(accept, "text/event-stream");
    FUZZ_CHECK(a == 0 || a == 1);
    FUZZ_CHECK(a == fa__mcp_http_accepts(accept, "text/event-stream"));
    int j = fa__mcp_http_accepts(accept, "application/json");
    FUZZ_CHECK(j == 0 || j == 1);
    if (strcmp(accept, "*/*") == 0)
        FUZZ_CHECK(a && j);
    FUZZ_CHECK(!fa__mcp_http_accepts(NULL, "text/event-stream"));

    const char *hdr = version && version[0] ? version : NULL;
    json_t *msg = NULL;
    if (body) {
        int code;
        char why[128];
        msg = fa__rpc_parse(body, strlen(body), 64, &code, why, sizeof why);
    }
    fa__http_era_error_t err = {0, 0, NULL};
    FUZZ_CHECK(fa__mcp_classify("GET", msg, hdr, &err) == FA__HTTP_ERA_LEGACY);
    fa__http_era_t e = fa__mcp_classify("POST", msg, hdr, &err);
    FUZZ_CHECK(e == FA__HTTP_ERA_ERROR || e == FA__HTTP_ERA_LEGACY || e == FA__HTTP_ERA_MODERN);
    FUZZ_CHECK(e == fa__mcp_classify("POST", msg, hdr, NULL));
    if (e == FA__HTTP_ERA_ERROR) {
        FUZZ_CHECK(err.status >= 400 && err.status < 500);
        FUZZ_CHECK(err.code == FA_RPC_INVALID_REQUEST || err.code == FA_MCP_HEADER_MISMATCH);
        FUZZ_CHECK(err.why != NULL);
    }
    if (json_is_array(msg))
        FUZZ_CHECK(e != FA__HTTP_ERA_MODERN);
    if (json_is_object(msg) && fa__mcp_body_has_claim(msg))
        FUZZ_CHECK(e == FA__HTTP_ERA_MODERN);
    json_decref(msg);
    free(text);
    return 0;
}
