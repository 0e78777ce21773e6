/* error.c: fa_strerror / fa_err_name, generated from the one table in fasterapi/error.h. */
#include "fasterapi/error.h"

const char *fa_strerror(int err) {
    switch (err) {
#define FA__ERR_MSG(name, value, msg)                                                              \
    case value:                                                                                    \
        return msg;
        FA_ERRNO_MAP(FA__ERR_MSG)
#undef FA__ERR_MSG
    case 0:
        return "success";
    default:
        return "unknown error";
    }
}

const char *fa_err_name(int err) {
    switch (err) {
#define FA__ERR_NAME(name, value, msg)                                                             \
    case value:                                                                                    \
        return #name;
        FA_ERRNO_MAP(FA__ERR_NAME)
#undef FA__ERR_NAME
    case 0:
        return "OK";
    default:
        return "UNKNOWN";
    }
}
