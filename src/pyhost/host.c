/* host.c: starting and stopping the Python host (see host.h and pyhost_internal.h).
 *
 * Start-up order matters (research/subinterp.md §1.3, §2.7):
 *   1. register `_fasterapi` as a built-in module, initialise CPython without its signal handlers
 *      (libuv owns SIGINT/SIGTERM);
 *   2. import `_datetime` in the main interpreter before any subinterpreter exists: on 3.12.1 and
 *      3.13.0 two subinterpreters importing datetime double-free at shutdown otherwise;
 *   3. import the user's file in the main interpreter once and export its table, so import
 *      errors are reported (with the traceback, on stderr) before anything reaches stdout;
 *   4. release the GIL; the pool's workers create their interpreters and import the app again.
 * Shutdown reverses it: workers end their interpreters on their own threads, then the main
 * thread re-attaches and finalises.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "pyhost/pyversion.h"
#include "core/workers.h"
#include "fasterapi/error.h"
#include "pyhost/convert.h"
#include "pyhost/host.h"
#include "pyhost/pyhost_internal.h"

struct fa__pyhost_s {
    fa__pyhost_options_t opts;
    char *app_path;
    char *app_name;
    PyThreadState *main_ts; /* detached while the server runs */
    PyObject *mcp;          /* the app in the main interpreter (kept for the shared-GIL mode) */
    json_t *table;
    json_t *report;    /* _runtime.startup_report: warnings to give once the pool runs */
    json_t *web_table; /* _runtime.web_table: the App's routes, or NULL */
    int has_mcp;       /* the file defines a FastMCP (not only an App) */
    char *web_name;
    fa__pyweb_t *web; /* the routes registered on the HTTP server */
    fa__pypool_t *pool;
    fa__py_mode_t mode;
    char **tool_names; /* tool callback data: the name each Python tool is called by */
    size_t ntool_names;
    const char *display_path; /* the file as the user named it, for the start-up line */
    fa_server_t *srv;
    int nworkers;
    _Atomic int failed;  /* a worker could not import the app: the run ends with status 1 */
    _Atomic int closing; /* fa__pyhost_close has begun */
};

static int has_package(const char *dir) {
    char p[PATH_MAX + 64];
    struct stat st;
    snprintf(p, sizeof p, "%s/fasterapi/__init__.py", dir);
    return stat(p, &st) == 0;
}

const char *fa__pyhost_package_dir(void) {
    static char dir[PATH_MAX + 32];
    const char *env = getenv("FASTERAPI_PYTHONPATH");
    if (env && *env)
        return env;
    /* Installed: <prefix>/bin/fasterapi next to <prefix>/lib/fasterapi/python. */
    char exe[PATH_MAX - 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(dir, sizeof dir, "%s/../lib/fasterapi/python", exe);
            if (has_package(dir))
                return dir;
        }
    }
    return FA_PYTHON_SOURCE_DIR; /* the source tree this binary was built from */
}

/* Prints the pending Python exception with its traceback to stderr and clears it. */
static void print_python_error(const char *what) {
    char text[8192];
    fa__py_format_exception(text, sizeof text, 1);
    fprintf(stderr, "fasterapi: %s\n%s", what, text);
    size_t n = strlen(text);
    if (n == 0 || text[n - 1] != '\n')
        fputc('\n', stderr);
}

/* The "version = X.Y.Z" (or "version_info = X.Y.Z...") line of DIR/pyvenv.cfg, as X and Y.
 * 0, or -1 with the reason in why. */
static int venv_version(const char *dir, int *major, int *minor, char *why, size_t why_size) {
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/pyvenv.cfg", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, why_size, "%s is not a virtual environment (no pyvenv.cfg: %s)", dir,
                 strerror(errno));
        return -1;
    }
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        char key[32];
        int n = 0;
        if (sscanf(line, " %31[a-z_] = %d.%d%n", key, major, minor, &n) == 3 && n > 0 &&
            (strcmp(key, "version") == 0 || strcmp(key, "version_info") == 0))
            found = 1;
    }
    fclose(f);
    if (!found)
        snprintf(why, why_size, "%s has no Python version in its pyvenv.cfg", path);
    return found ? 0 : -1;
}

