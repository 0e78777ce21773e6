/* fasterapi/version.h: versions of FasterAPI and of the libraries it runs on. */
#ifndef FASTERAPI_VERSION_H
#define FASTERAPI_VERSION_H

#include "fasterapi/common.h"

/* "0.1.0". Static string. */
FA_EXTERN const char *fa_version(void);

/* Writes a multi-line report (FasterAPI, libuv, jansson) into buf,
 * NUL-terminated and truncated to size. Returns the length it wanted, like snprintf. Does not
 * initialise Python. Any thread. */
FA_EXTERN int fa_version_report(char *buf, unsigned long size);

#endif
