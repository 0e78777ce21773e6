/* main.c: the `fasterapi` executable. The library has no main (DESIGN.md §3).
 *
 *   fasterapi run FILE.py [options]    serve the file's FastMCP app over stdio
 *   fasterapi inspect FILE.py          print its tool/resource/prompt table (and web routes) as
 * JSON fasterapi --version                versions of FasterAPI, Python (and its GIL mode), libuv,
 *                                      jansson
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/limits.h"
#include "core/log.h"
#include "fasterapi.h"
#include "mcp/http_endpoint.h"
#include "mcp/server_internal.h"
#include "pyhost/host.h"

static void usage(FILE *out) {
    fputs("usage: fasterapi run FILE.py [options]   serve the FastMCP app in FILE.py over stdio\n"
          "       fasterapi inspect FILE.py [--mcp NAME] [--app NAME]\n"
          "                                          print its tools, resources and prompts as "
          "JSON\n"
          "       fasterapi --version\n"
          "\n"
          "run options:\n"
          "  --workers N         Python worker threads, each with its own interpreter and GIL\n"
          "                      (default: the number of CPUs)\n"
          "  --tool-timeout S    cancel a call that runs longer than S seconds (default: none)\n"
          "  --state-key-file F  sign 2026-07-28 requestState with a key derived from file F\n"
          "                      (32+ secret bytes) so several instances accept each other's\n"
          "                      state (default: a random key per process)\n"
          "  --log-level L       trace, debug, info, warn, error or off (default: info; logs go\n"
          "                      to stderr, stdout carries only MCP messages)\n"
          "  --mcp NAME          the FastMCP instance's variable name (default: mcp, or the only\n"
          "                      instance in the file)\n"
          "  --app NAME          the web App's variable name (default: app, or the only App in\n"
          "                      the file); its routes are served beside /mcp with --http\n"
          "  --handler-timeout S answer 504 when a web handler has not answered after S seconds\n"
          "                      (default 60)\n"
          "  --max-body BYTES    refuse larger request bodies with 413 (default: twice the MCP\n"
          "                      message limit, 32 MiB)\n"
          "  --debug             include Python tracebacks in tool errors\n"
          "  --shared-gil        run tools in the main interpreter even where isolated\n"
          "                      subinterpreters are available\n"
          "  --venv DIR          import packages from this virtual environment (default: the\n"
          "                      active one, $VIRTUAL_ENV); its Python version must be the\n"
          "                      embedded one (fasterapi --version)\n"
          "  --http HOST:PORT    serve MCP over Streamable HTTP instead of stdio (also the\n"
          "                      2024-11-05 HTTP+SSE transport at /sse and /messages)\n"
          "  --path P            the endpoint path (default /mcp)\n"
          "  --io-threads N      I/O threads (connections on all; the MCP engine on the first)\n"
          "  --allow-host H      also accept this Host header (name:port, or *); repeatable\n"
          "  --allow-origin O    also accept this Origin (http://name:port, or *); repeatable\n"
          "  --session-idle S    end HTTP sessions idle for S seconds (default 1800)\n"
          "  --metrics PATH      serve Prometheus metrics at PATH (e.g. /metrics; default off)\n"
          "  --health PATH       answer GET PATH with 200 \"ok\" while serving (503 once shutting\n"
          "                      down), for load balancers and orchestrators (default off)\n"
          "  --node-id ID        start every Mcp-Session-Id with \"ID.\" so a proxy can route a\n"
          "                      session to this instance (1-32 of A-Z a-z 0-9 _ -; see\n"
          "                      deploy/nginx.conf)\n"
          "  --limit NAME=VALUE  set a named limit (below); repeatable\n\n",
          out);
    fa__cli_limits_usage(out);
}

/* `--http` and its companions (serve_http). */
#define HTTP_MAX_ALLOW 16
typedef struct {
    const char *addr; /* HOST:PORT, NULL = stdio */
    const char *path;
    int io_threads;
    const char *hosts[HTTP_MAX_ALLOW + 1], *origins[HTTP_MAX_ALLOW + 1];
    int nhosts, norigins;
    double idle_s;
    const char *metrics;      /* --metrics PATH: Prometheus text at PATH */
    const char *health;       /* --health PATH: liveness for a load balancer */
    const char *node_id;      /* --node-id ID: session ids start with "ID." */
    double handler_timeout_s; /* --handler-timeout: a web request unanswered after it -> 504 */
    uint64_t max_body;        /* --max-body: request bodies beyond it -> 413 (0: the default) */
} http_args_t;

