/* json.h - a small JSON text writer: the one place shmix escapes strings
 * for JSON (the LOAD request with a script's params, the stats lines).
 *
 * A growing buffer the caller owns (zero-initialise it); an allocation
 * failure is sticky, so a writer may chain calls and check once. Not
 * real-time (it allocates). */
#ifndef SHX_JSON_H
#define SHX_JSON_H

#include <stddef.h>

struct json {
    char *p;                      /* the text, NUL-terminated; NULL before the first write */
    size_t len, cap;              /* bytes */
    int failed;                   /* an allocation failed; the text is incomplete */
};

/* Appends n bytes as they are (JSON the caller wrote). Returns !j->failed. */
int json_raw(struct json *j, const char *s, size_t n);
/* Appends a NUL-terminated string as it is. Returns !j->failed. */
int json_put(struct json *j, const char *s);
/* Appends s as a JSON string: quoted, with '"', '\\' and control bytes
 * escaped; bytes that are not UTF-8 become U+FFFD, so the text is always
 * valid UTF-8. Returns !j->failed. */
int json_str(struct json *j, const char *s);
/* Appends printf-formatted text as it is (numbers). Returns !j->failed. */
int json_fmt(struct json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees the text and zeroes j. */
void json_free(struct json *j);

#endif
