/* cli/limits.h: `fasterapi run --limit NAME=VALUE`, one option for every named limit of the MCP
 * engine, the HTTP server and the Streamable HTTP endpoint ("every limit is named and
 * configurable"). Values are integers: bytes, counts or milliseconds, as each name says. */
#ifndef FASTERAPI_CLI_LIMITS_H
#define FASTERAPI_CLI_LIMITS_H

#include <stdio.h>

#include "fasterapi/mcp.h"
#include "fasterapi/mcp_http.h"

/* Records one NAME=VALUE. 0, or -1 after printing why to stderr (unknown name, bad value). */
int fa__cli_limit_set(const char *spec);
/* Writes what was set over the defaults already in the structure. */
void fa__cli_limits_apply_server(fa_server_options_t *o);
void fa__cli_limits_apply_http(fa_http_options_t *o);
void fa__cli_limits_apply_mcp_http(fa_mcp_http_options_t *o);
/* One line per name for --help. */
void fa__cli_limits_usage(FILE *out);

#endif