typedef struct {
    const char *file, *mcp, *app, *venv, *state_key_file;
    int workers, debug, shared;
    double timeout;
    http_args_t http;
} run_args_t;

/* One --http option at argv[i] (value v). Returns how many arguments it used (1 or 2), 0 when it
 * is not an HTTP option, -1 on a bad value. */
static int parse_http_arg(const char *o, const char *v, http_args_t *h) {
    char *end;
    if (!v)
        return 0;
    if (strcmp(o, "--http") == 0) {
        h->addr = v;
    } else if (strcmp(o, "--path") == 0) {
        if (v[0] != '/') {
            fprintf(stderr, "fasterapi: --path must start with '/'\n");
            return -1;
        }
        h->path = v;
    } else if (strcmp(o, "--io-threads") == 0) {
        long n = strtol(v, &end, 10);
        if (*end || n < 1 || n > 256) {
            fprintf(stderr, "fasterapi: --io-threads takes a number from 1 to 256\n");
            return -1;
        }
        h->io_threads = (int)n;
    } else if (strcmp(o, "--allow-host") == 0 || strcmp(o, "--allow-origin") == 0) {
        int host = o[8] == 'h';
        int *n = host ? &h->nhosts : &h->norigins;
        if (*n == HTTP_MAX_ALLOW) {
            fprintf(stderr, "fasterapi: at most %d %s options\n", HTTP_MAX_ALLOW, o);
            return -1;
        }
        (host ? h->hosts : h->origins)[(*n)++] = v;
    } else if (strcmp(o, "--metrics") == 0 || strcmp(o, "--health") == 0) {
        if (v[0] != '/') {
            fprintf(stderr, "fasterapi: %s takes a path starting with '/'\n", o);
            return -1;
        }
        *(o[2] == 'm' ? &h->metrics : &h->health) = v;
    } else if (strcmp(o, "--node-id") == 0) {
        if (!fa__mcp_http_node_id_ok(v)) {
            fprintf(stderr, "fasterapi: --node-id takes 1 to %d characters of A-Z a-z 0-9 _ -\n",
                    FA_MCP_HTTP_NODE_ID_MAX);
            return -1;
        }
        h->node_id = v;
    } else if (strcmp(o, "--max-body") == 0) {
        unsigned long long n = strtoull(v, &end, 10);
        if (*end || n < 1 || n > (1ull << 40) || v[0] == '-') {
            fprintf(stderr, "fasterapi: --max-body takes a byte count (1 .. 2^40)\n");
            return -1;
        }
        h->max_body = (uint64_t)n;
    } else if (strcmp(o, "--handler-timeout") == 0) {
        h->handler_timeout_s = strtod(v, &end);
        if (*end || !(h->handler_timeout_s > 0) || h->handler_timeout_s > 86400) {
            fprintf(stderr, "fasterapi: --handler-timeout takes seconds (> 0, <= 86400)\n");
            return -1;
        }
    } else if (strcmp(o, "--session-idle") == 0) {
        h->idle_s = strtod(v, &end);
        if (*end || !(h->idle_s > 0) || h->idle_s > 7 * 86400) {
            fprintf(stderr, "fasterapi: --session-idle takes seconds (> 0, <= 604800)\n");
            return -1;
        }
    } else {
        return 0;
    }
    return 2;
}

