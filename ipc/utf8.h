/* utf8.h - cutting and checking UTF-8 text. Names, error lines and
 * messages are cut to fixed sizes in many places (a track name at 63
 * bytes, last_error at 255, a worker's message at its slot); a cut in the
 * middle of a character would leave bytes that are not UTF-8, which a
 * worker's JSON decoder or a stats reader then rejects.
 *
 * Pure functions; any thread, real-time safe. */
#ifndef SHX_UTF8_H
#define SHX_UTF8_H

#include <stddef.h>

/* The longest prefix of s[0..n) of at most max bytes that does not end
 * inside a multi-byte character. */
size_t utf8_cut(const char *s, size_t n, size_t max);

/* Copies src into dst (cap bytes with the NUL), cut on a character
 * boundary. Returns the bytes copied. */
size_t utf8_copy(char *dst, size_t cap, const char *src);

/* The length of the valid UTF-8 sequence at s[0..n) (1..4), or 0 when the
 * bytes there are not one (a stray continuation byte, an overlong form, a
 * surrogate, a truncated sequence, a code point past U+10FFFF). */
size_t utf8_seq(const unsigned char *s, size_t n);

#endif
