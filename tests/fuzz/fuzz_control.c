/* fuzz_control.c - libFuzzer target: datagram bytes into the control
 * decoder.
 *
 * Whatever the bytes, ctl_decode either rejects them with a one-line
 * reason that is safe to print (valid UTF-8, no control characters) or
 * returns a message whose every field is in the range the contract's
 * table allows - the applying side relies on that and checks nothing
 * again. It never crashes, leaks or reads past the datagram (the bytes are
 * copied into a buffer of exactly their size, so AddressSanitizer sees any
 * overread). The reply decoder gets the same bytes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "errors.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_control: invariant broken: %s\n", what);
        abort();
    }
}

static int valid_utf8(const char *s)
{
    size_t n = strlen(s), k;
    for (size_t i = 0; i < n; i += k)
        if ((k = utf8_seq((const unsigned char *)s + i, n - i)) == 0)
            return 0;
    return 1;
}

static int terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* Printable: no byte below 0x20, no DEL, no C1 control (U+0080..U+009F). */
static int printable(const char *s)
{
    for (const unsigned char *u = (const unsigned char *)s; *u; u++)
        if (*u < 0x20 || *u == 0x7f || (u[0] == 0xc2 && u[1] >= 0x80 && u[1] < 0xa0))
            return 0;
    return 1;
}

/* value_json is one JSON scalar: true, false, null, a finite number, or a
 * string in quotes whose inside has no raw control byte or bare quote. */
static int json_scalar(const char *v)
{
    if (!strcmp(v, "true") || !strcmp(v, "false") || !strcmp(v, "null"))
        return 1;
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        for (size_t i = 1; i + 1 < n; i++) {
            unsigned char c = (unsigned char)v[i];
            if (c < 0x20)
                return 0;
            if (c == '\\') {
                i++;   /* the escaped character */
                if (i + 1 >= n)
                    return 0;
            } else if (c == '"') {
                return 0;
            }
        }
        return valid_utf8(v);
    }
    char *end;
    double d = strtod(v, &end);
    return n > 0 && !*end && isfinite(d) && strspn(v, "0123456789+-.e") == n;
}

static void check_message(const struct ctl_msg *m, const struct ctl_names *names)
{
    int track_kind = m->kind <= CTL_RELOAD;
    check((unsigned)m->kind < CTL_KIND_COUNT, "kind");
    check(track_kind ? m->track >= 0 && m->track < names->count : m->track == -1, "track");
    check(isfinite(m->a) && isfinite(m->b), "finite values");
    switch (m->kind) {
    case CTL_GAIN:
    case CTL_MASTER_GAIN: check(m->a >= -120 && m->a <= 24, "gain range"); break;
    case CTL_PAN: check(m->a >= -1 && m->a <= 1, "pan range"); break;
    case CTL_MUTE:
    case CTL_SOLO:
    case CTL_LOOP_ON: check(m->a == 0 || m->a == 1, "0 or 1"); break;
    case CTL_SEEK: check(m->a >= 0, "seek >= 0"); break;
    case CTL_LOOP_REGION: check(m->a >= 0 && m->b > m->a, "loop region"); break;
    case CTL_SUBSCRIBE: check(m->a > 0 && m->a <= CTL_SUBSCRIBE_MAX_HZ, "subscribe rate"); break;
    case CTL_PARAM:
        check(terminated(m->key, sizeof m->key) && m->key[0], "key");
        check(strspn(m->key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789_.-") == strlen(m->key), "key characters");
        check(terminated(m->value_json, sizeof m->value_json), "value terminated");
        check(json_scalar(m->value_json), "value is one JSON scalar");
        break;
    default: break;
    }
    if (m->kind != CTL_PARAM)
        check(m->key[0] == '\0' && m->value_json[0] == '\0', "no key or value");
    char address[1024];
    check(ctl_address(m, names, address, sizeof address) == SHX_OK, "an address");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const track_names[] = {"drums", "bass", "2", "a/b", "x"};
    static const struct ctl_names names = {track_names, 5};
    uint8_t *copy = malloc(size ? size : 1);
    check(copy != NULL, "malloc");
    if (size)
        memcpy(copy, data, size);

    struct ctl_msg m;
    char reason[CTL_REASON_MAX];
    memset(reason, 'x', sizeof reason);
    int rc = ctl_decode(copy, size, &names, &m, reason, sizeof reason);
    if (rc == SHX_OK) {
        check(reason[0] == '\0', "no reason on success");
        check_message(&m, &names);
    } else {
        check(rc == SHX_EBADMSG || rc == SHX_ENOMEM, "error code");
        check(terminated(reason, sizeof reason), "reason terminated");
        check(reason[0] != '\0', "a reason");
        check(printable(reason), "reason printable, one line");
        check(valid_utf8(reason), "reason is UTF-8");
        check(m.track == -1 && m.key[0] == '\0', "nothing half-decoded");
    }

    char address[64], text[512];
    rc = ctl_decode_reply(copy, size, address, sizeof address, text, sizeof text);
    check(rc == SHX_OK || rc == SHX_EBADMSG || rc == SHX_EFULL || rc == SHX_ENOMEM,
          "reply error code");
    if (rc == SHX_OK)
        check(terminated(address, sizeof address) && terminated(text, sizeof text),
              "reply terminated");
    free(copy);
    return 0;
}