static int parse_args(int argc, char **argv, run_args_t *a) {
    memset(a, 0, sizeof *a);
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        int used = parse_http_arg(o, v, &a->http);
        if (used < 0)
            return -1;
        if (used > 0) {
            i += used - 1;
        } else if (strcmp(o, "--debug") == 0) {
            a->debug = 1;
        } else if (strcmp(o, "--shared-gil") == 0) {
            a->shared = 1;
        } else if (strcmp(o, "--workers") == 0 && v) {
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 64) {
                fprintf(stderr, "fasterapi: --workers takes a number from 1 to 64\n");
                return -1;
            }
            a->workers = (int)n;
            i++;
        } else if (strcmp(o, "--tool-timeout") == 0 && v) {
            a->timeout = strtod(v, &end);
            if (*end || !(a->timeout > 0) || a->timeout > 86400) {
                fprintf(stderr, "fasterapi: --tool-timeout takes seconds (> 0, <= 86400)\n");
                return -1;
            }
            i++;
        } else if (strcmp(o, "--log-level") == 0 && v) {
            fa_log_level_t l;
            if (fa_log_parse_level(v, &l) != 0) {
                fprintf(stderr, "fasterapi: unknown log level '%s'\n", v);
                return -1;
            }
            fa_log_set_level(l);
            i++;
        } else if (strcmp(o, "--state-key-file") == 0 && v) {
            a->state_key_file = v;
            i++;
        } else if (strcmp(o, "--mcp") == 0 && v) {
            a->mcp = v;
            i++;
        } else if (strcmp(o, "--limit") == 0 && v) {
            if (fa__cli_limit_set(v) != 0)
                return -1;
            i++;
        } else if (strcmp(o, "--app") == 0 && v) {
            a->app = v;
            i++;
        } else if (strcmp(o, "--venv") == 0 && v) {
            a->venv = v;
            i++;
        } else if (o[0] == '-') {
            fprintf(stderr, "fasterapi: unknown or incomplete option '%s'\n", o);
            return -1;
        } else if (!a->file) {
            a->file = o;
        } else {
            fprintf(stderr, "fasterapi: unexpected argument '%s'\n", o);
            return -1;
        }
    }
    if (!a->file) {
        fprintf(stderr, "fasterapi: which file? (fasterapi %s FILE.py)\n", argv[1]);
        return -1;
    }
    if (!a->venv) {
        const char *active = getenv("VIRTUAL_ENV"); /* set by `source venv/bin/activate` */
        a->venv = active && *active ? active : NULL;
    }
    return 0;
}

static const char *str_or(const json_t *table, const char *key, const char *dflt) {
    const char *s = json_string_value(json_object_get(table, key));
    return s ? s : dflt;
}

/* ---- `run --http`: MCP over Streamable HTTP on one loop (engine and HTTP loop 0 share it) ---- */

typedef struct {
    uv_loop_t loop;
    fa_server_t *mcp;
    fa_http_server_t *http;
    uv_signal_t sigint, sigterm;
    int stopping;
} http_run_t;

static void http_signals_closed(uv_handle_t *h) {
    (void)h;
}

static void http_closed(fa_http_server_t *http) {
    (void)http; /* the loop runs out of handles and serve_http returns */
}

/* The one run of this process (the close callbacks carry no user data). */
static http_run_t *the_run;

static void mcp_closed(fa_server_t *mcp) {
    (void)mcp;
    http_run_t *r = the_run;
    fa_http_server_close(r->http, http_closed);
    uv_close((uv_handle_t *)&r->sigint, http_signals_closed);
    uv_close((uv_handle_t *)&r->sigterm, http_signals_closed);
}

static void http_on_signal(uv_signal_t *h, int signum) {
    http_run_t *r = h->data;
    if (r->stopping) {
        FA_WARN("second signal: exiting now");
        _exit(1);
    }
    r->stopping = 1;
    FA_INFO("signal %d: shutting down", signum);
    fa_server_close(r->mcp, mcp_closed);
}

/* --health PATH: 200 while serving, 503 once a signal began the shutdown (in-flight calls are
 * still drained, but a balancer should send nothing new here). No MCP state is touched: a
 * liveness probe must not open sessions or count as MCP traffic. */
static void health_cb(fa_http_req_t *req, void *data) {
    const http_run_t *r = data;
    fa_http_res_header(req, "Cache-Control", "no-store");
    if (r->stopping)
        fa_http_res_send(req, 503, "text/plain; charset=utf-8", "stopping\n", 9);
    else
        fa_http_res_send(req, 200, "text/plain; charset=utf-8", "ok\n", 3);
}