/* Points the embedded Python at a virtual environment: its version must be ours (compiled
 * packages are built for one Python), then an executable inside it lets CPython's own start-up
 * (getpath, site.venv) find pyvenv.cfg and add the environment's site-packages, in the main
 * interpreter and in every worker interpreter alike. */
static int use_venv(PyConfig *cfg, const char *dir) {
    int major = 0, minor = 0;
    char why[PATH_MAX + 128];
    if (venv_version(dir, &major, &minor, why, sizeof why) != 0) {
        fprintf(stderr, "fasterapi: cannot use the virtual environment: %s\n", why);
        return FA_EPYTHON;
    }
    if (major != PY_MAJOR_VERSION || minor != PY_MINOR_VERSION) {
        fprintf(stderr,
                "fasterapi: the virtual environment %s is for Python %d.%d, but this fasterapi "
                "embeds Python %d.%d: packages installed there cannot be imported. Create the "
                "environment with python%d.%d -m venv, or build fasterapi against Python %d.%d "
                "(FASTERAPI_PYTHON=python%d.%d make run)\n",
                dir, major, minor, PY_MAJOR_VERSION, PY_MINOR_VERSION, PY_MAJOR_VERSION,
                PY_MINOR_VERSION, major, minor, major, minor);
        return FA_EPYTHON;
    }
    char exe[PATH_MAX + 32];
    snprintf(exe, sizeof exe, "%s/bin/python%d.%d", dir, major, minor);
    if (access(exe, F_OK) != 0)
        snprintf(exe, sizeof exe, "%s/bin/python3", dir);
    PyStatus st = PyConfig_SetBytesString(cfg, &cfg->executable, exe);
    if (PyStatus_Exception(st)) {
        fprintf(stderr, "fasterapi: cannot use the virtual environment %s: %s\n", dir,
                st.err_msg ? st.err_msg : "unknown error");
        return FA_EPYTHON;
    }
    return 0;
}

static int init_python(const fa__pyhost_options_t *o) {
    if (PyImport_AppendInittab("_fasterapi", PyInit__fasterapi) < 0) {
        fprintf(stderr, "fasterapi: cannot register the _fasterapi module\n");
        return FA_EPYTHON;
    }
    PyConfig cfg;
    PyConfig_InitPythonConfig(&cfg);
    cfg.install_signal_handlers = 0; /* libuv owns SIGINT/SIGTERM (subinterp.md §2.4) */
    cfg.parse_argv = 0;
    if (o->venv && *o->venv && use_venv(&cfg, o->venv) != 0) {
        PyConfig_Clear(&cfg);
        return FA_EPYTHON;
    }
    char *argv[] = {(char *)(uintptr_t)o->app_path};
    PyStatus st = PyConfig_SetBytesArgv(&cfg, 1, argv);
    if (!PyStatus_Exception(st))
        st = Py_InitializeFromConfig(&cfg);
    PyConfig_Clear(&cfg);
    if (PyStatus_Exception(st)) {
        fprintf(stderr, "fasterapi: cannot initialise Python: %s\n",
                st.err_msg ? st.err_msg : "unknown error");
        return FA_EPYTHON;
    }
    return 0;
}

