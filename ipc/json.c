/* json.c - the JSON text writer; see json.h. */
#include "json.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and the NUL. */
static int reserve(struct json *j, size_t n)
{
    if (j->failed)
        return 0;
    if (j->len + n + 1 <= j->cap)
        return 1;
    size_t c = j->cap ? j->cap * 2 : 256;
    while (c < j->len + n + 1)
        c *= 2;
    char *p = realloc(j->p, c);
    if (!p) {
        j->failed = 1;
        return 0;
    }
    j->p = p;
    j->cap = c;
    return 1;
}

int json_raw(struct json *j, const char *s, size_t n)
{
    if (!reserve(j, n))
        return 0;
    memcpy(j->p + j->len, s, n);
    j->len += n;
    j->p[j->len] = '\0';
    return 1;
}

int json_put(struct json *j, const char *s)
{
    return json_raw(j, s, strlen(s));
}

int json_str(struct json *j, const char *s)
{
    json_raw(j, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            json_raw(j, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            json_raw(j, esc, 6);
        } else if (c < 0x80) {
            json_raw(j, (const char *)&c, 1);
        } else {
            /* Whole UTF-8 characters pass; a byte that is not part of one
             * (a name in Latin-1, a cut made elsewhere) becomes U+FFFD, so
             * the text is always valid UTF-8 JSON. */
            /* At most 4 bytes to look at; the NUL ends a cut sequence. */
            size_t n = utf8_seq((const unsigned char *)s, strnlen(s, 4));
            if (n == 0)
                json_raw(j, "\xef\xbf\xbd", 3);
            else
                json_raw(j, s, n);
            s += n ? n - 1 : 0;
        }
    }
    return json_raw(j, "\"", 1);
}

int json_fmt(struct json *j, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        j->failed = 1;
        return 0;
    }
    if ((size_t)n < sizeof small)
        return json_raw(j, small, (size_t)n);
    if (!reserve(j, (size_t)n))
        return 0;
    va_start(ap, fmt);
    vsnprintf(j->p + j->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    j->len += (size_t)n;
    return 1;
}

void json_free(struct json *j)
{
    free(j->p);
    memset(j, 0, sizeof *j);
}
