/* fasterapi/error.h: error codes shared by every module.
 *
 * Functions return 0 on success or a negative FA_E* code. System codes equal the negated errno
 * value (FA_ENOMEM == -ENOMEM), as in libuv; project codes live in their own block below -4000 so
 * they never collide with errno. Protocol errors (JSON-RPC, HTTP) are never C return codes: they
 * are replies built into the output.
 *
 * Thread safety: every function here may be called from any thread.
 */
#ifndef FASTERAPI_ERROR_H
#define FASTERAPI_ERROR_H

#include <errno.h>

#include "fasterapi/common.h"

/* X(name, value, message). The one table; fa_strerror and fa_err_name are generated from it. */
#define FA_ERRNO_MAP(X)                                                                            \
    X(EPERM, -EPERM, "operation not permitted")                                                    \
    X(ENOENT, -ENOENT, "no such file or directory")                                                \
    X(EINTR, -EINTR, "interrupted system call")                                                    \
    X(EIO, -EIO, "i/o error")                                                                      \
    X(EBADF, -EBADF, "bad file descriptor")                                                        \
    X(EAGAIN, -EAGAIN, "resource temporarily unavailable")                                         \
    X(ENOMEM, -ENOMEM, "not enough memory")                                                        \
    X(EACCES, -EACCES, "permission denied")                                                        \
    X(EBUSY, -EBUSY, "resource busy or locked")                                                    \
    X(EEXIST, -EEXIST, "already exists")                                                           \
    X(EINVAL, -EINVAL, "invalid argument")                                                         \
    X(ENOSPC, -ENOSPC, "no space left")                                                            \
    X(EPIPE, -EPIPE, "broken pipe")                                                                \
    X(ERANGE, -ERANGE, "result out of range")                                                      \
    X(ENOSYS, -ENOSYS, "function not implemented")                                                 \
    X(EMSGSIZE, -EMSGSIZE, "message too long")                                                     \
    X(ENOTSUP, -ENOTSUP, "operation not supported")                                                \
    X(ECANCELED, -ECANCELED, "operation canceled")                                                 \
    X(ETIMEDOUT, -ETIMEDOUT, "operation timed out")                                                \
    X(EALREADY, -EALREADY, "operation already in progress or done")                                \
    X(EOF, -4095, "end of file")                                                                   \
    /* project codes */                                                                            \
    X(EFULL, -4001, "queue is full")                                                               \
    X(EEMPTY, -4002, "queue is empty")                                                             \
    X(EJSON, -4003, "invalid JSON")                                                                \
    X(ESCHEMA, -4004, "invalid JSON Schema")                                                       \
    X(ESTATE, -4005, "invalid state for this operation")                                           \
    X(ELIMIT, -4006, "a configured limit was exceeded")                                            \
    X(EPYTHON, -4007, "python error")

typedef enum {
#define FA__ERR_ENUM(name, value, msg) FA_##name = (value),
    FA_ERRNO_MAP(FA__ERR_ENUM)
#undef FA__ERR_ENUM
} fa_errno_t;

/* Returns a static, human-readable message for an FA_E* code ("unknown error" otherwise). */
FA_EXTERN const char *fa_strerror(int err);

/* Returns the code's name without the FA_ prefix, e.g. "ENOMEM"; "UNKNOWN" for other values. */
FA_EXTERN const char *fa_err_name(int err);

#endif