/* In the main interpreter: package path, stdout -> stderr, _datetime, the app, its table. */
static int load_main(fa__pyhost_t *h) {
    /* Imported in the main interpreter before any subinterpreter exists: the main instance of
     * these static-type modules must exist first (3.12.1/3.13.0 crash at exit otherwise).
     * _datetime costs under a millisecond; _asyncio (~50 ms: it comes with all of asyncio) is
     * imported, through asyncio, by the first isolated worker before it creates its interpreter
     * (pool.c attach_interpreter), off the path to the first answer. */
    PyObject *m = PyImport_ImportModule("_datetime");
    if (!m)
        PyErr_Clear(); /* a build without it has nothing to work around */
    Py_XDECREF(m);
    fa__trace_start("_datetime imported");
    PyObject *sys = PyImport_ImportModule("sys");
    PyObject *path = sys ? PyObject_GetAttrString(sys, "path") : NULL;
    PyObject *dir = PyUnicode_FromString(fa__pyhost_package_dir());
    PyObject *err = sys ? PyObject_GetAttrString(sys, "stderr") : NULL;
    int ok = path && dir && err && PyList_Insert(path, 0, dir) == 0 &&
             PyObject_SetAttrString(sys, "stdout", err) == 0;
    Py_XDECREF(err);
    Py_XDECREF(dir);
    Py_XDECREF(path);
    Py_XDECREF(sys);
    PyObject *rt = ok ? PyImport_ImportModule("fasterapi._runtime") : NULL;
    PyObject *io = rt ? PyObject_CallMethod(rt, "install_output", NULL) : NULL;
    if (!io) {
        Py_XDECREF(rt);
        print_python_error("cannot import the fasterapi package");
        return FA_EPYTHON;
    }
    Py_DECREF(io);
    fa__trace_start("fasterapi imported");
    if (PyObject_SetAttrString(rt, "HOSTED", Py_True) == 0)
        h->mcp = PyObject_CallMethod(rt, "load_app", "sz", h->app_path, h->app_name);
    if (!h->mcp) {
        Py_DECREF(rt);
        print_python_error("cannot load the app");
        return FA_EPYTHON;
    }
    PyObject *hm = PyObject_CallMethod(rt, "has_mcp", "O", h->mcp);
    h->has_mcp = hm == Py_True;
    Py_XDECREF(hm);
    PyObject *web = hm ? PyObject_CallMethod(rt, "web_table", "z", h->web_name) : NULL;
    if (!web) {
        Py_DECREF(rt);
        print_python_error("cannot load the web app");
        return FA_EPYTHON;
    }
    if (web != Py_None) {
        char wwhy[256];
        h->web_table = fa__py_to_json(web, wwhy, sizeof wwhy);
        if (!h->web_table) {
            Py_DECREF(web);
            Py_DECREF(rt);
            fprintf(stderr, "fasterapi: the route table is not JSON: %s\n", wwhy);
            return FA_EPYTHON;
        }
    }
    Py_DECREF(web);
    fa__trace_start("app imported");
    PyObject *table = PyObject_CallMethod(rt, "export", "O", h->mcp);
    PyObject *report = table ? PyObject_CallMethod(rt, "startup_report", "O", h->mcp) : NULL;
    Py_DECREF(rt);
    if (table && !report) {
        Py_CLEAR(table);
    } else if (report) {
        char rwhy[256];
        h->report = fa__py_to_json(report, rwhy, sizeof rwhy);
        Py_DECREF(report);
        if (!h->report)
            PyErr_Clear(); /* only warnings are lost */
    }
    if (!table) {
        print_python_error("cannot export the app's tools");
        return FA_EPYTHON;
    }
    fa__trace_start("table exported");
    char why[512];
    h->table = fa__py_to_json(table, why, sizeof why);
    Py_DECREF(table);
    if (!h->table) {
        fprintf(stderr, "fasterapi: the exported table is not JSON: %s\n", why);
        return FA_EPYTHON;
    }
    return 0;
}

int fa__pyhost_open(fa__pyhost_t **out, const fa__pyhost_options_t *o) {
    fa__pyhost_t *h = calloc(1, sizeof *h);
    if (!h)
        return FA_ENOMEM;
    h->opts = *o;
    h->display_path = o->app_path;
    h->app_path = realpath(o->app_path, NULL);
    if (!h->app_path) {
        fprintf(stderr, "fasterapi: cannot open %s: %s\n", o->app_path, strerror(errno));
        free(h);
        return FA_ENOENT;
    }
    h->app_name = o->app_name ? strdup(o->app_name) : NULL;
    h->web_name = o->web_name ? strdup(o->web_name) : NULL;
    h->opts.app_path = h->app_path;
    h->opts.app_name = h->app_name;
    h->opts.web_name = h->web_name;
    int rc = init_python(&h->opts);
    fa__trace_start("python initialised");
    if (rc) {
        free(h->app_path);
        free(h->app_name);
        free(h->web_name);
        free(h);
        return rc;
    }
    rc = load_main(h);
    h->main_ts = PyEval_SaveThread(); /* from here on the main thread holds no GIL */
    if (rc) {
        fa__pyhost_close(h);
        return rc;
    }
    *out = h;
    return 0;
}

const json_t *fa__pyhost_table(const fa__pyhost_t *h) {
    return h->table;
}

const json_t *fa__pyhost_web_table(const fa__pyhost_t *h) {
    return h->web_table;
}

int fa__pyhost_has_mcp(const fa__pyhost_t *h) {
    return h->has_mcp;
}

