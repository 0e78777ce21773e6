/* tests/pyhost/web_run.h: a web App served for real in a test (tests/pyhost/test_web.c,
 * test_ws.c): the HTTP server runs on its own owner thread, mounted on an open Python host, and
 * the test talks to it over loopback. */
#ifndef FASTERAPI_TESTS_PYHOST_WEB_RUN_H
#define FASTERAPI_TESTS_PYHOST_WEB_RUN_H

#include <pthread.h>

#include "fa_test.h"
#include "fasterapi.h"
#include "pyhost/host.h"

typedef struct {
    fa__pyhost_t *host;
    fa_http_server_t *http;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int port; /* 0 until listening, -1 on failure */
    int rc;
} run_t;

static void on_listen(fa_http_server_t *srv, void *data) {
    run_t *r = data;
    pthread_mutex_lock(&r->lock);
    r->port = fa_http_server_port(srv);
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

/* The HTTP server's owner thread: make, mount, run (until stopped), free. */
static void *serve_thread(void *arg) {
    run_t *r = arg;
    fa_http_options_t o;
    fa_http_options_init(&o);
    o.port = 0;
    o.on_listen = on_listen;
    o.on_listen_data = r;
    int rc = fa_http_server_new(&r->http, &o);
    if (rc == 0)
        rc = fa__pyhost_mount_web(r->host, r->http);
    if (rc == 0)
        rc = fa_http_server_run(r->http);
    pthread_mutex_lock(&r->lock);
    r->rc = rc;
    if (r->port == 0)
        r->port = -1;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* Starts the host's workers for an MCP server *srv and the HTTP thread *t; returns once it
 * listens (r->port > 0). */
static void web_run_start(run_t *r, fa_server_t **srv, pthread_t *t) {
    fa_server_options_t so;
    fa_server_options_init(&so);
    ck_assert_int_eq(fa_server_new(srv, &so), 0);
    ck_assert_int_eq(fa__pyhost_serve(r->host, *srv), 0);
    ck_assert_int_eq(pthread_create(t, NULL, serve_thread, r), 0);
    pthread_mutex_lock(&r->lock);
    while (r->port == 0)
        pthread_cond_wait(&r->cond, &r->lock);
    pthread_mutex_unlock(&r->lock);
    ck_assert_int_gt(r->port, 0);
}

/* Ends what web_run_start began: stops and frees the HTTP server, closes the host, frees srv. */
static void web_run_stop(run_t *r, fa_server_t *srv, pthread_t t) {
    ck_assert_int_eq(fa_http_server_stop(r->http), 0);
    pthread_join(t, NULL);
    ck_assert_int_eq(r->rc, 0);
    fa_http_server_free(r->http);
    ck_assert_int_eq(fa__pyhost_close(r->host), 0);
    fa_server_free(srv);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
}

#endif