static int serve_http(fa_server_t *mcp, fa__pyhost_t *py, const http_args_t *h) {
    /* HOST:PORT, [v6]:PORT or :PORT. */
    char host[256] = "127.0.0.1";
    const char *colon = strrchr(h->addr, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || *end || colon[1] == '\0' || port < 0 || port > 65535 ||
        (size_t)(colon - h->addr) >= sizeof host) {
        fprintf(stderr, "fasterapi: --http takes HOST:PORT (e.g. 127.0.0.1:8000)\n");
        return 2;
    }
    if (colon > h->addr) {
        const char *b = h->addr, *e = colon;
        if (*b == '[' && e[-1] == ']') {
            b++;
            e--;
        }
        snprintf(host, sizeof host, "%.*s", (int)(e - b), b);
    }
    /* A file may hold a FastMCP server, a web App, or both (one port). */
    int serve_mcp = fa__pyhost_has_mcp(py);
    http_run_t r;
    memset(&r, 0, sizeof r);
    r.mcp = mcp;
    int rc = uv_loop_init(&r.loop);
    if (rc)
        return 1;
    fa_http_options_t ho;
    fa_http_options_init(&ho);
    ho.host = host;
    ho.port = (int)port;
    ho.io_threads = h->io_threads > 0 ? h->io_threads : 1;
    /* Bodies up to the MCP message limit are ours to refuse with a JSON-RPC error; beyond twice
     * that the HTTP server refuses them itself. */
    ho.max_body = h->max_body ? h->max_body : 2 * (uint64_t)mcp->opts.max_message;
    ho.metrics_path = h->metrics; /* NULL: off */
    fa__cli_limits_apply_http(&ho);
    fa_mcp_http_options_t mo;
    fa_mcp_http_options_init(&mo);
    if (h->path)
        mo.path = h->path;
    mo.allowed_hosts = h->hosts;
    mo.allowed_origins = h->origins;
    if (h->idle_s > 0)
        mo.session_idle_ms = (uint64_t)(h->idle_s * 1000.0);
    mo.node_id = h->node_id;
    fa__cli_limits_apply_mcp_http(&mo);
    if (h->handler_timeout_s > 0)
        ho.handler_timeout_ms = (uint64_t)(h->handler_timeout_s * 1000.0 + 0.5);
    /* MCP first: its path wins over an app route of the same pattern (first registration). */
    if ((rc = fa_http_server_new(&r.http, &ho)) != 0 ||
        (serve_mcp && (rc = fa_mcp_http_mount(mcp, r.http, &mo)) != 0) ||
        (h->health && (rc = fa_http_route(r.http, "GET", h->health, health_cb, &r)) != 0) ||
        (rc = fa__pyhost_mount_web(py, r.http)) != 0) {
        fprintf(stderr, "fasterapi: cannot set up HTTP: %s\n", fa_strerror(rc));
        fa_http_server_free(r.http);
        uv_loop_close(&r.loop);
        return 1;
    }
    the_run = &r;
    if ((rc = fa_server_start(mcp, &r.loop)) != 0 ||
        (rc = fa_http_server_start(r.http, &r.loop)) != 0) {
        fprintf(stderr, "fasterapi: cannot serve on %s: %s\n", h->addr, fa_strerror(rc));
        if (mcp->running)
            fa_server_close(mcp, NULL);
        uv_run(&r.loop, UV_RUN_DEFAULT);
        fa_http_server_free(r.http);
        uv_loop_close(&r.loop);
        return 1;
    }
    uv_signal_init(&r.loop, &r.sigint);
    uv_signal_init(&r.loop, &r.sigterm);
    r.sigint.data = r.sigterm.data = &r;
    uv_signal_start(&r.sigint, http_on_signal, SIGINT);
    uv_signal_start(&r.sigterm, http_on_signal, SIGTERM);
    char url[300];
    if (fa_http_server_url(r.http, url, sizeof url) < 0)
        url[0] = '\0';
    if (serve_mcp)
        FA_INFO("serving MCP over Streamable HTTP at %s%s", url, mo.path);
    if (fa__pyhost_web_table(py))
        FA_INFO("serving %zu web route(s) at %s", json_array_size(fa__pyhost_web_table(py)), url);
    /* The conformance runner and tests wait for this line on stderr. */
    fprintf(stderr, "fasterapi: listening on %s%s\n", url, serve_mcp ? mo.path : "/");
    fflush(stderr);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    fa_http_server_free(r.http);
    int lrc = uv_loop_close(&r.loop);
    if (lrc)
        FA_ERROR("event loop did not close cleanly: %s", uv_strerror(lrc));
    return 0;
}

