/* utf8.c - cutting and checking UTF-8; see utf8.h. */
#include "utf8.h"

#include <string.h>

size_t utf8_seq(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (len == 0 || c > 0xf4 || len > n)
        return 0;   /* a continuation byte, an overlong lead, too high, or cut */
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    /* The second byte's range rules out overlong forms, surrogates and
     * code points past U+10FFFF (RFC 3629's table). */
    unsigned b = s[1];
    if ((c == 0xe0 && b < 0xa0) || (c == 0xed && b > 0x9f) || (c == 0xf0 && b < 0x90)
        || (c == 0xf4 && b > 0x8f))
        return 0;
    return len;
}

size_t utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t k = max;
    /* Back over continuation bytes to the start of the character that the
     * cut falls in; keep it only if it ends at or before max. */
    while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
        k--;
    return k;
}

size_t utf8_copy(char *dst, size_t cap, const char *src)
{
    if (cap == 0)
        return 0;
    size_t n = utf8_cut(src, strlen(src), cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}
