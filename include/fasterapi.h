/* fasterapi.h: the umbrella header of the embedding API. */
#ifndef FASTERAPI_H
#define FASTERAPI_H

#include "fasterapi/common.h"
#include "fasterapi/error.h"
#include "fasterapi/http.h"
#include "fasterapi/ws.h"
#include "fasterapi/log.h"
#include "fasterapi/mcp.h"
#include "fasterapi/mcp_http.h"
#include "fasterapi/queue.h"
#include "fasterapi/sse.h"
#include "fasterapi/version.h"

#endif