int fa__pyhost_mount_web(fa__pyhost_t *h, fa_http_server_t *http) {
    if (!h->web_table || !h->pool)
        return h->web_table ? FA_ESTATE : 0;
    return fa__pyweb_mount(&h->web, h->pool, http, h->web_table);
}

const char *fa__pyhost_mode(const fa__pyhost_t *h) {
    return h->mode == FA_PY_OWN_GIL ? "own GIL" : "shared GIL";
}

static int register_table(fa__pyhost_t *h, fa_server_t *srv) {
    json_t *tools = json_object_get(h->table, "tools");
    size_t n = json_array_size(tools), i;
    h->tool_names = calloc(n ? n : 1, sizeof *h->tool_names);
    if (!h->tool_names)
        return FA_ENOMEM;
    json_t *def;
    json_array_foreach (tools, i, def) {
        const char *name = json_string_value(json_object_get(def, "name"));
        char *copy = name ? strdup(name) : NULL;
        if (!copy)
            return FA_EINVAL;
        h->tool_names[h->ntool_names++] = copy;
        int rc = fa__server_add_tool_json(srv, def, fa__py_tool_cb, copy);
        if (rc) {
            fprintf(stderr, "fasterapi: cannot register tool %s: %s\n", name, fa_strerror(rc));
            return rc;
        }
    }
    json_t *res = json_object_get(h->table, "resources");
    json_t *tpl = json_object_get(h->table, "resourceTemplates");
    json_t *prompts = json_object_get(h->table, "prompts");
    int rc =
        fa__server_set_catalog(srv, res ? json_incref(res) : NULL, tpl ? json_incref(tpl) : NULL,
                               prompts ? json_incref(prompts) : NULL,
                               json_is_true(json_object_get(h->table, "completions")), &fa__py_ops);
    if (rc) {
        fprintf(stderr, "fasterapi: cannot register resources/prompts: %s\n", fa_strerror(rc));
        return rc;
    }
    /* Skills (SEP-2640): their files are among the resources above; the entries come after so
     * the directory listings can borrow the files' names and MIME types. */
    json_t *skills = json_object_get(h->table, "skills");
    if (json_array_size(skills) > 0 && (rc = fa__server_set_skills(srv, json_incref(skills))))
        fprintf(stderr, "fasterapi: cannot register skills: %s\n", fa_strerror(rc));
    return rc;
}

/* Says once what the app should know: options this build ignores, and module-level mutable
 * containers when several isolated workers each import their own copy of the file (DESIGN.md
 * §4: per-worker state must be visible, with its two remedies). */
static void warn_startup(const fa__pyhost_t *h, int workers) {
    size_t i;
    json_t *w;
    json_array_foreach (json_object_get(h->report, "warnings"), i, w)
        FA_WARN("%s", json_string_value(w));
    json_t *names = json_object_get(h->report, "module_state");
    if (h->mode != FA_PY_OWN_GIL || workers < 2 || json_array_size(names) == 0)
        return;
    char list[512] = "";
    size_t len = 0;
    json_array_foreach (names, i, w) {
        int k =
            snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", json_string_value(w));
        if (k < 0 || (size_t)k >= sizeof list - len) {
            snprintf(list + (sizeof list - 5), 5, "...");
            break;
        }
        len += (size_t)k;
    }
    FA_WARN("%s keeps state in module-level containers (%s): each of the %d workers imports the "
            "file and has its own copy, so a change made by one call is not seen by calls served "
            "by other workers. Keep shared state in fasterapi.shared (Map, Set, Counter), or run "
            "with --workers 1",
            h->app_path, list, workers);
}

/* The pool's report on its isolated workers (pyhost_internal.h), from a worker thread, or from
 * fa__pyhost_serve when there are none to wait for. The server already answers: until now the
 * early worker ran calls in the main interpreter. */
