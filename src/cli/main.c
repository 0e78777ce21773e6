/* main.c: the `fasterapi` executable. The library has no main (DESIGN.md §3). */
#include <stdio.h>
#include <string.h>

#include "fasterapi.h"

static void usage(FILE *out) {
    fputs("usage: fasterapi [--version] [--help]\n"
          "\n"
          "  --version   print the versions of FasterAPI, the embedded Python (and its GIL mode),\n"
          "              libuv and jansson\n"
          "\n"
          "The Python tool host (`fasterapi run server.py`) is not built yet; see README.md.\n"
          "Embed the C API (include/fasterapi.h) or run examples/embed_c for a stdio MCP server.\n",
          out);
}

int main(int argc, char **argv) {
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        char report[512];
        fa_version_report(report, sizeof report);
        fputs(report, stdout);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2)
        fprintf(stderr, "fasterapi: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
