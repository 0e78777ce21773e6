/* core/lsan.h: telling LeakSanitizer which memory is kept alive on purpose.
 *
 * Some memory is deliberately never freed: a server whose tool calls were abandoned at shutdown
 * (server.c: worker threads still inside those tools reference the server, its call slots and
 * the worker pool, so freeing them would be a use-after-free). LeakSanitizer reports such memory
 * at exit when no live pointer to it is left, which turns a leak-checked run red although nothing
 * leaked by mistake. FA_LSAN_KEEP(p) marks the heap block p as kept alive: LeakSanitizer neither
 * reports it nor anything reachable from it. Mark only the block that is kept on purpose, at the
 * place where it is kept, with the reason; a real leak must still be reported.
 *
 * No effect (and no sanitizer header needed) in builds without ASan or LSan.
 */
#ifndef FA_CORE_LSAN_H
#define FA_CORE_LSAN_H

#if defined(__SANITIZE_ADDRESS__) /* gcc */
#define FA__HAVE_LSAN 1
#elif defined(__has_feature) /* clang */
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define FA__HAVE_LSAN 1
#endif
#endif

#ifdef FA__HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#define FA_LSAN_KEEP(p) __lsan_ignore_object(p)
#else
#define FA_LSAN_KEEP(p) ((void)(p))
#endif

#endif
