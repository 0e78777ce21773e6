/* core/utf8.h: UTF-8 helpers for text we build from untrusted pieces (error messages that quote
 * a method name, tool messages). Everything we emit must stay valid UTF-8: clients reject the
 * line otherwise, and jansson refuses to build such strings. Pure functions; any thread. */
#ifndef FA_CORE_UTF8_H
#define FA_CORE_UTF8_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Incremental validation (RFC 3629 §4, the Unicode Table 3-7 of well-formed byte sequences): a
 * small DFA over byte classes, the one UTF-8 decoder of the project (the functions below are built
 * on it). The state is a small integer the caller keeps between pieces, so a code point may be
 * split across reads or WebSocket frames (RFC 6455 §8.1). It fails fast: the first byte that
 * cannot start or continue a well-formed sequence (a stray continuation byte, C0/C1/F5..FF, an
 * overlong E0 80../F0 80.., a surrogate ED A0.., a code point above U+10FFFF F4 90..) moves it to
 * FA_UTF8_REJECT, which is sticky. */
#define FA_UTF8_ACCEPT 0u /* between characters: the text so far is complete and valid */
#define FA_UTF8_REJECT 1u /* invalid; stays so */

/* Advances *state over s[0..len). Returns len when no byte was rejected, else the index of the
 * first rejected byte (then *state == FA_UTF8_REJECT). ASCII runs are skipped 8 bytes at a time.
 * The text is valid and complete when *state == FA_UTF8_ACCEPT at its end. */
size_t fa__utf8_feed(uint8_t *state, const char *s, size_t len);

/* Length of the valid UTF-8 sequence starting at s[0] (1-4), or 0 when it is invalid (overlong,
 * surrogate, above U+10FFFF) or truncated by `avail`. */
size_t fa__utf8_seq_len(const unsigned char *s, size_t avail);

/* vsnprintf into buf[0..size) that, when it has to cut, cuts at a character boundary, so text
 * quoting untrusted UTF-8 stays valid. Returns the length written. */
size_t fa__utf8_vformat(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Length of the longest prefix of s[0..len) that does not end inside a multi-byte sequence
 * (use after truncating valid UTF-8 at an arbitrary byte). */
size_t fa__utf8_clip(const char *s, size_t len);

/* True when s[0..len) is valid UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
int fa__utf8_valid(const char *s, size_t len);

/* A malloc'd, NUL-terminated copy of s[0..len) with every invalid sequence replaced by U+FFFD;
 * *out_len gets its length. NULL on allocation failure. */
char *fa__utf8_sanitize(const char *s, size_t len, size_t *out_len);

#endif
