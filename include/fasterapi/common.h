/* fasterapi/common.h: export macro and small shared definitions. */
#ifndef FASTERAPI_COMMON_H
#define FASTERAPI_COMMON_H

#if defined(__GNUC__)
#define FA_EXTERN __attribute__((visibility("default")))
#else
#define FA_EXTERN
#endif

#define FA_VERSION_MAJOR 0
#define FA_VERSION_MINOR 1
#define FA_VERSION_PATCH 0
#define FA_VERSION_STRING "0.1.0"

#endif
