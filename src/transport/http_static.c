/* http_static.c: static files (placeholder until the full implementation lands). */
#include "fasterapi/error.h"
#include "transport/http_internal.h"

int fa_http_route_static(fa_http_server_t *srv, const char *prefix, const char *dir) {
    (void)srv;
    (void)prefix;
    (void)dir;
    return FA_ENOSYS;
}

void fa__http_static_cb(fa_http_req_t *req, void *data) {
    (void)data;
    fa_http_res_send(req, 404, "text/plain", "not found\n", 10);
}

void fa__http_statics_free(fa_http_server_t *srv) {
    (void)srv;
}