static int cmd_run(int argc, char **argv) {
    fa__trace_start("main");
    run_args_t a;
    if (parse_args(argc, argv, &a) != 0)
        return 2;
    /* stdout is the protocol. Keep a private copy for it and point fd 1 at stderr, so nothing
     * else (print in a C extension, os.write(1, ...)) can corrupt the stream. */
    int proto = dup(STDOUT_FILENO);
    if (proto < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        fprintf(stderr, "fasterapi: cannot set up stdout: %s\n", strerror(errno));
        return 1;
    }
    /* Async web handlers are cancelled when the HTTP core gives up on them (504). */
    double web_timeout = a.http.handler_timeout_s > 0 ? a.http.handler_timeout_s
                                                      : FA_HTTP_HANDLER_TIMEOUT_MS / 1000.0;
    fa__pyhost_options_t ho = {a.file,   a.mcp,  a.workers, a.debug,
                               a.shared, a.venv, a.app,     web_timeout};
    fa__pyhost_t *host;
    if (fa__pyhost_open(&host, &ho) != 0)
        return 1;
    if (!a.http.addr && !fa__pyhost_has_mcp(host)) {
        fprintf(stderr,
                "fasterapi: %s has a web App but no MCP server: serve it over HTTP "
                "(fasterapi run %s --http 127.0.0.1:8000)\n",
                a.file, a.file);
        fa__pyhost_close(host);
        return 2;
    }
    const json_t *table = fa__pyhost_table(host);
    fa_server_options_t so;
    fa_server_options_init(&so);
    so.name = str_or(table, "name", "fasterapi");
    so.version = str_or(table, "version", FA_VERSION_STRING);
    so.title = str_or(table, "title", NULL);
    so.instructions = str_or(table, "instructions", NULL);
    so.workers = a.workers;
    /* The CLI owns the process: SIGINT/SIGTERM shut down gracefully (over HTTP, serve_http
     * handles them: the HTTP server must close too). */
    so.handle_signals = a.http.addr ? 0 : 1;
    so.tool_timeout_ms = a.timeout > 0 ? (unsigned)(a.timeout * 1000.0 + 0.5) : 0;
    so.state_key_file = a.state_key_file;
    fa__cli_limits_apply_server(&so);
    fa_server_t *srv;
    int rc = fa_server_new(&srv, &so);
    if (rc == 0)
        rc = fa__pyhost_serve(host, srv);
    fa__trace_start("pool started");
    if (rc) {
        fa__pyhost_close(host);
        fa_server_free(srv);
        return 1;
    }
    /* The host logs the "serving" line once its worker interpreters are up. */
    if (a.http.addr)
        rc = serve_http(srv, host, &a.http);
    else
        rc = fa_server_run_fds(srv, STDIN_FILENO, proto);
    close(proto);
    if (srv->abandoned) {
        /* Tools that never returned still run on worker threads inside their interpreters;
         * neither the interpreters nor Python can be shut down under them. Leave now. */
        FA_WARN("exiting without finalising Python: %zu call(s) never returned", srv->abandoned);
        fflush(stderr);
        _exit(rc == 0 ? 0 : 1);
    }
    /* The host first: joining its workers waits for any still starting, which may report to
     * the server (fa_server_stop) until then, and tells whether they failed. */
    int failed = fa__pyhost_close(host);
    fa_server_free(srv);
    return rc == 0 && !failed ? 0 : 1;
}

static int cmd_inspect(int argc, char **argv) {
    run_args_t a;
    if (parse_args(argc, argv, &a) != 0)
        return 2;
    /* Python's own stdout goes to stderr while the app loads; the table goes to stdout. */
    int out = dup(STDOUT_FILENO);
    if (out < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
        return 1;
    fa__pyhost_options_t ho = {a.file, a.mcp, 1, 0, 0, a.venv, a.app, 0};
    fa__pyhost_t *host;
    if (fa__pyhost_open(&host, &ho) != 0)
        return 1;
    /* The web App's routes beside the MCP table: [{"method", "path"}, ...]. */
    json_t *shown = json_copy((json_t *)(uintptr_t)fa__pyhost_table(host));
    const json_t *web = fa__pyhost_web_table(host);
    if (shown && web) {
        json_t *routes = json_array();
        size_t i;
        const json_t *row;
        json_array_foreach (web, i, row)
            json_array_append_new(routes, json_pack("{s:O, s:O}", "method", json_array_get(row, 0),
                                                    "path", json_array_get(row, 1)));
        json_object_set_new(shown, "routes", routes);
    }
    char *text = shown ? json_dumps(shown, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(shown);
    fa__pyhost_close(host);
    if (!text)
        return 1;
    FILE *f = fdopen(out, "w");
    fprintf(f, "%s\n", text);
    fclose(f);
    free(text);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        char report[512];
        int n = fa_version_report(report, sizeof report);
        /* Python's line after FasterAPI's own (the library links no Python; the host does). */
        if (n > 0 && (size_t)n < sizeof report)
            fa__py_version_report(report + n, sizeof report - (size_t)n);
        fputs(report, stdout);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return cmd_run(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "inspect") == 0)
        return cmd_inspect(argc, argv);
    if (argc >= 2)
        fprintf(stderr, "fasterapi: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