static void on_pool_ready(void *arg, int rc, int fell_back, const char *why) {
    fa__pyhost_t *h = arg;
    if (rc) {
        /* The main interpreter imported the app but a worker interpreter could not: a start-up
         * error like any other, though the server was already answering. */
        FA_ERROR("cannot start the Python workers:\n%s", why);
        atomic_store(&h->failed, 1);
        /* The loop may not run yet (a worker that fails at once): retry until it does. */
        for (int i = 0; i < 10000 && !atomic_load(&h->closing); i++) {
            if (fa_server_stop(h->srv) == 0)
                break;
            usleep(1000);
        }
        return;
    }
    if (fell_back) {
        /* numpy, pydantic-core, PyO3/Cython modules: the workers serve the app from the main
         * interpreter. The log line quotes the exception's last line ("ImportError: module X
         * does not..."). */
        char text[4096];
        snprintf(text, sizeof text, "%s", why);
        size_t len = strlen(text);
        while (len && text[len - 1] == '\n')
            text[--len] = '\0';
        const char *last = strrchr(text, '\n');
        last = last ? last + 1 : text;
        FA_WARN("%s does not load in isolated subinterpreters (%.300s); serving it from the main "
                "interpreter with a shared GIL",
                h->app_path, last);
        h->mode = FA_PY_SHARED_GIL;
    }
    fa__trace_start("all workers ready");
    if (h->web_table)
        FA_INFO("serving %s: %zu web route(s), %zu tool(s), Python %s (%s)", h->display_path,
                json_array_size(h->web_table), json_array_size(json_object_get(h->table, "tools")),
                FA_PYTHON_VERSION, fa__pyhost_mode(h));
    else
        FA_INFO("serving %s: %zu tool(s), Python %s (%s)", h->display_path,
                json_array_size(json_object_get(h->table, "tools")), FA_PYTHON_VERSION,
                fa__pyhost_mode(h));
    warn_startup(h, h->nworkers);
}

int fa__pyhost_failed(const fa__pyhost_t *h) {
    return atomic_load(&((fa__pyhost_t *)(uintptr_t)h)->failed);
}

int fa__pyhost_serve(fa__pyhost_t *h, fa_server_t *srv) {
    int rc = register_table(h, srv);
    if (rc)
        return rc;
    int n = h->opts.workers > 0 ? h->opts.workers : fa__cpu_count();
    if (n > FA_PY_MAX_WORKERS - 1)
        n = FA_PY_MAX_WORKERS - 1; /* one slot is the early worker's */
    h->srv = srv;
    h->nworkers = n;
    fa__pyapp_t app = {h->app_path,   h->app_name,          h->web_name, fa__pyhost_package_dir(),
                       h->opts.debug, h->opts.web_timeout_s};
    size_t capacity = srv->opts.max_inflight;
    char err[4096];
    h->mode = FA_PY_OWN_GIL_DEFAULT && !h->opts.force_shared ? FA_PY_OWN_GIL : FA_PY_SHARED_GIL;
    if (!FA_PY_HAS_OWN_GIL)
        FA_INFO("Python %s has no per-interpreter GIL: tools run in the main interpreter "
                "(shared GIL)",
                PY_VERSION);
    else if (FA_PY_OWN_GIL_BROKEN && !h->opts.force_shared)
        FA_WARN("Python %s has subinterpreter bugs that crash at exit (gh-119213, fixed in "
                "3.12.4): tools run in the main interpreter (shared GIL); use Python >= 3.12.4",
                PY_VERSION);
    rc = fa__pypool_start(&h->pool, h->mode, n, capacity, &app, h->mcp, on_pool_ready, h, err,
                          sizeof err);
    if (rc) {
        fprintf(stderr, "fasterapi: cannot start the Python workers:\n%s\n", err);
        return rc;
    }
    fa__executor_t ex = fa__pypool_executor(h->pool);
    fa__server_set_executor(srv, &ex);
    return 0;
}

int fa__pyhost_close(fa__pyhost_t *h) {
    if (!h)
        return 0;
    atomic_store(&h->closing, 1);
    fa__pypool_free(h->pool); /* joins workers still starting: they report failures first */
    int failed = atomic_load(&h->failed);
    h->pool = NULL;
    if (h->main_ts) {
        PyEval_RestoreThread(h->main_ts);
        Py_CLEAR(h->mcp);
        if (Py_FinalizeEx() < 0)
            FA_WARN("Python finalisation reported an error");
    }
    fa__py_shared_free_all();
    json_decref(h->table);
    json_decref(h->report);
    json_decref(h->web_table);
    fa__pyweb_free(h->web);
    free(h->web_name);
    for (size_t i = 0; i < h->ntool_names; i++)
        free(h->tool_names[i]);
    free(h->tool_names);
    free(h->app_path);
    free(h->app_name);
    free(h);
    return failed;
}
