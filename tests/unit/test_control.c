/* test_control.c - control messages: every address of the contract's
 * table decoded with each type it takes, every kind of rejection with its
 * one-line reason, and the replies through an encode/decode round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lo/lo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "errors.h"

static const char *const track_names[] = {"drums", "bass", "2", "a/b"};
static const struct ctl_names names = {track_names, 4};
static struct ctl_msg m;
static char reason[CTL_REASON_MAX];

#define F(x) {.type = 'f', .f = (x)}
#define D(x) {.type = 'd', .f = (x)}
#define I(x) {.type = 'i', .i = (x)}
#define H(x) {.type = 'h', .i = (x)}
#define S(x) {.type = 's', .s = (x)}
#define SYM(x) {.type = 'S', .s = (x)}
#define T {.type = 'T'}
#define FALSE {.type = 'F'}
#define N {.type = 'N'}
#define ARGS(...) (int)(sizeof((struct ctl_arg[]){__VA_ARGS__}) / sizeof(struct ctl_arg)), \
                  (struct ctl_arg[]){__VA_ARGS__}

/* Encodes path with args, decodes it into m and reason. */
static int dec(const char *path, int n, const struct ctl_arg *args)
{
    unsigned char buf[CTL_PACKET_MAX];
    size_t len = 0;
    assert_int_equal(ctl_encode(path, args, n, buf, sizeof buf, &len), SHX_OK);
    memset(reason, 'x', sizeof reason);
    int rc = ctl_decode(buf, len, &names, &m, reason, sizeof reason);
    if (rc == SHX_OK)
        assert_string_equal(reason, "");
    return rc;
}

/* Decodes a message liblo built itself (types our encoder refuses). */
static int dec_lo(const char *path, lo_message msg)
{
    size_t len = 0;
    void *data = lo_message_serialise(msg, path, NULL, &len);
    assert_non_null(data);
    int rc = ctl_decode(data, len, &names, &m, reason, sizeof reason);
    free(data);
    lo_message_free(msg);
    return rc;
}

static void ok(int rc, enum ctl_kind kind, int track, double a)
{
    assert_int_equal(rc, SHX_OK);
    assert_int_equal(m.kind, kind);
    assert_int_equal(m.track, track);
    assert_true(m.a == a);
}

static void rejected(int rc, const char *want)
{
    assert_int_equal(rc, SHX_EBADMSG);
    assert_string_equal(reason, want);
}

static void test_track_addresses(void **state)
{
    (void)state;
    ok(dec("/shmix/track/drums/gain_db", ARGS(F(-6))), CTL_GAIN, 0, -6);
    ok(dec("/shmix/track/drums/gain_db", ARGS(I(-6))), CTL_GAIN, 0, -6);
    ok(dec("/shmix/track/bass/gain_db", ARGS(D(24))), CTL_GAIN, 1, 24);
    ok(dec("/shmix/track/1/gain_db", ARGS(H(-120))), CTL_GAIN, 1, -120);
    ok(dec("/shmix/track/0/pan", ARGS(F(0.5))), CTL_PAN, 0, 0.5);
    ok(dec("/shmix/track/0/pan", ARGS(I(-1))), CTL_PAN, 0, -1);
    ok(dec("/shmix/track/bass/mute", ARGS(I(1))), CTL_MUTE, 1, 1);
    ok(dec("/shmix/track/bass/mute", ARGS(I(0))), CTL_MUTE, 1, 0);
    ok(dec("/shmix/track/bass/mute", ARGS(T)), CTL_MUTE, 1, 1);
    ok(dec("/shmix/track/bass/mute", ARGS(FALSE)), CTL_MUTE, 1, 0);
    ok(dec("/shmix/track/drums/solo", ARGS(T)), CTL_SOLO, 0, 1);
    ok(dec("/shmix/track/drums/solo", ARGS(I(0))), CTL_SOLO, 0, 0);
    ok(dec("/shmix/track/drums/restart", 0, NULL), CTL_RESTART, 0, 0);
    ok(dec("/shmix/track/3/reload", 0, NULL), CTL_RELOAD, 3, 0);
    /* A name wins over an index; a name may hold '/'. */
    ok(dec("/shmix/track/2/pan", ARGS(F(0))), CTL_PAN, 2, 0);
    ok(dec("/shmix/track/a/b/pan", ARGS(F(1))), CTL_PAN, 3, 1);
    ok(dec("/shmix/track/a/b/param/x", ARGS(F(1))), CTL_PARAM, 3, 0);
    assert_string_equal(m.key, "x");
}

static void param(const struct ctl_arg *a, const char *json)
{
    assert_int_equal(dec("/shmix/track/drums/param/cutoff_hz", 1, a), SHX_OK);
    assert_int_equal(m.kind, CTL_PARAM);
    assert_int_equal(m.track, 0);
    assert_string_equal(m.key, "cutoff_hz");
    assert_string_equal(m.value_json, json);
}

static void test_param_values(void **state)
{
    (void)state;
    param((struct ctl_arg[]){F(800)}, "800.0");
    param((struct ctl_arg[]){F(0.1)}, "0.1");          /* not 0.100000001 */
    param((struct ctl_arg[]){F(-2.5e-7)}, "-2.5e-07");
    param((struct ctl_arg[]){F(3e20)}, "3e+20");
    param((struct ctl_arg[]){D(0.1)}, "0.1");
    param((struct ctl_arg[]){D(1.0 / 3)}, "0.3333333333333333");
    param((struct ctl_arg[]){I(3)}, "3");
    param((struct ctl_arg[]){I(-2147483647 - 1)}, "-2147483648");
    param((struct ctl_arg[]){H(1LL << 40)}, "1099511627776");
    param((struct ctl_arg[]){S("lowpass")}, "\"lowpass\"");
    param((struct ctl_arg[]){S("a \"q\" \\ \n\x01 é")}, "\"a \\\"q\\\" \\\\ \\u000a\\u0001 é\"");
    param((struct ctl_arg[]){S("")}, "\"\"");
    param((struct ctl_arg[]){SYM("sym")}, "\"sym\"");
    param((struct ctl_arg[]){T}, "true");
    param((struct ctl_arg[]){FALSE}, "false");
    param((struct ctl_arg[]){N}, "null");
    /* Keys: identifier-ish, up to 63 bytes. */
    assert_int_equal(dec("/shmix/track/bass/param/lfo.rate-2_B", ARGS(I(1))), SHX_OK);
    assert_string_equal(m.key, "lfo.rate-2_B");
    char path[200], key[64];
    memset(key, 'k', 63);
    key[63] = '\0';
    snprintf(path, sizeof path, "/shmix/track/bass/param/%s", key);
    assert_int_equal(dec(path, ARGS(I(1))), SHX_OK);
    assert_string_equal(m.key, key);
    /* The longest string that fits: 253 bytes and its quotes. */
    char s[300];
    memset(s, 'a', 253);
    s[253] = '\0';
    assert_int_equal(dec("/shmix/track/0/param/s", ARGS(S(s))), SHX_OK);
    assert_int_equal(strlen(m.value_json), 255);
}

static void test_global_addresses(void **state)
{
    (void)state;
    ok(dec("/shmix/master/gain_db", ARGS(F(-3))), CTL_MASTER_GAIN, -1, -3);
    ok(dec("/shmix/master/gain_db", ARGS(I(0))), CTL_MASTER_GAIN, -1, 0);
    ok(dec("/shmix/transport/play", 0, NULL), CTL_PLAY, -1, 0);
    ok(dec("/shmix/transport/pause", 0, NULL), CTL_PAUSE, -1, 0);
    ok(dec("/shmix/transport/stop", 0, NULL), CTL_STOP, -1, 0);
    ok(dec("/shmix/transport/seek", ARGS(F(12.5))), CTL_SEEK, -1, 12.5);
    ok(dec("/shmix/transport/seek", ARGS(I(0))), CTL_SEEK, -1, 0);
    ok(dec("/shmix/transport/loop", ARGS(I(1))), CTL_LOOP_ON, -1, 1);
    ok(dec("/shmix/transport/loop", ARGS(I(0))), CTL_LOOP_ON, -1, 0);
    ok(dec("/shmix/transport/loop", ARGS(T)), CTL_LOOP_ON, -1, 1);
    ok(dec("/shmix/transport/loop", ARGS(F(2), F(6.5))), CTL_LOOP_REGION, -1, 2);
    assert_true(m.b == 6.5);
    ok(dec("/shmix/transport/loop", ARGS(I(0), I(4))), CTL_LOOP_REGION, -1, 0);
    assert_true(m.b == 4);
    ok(dec("/shmix/stats", 0, NULL), CTL_STATS, -1, 0);
    ok(dec("/shmix/subscribe", ARGS(F(10))), CTL_SUBSCRIBE, -1, 10);
    ok(dec("/shmix/subscribe", ARGS(I(50))), CTL_SUBSCRIBE, -1, 50);
    ok(dec("/shmix/subscribe", ARGS(F(0.5))), CTL_SUBSCRIBE, -1, 0.5);
    ok(dec("/shmix/unsubscribe", 0, NULL), CTL_UNSUBSCRIBE, -1, 0);
    ok(dec("/shmix/ping", 0, NULL), CTL_PING, -1, 0);
}

static void test_address_rejections(void **state)
{
    (void)state;
    rejected(dec("/shmix/foo", 0, NULL), "unknown address /shmix/foo");
    rejected(dec("/other/ping", 0, NULL), "unknown address /other/ping");
    rejected(dec("/shmix/ping/", 0, NULL), "unknown address /shmix/ping/");
    rejected(dec("/shmix/track/drums/volume", ARGS(F(1))),
             "unknown address /shmix/track/drums/volume");
    rejected(dec("/shmix/track/drums", 0, NULL), "unknown address /shmix/track/drums");
    rejected(dec("/shmix/track/x/gain_db", ARGS(F(0))), "no track 'x'");
    rejected(dec("/shmix/track//gain_db", ARGS(F(0))), "no track ''");
    rejected(dec("/shmix/track/*/mute", ARGS(I(1))), "no track '*'");   /* no patterns */
    rejected(dec("/shmix/track/9/gain_db", ARGS(F(0))), "no track '9' (4 tracks: 0..3)");
    rejected(dec("/shmix/track/-1/gain_db", ARGS(F(0))), "no track '-1'");
    rejected(dec("/shmix/track/99999999999/gain_db", ARGS(F(0))), "no track '99999999999'");
    /* What the sender wrote is quoted safely for a terminal. */
    rejected(dec("/shmix/track/\x1b[2J\\\xc2\x9b\xff/pan", ARGS(F(0))),
             "no track '\\x1b[2J\\x5c\\xc2\\x9b\\xff'");
    char longname[300];
    memset(longname, 'n', sizeof longname);
    memcpy(longname, "/shmix/x", 8);
    longname[299] = '\0';
    assert_int_equal(dec(longname, 0, NULL), SHX_EBADMSG);
    assert_non_null(strstr(reason, "..."));
    assert_true(strlen(reason) < 100);
    /* No tracks at all. */
    unsigned char buf[256];
    size_t len;
    struct ctl_names none = {NULL, 0};
    assert_int_equal(ctl_encode("/shmix/track/0/pan", (struct ctl_arg[]){F(0)}, 1, buf,
                                sizeof buf, &len), SHX_OK);
    assert_int_equal(ctl_decode(buf, len, &none, &m, reason, sizeof reason), SHX_EBADMSG);
    assert_string_equal(reason, "no track '0' (the session has no tracks)");
    assert_int_equal(ctl_decode(buf, len, NULL, &m, reason, sizeof reason), SHX_EBADMSG);
}

static void test_type_rejections(void **state)
{
    (void)state;
    rejected(dec("/shmix/track/drums/gain_db", ARGS(S("loud"))), "gain_db: expected f, got s");
    rejected(dec("/shmix/track/drums/gain_db", 0, NULL), "gain_db: expected f, got nothing");
    rejected(dec("/shmix/track/drums/gain_db", ARGS(F(1), F(2))), "gain_db: expected f, got ff");
    rejected(dec("/shmix/track/drums/gain_db", ARGS(T)), "gain_db: expected f, got T");
    rejected(dec("/shmix/master/gain_db", ARGS(N)), "gain_db: expected f, got N");
    rejected(dec("/shmix/track/drums/mute", ARGS(F(1))), "mute: expected i or T/F, got f");
    rejected(dec("/shmix/track/drums/solo", 0, NULL), "solo: expected i or T/F, got nothing");
    rejected(dec("/shmix/transport/loop", ARGS(S("on"))), "loop: expected i, or f f, got s");
    rejected(dec("/shmix/transport/loop", ARGS(F(1))), "loop: expected i, or f f, got f");
    rejected(dec("/shmix/transport/loop", ARGS(F(1), S("x"))), "loop: expected i, or f f, got fs");
    rejected(dec("/shmix/transport/seek", ARGS(S("1"))), "seek: expected f, got s");
    rejected(dec("/shmix/ping", ARGS(I(1))), "ping: expected no arguments, got i");
    rejected(dec("/shmix/transport/play", ARGS(F(1))), "play: expected no arguments, got f");
    rejected(dec("/shmix/track/0/restart", ARGS(T)), "restart: expected no arguments, got T");
    rejected(dec("/shmix/subscribe", 0, NULL), "subscribe: expected f, got nothing");
    rejected(dec("/shmix/track/0/param/k", 0, NULL),
             "param/k: expected f, i, s, T, F or N, got nothing");
    rejected(dec("/shmix/track/0/param/k", ARGS(I(1), I(2))),
             "param/k: expected f, i, s, T, F or N, got ii");
    /* Types our own encoder does not write, from liblo. */
    lo_message msg = lo_message_new();
    lo_message_add_char(msg, 'x');
    rejected(dec_lo("/shmix/track/0/param/k", msg), "param/k: expected f, i, s, T, F or N, got c");
    msg = lo_message_new();
    lo_message_add_infinitum(msg);
    rejected(dec_lo("/shmix/track/0/gain_db", msg), "gain_db: expected f, got I");
    msg = lo_message_new();
    lo_blob blob = lo_blob_new(3, "abc");
    lo_message_add_blob(msg, blob);
    rejected(dec_lo("/shmix/track/0/param/k", msg),
             "/shmix/track/0/param/k: blob arguments are not accepted");
    lo_blob_free(blob);
    msg = lo_message_new();
    for (int i = 0; i < 9; i++)
        lo_message_add_int32(msg, i);
    rejected(dec_lo("/shmix/ping", msg), "/shmix/ping: expected at most 2 arguments, got 9");
}

static void test_range_rejections(void **state)
{
    (void)state;
    rejected(dec("/shmix/track/drums/gain_db", ARGS(F(-200))),
             "gain_db: -200 is out of range -120..24");
    rejected(dec("/shmix/track/drums/gain_db", ARGS(I(25))), "gain_db: 25 is out of range -120..24");
    rejected(dec("/shmix/master/gain_db", ARGS(F(24.5))), "gain_db: 24.5 is out of range -120..24");
    rejected(dec("/shmix/track/drums/gain_db", ARGS(F(NAN))),
             "gain_db: expected a finite number, got nan");
    rejected(dec("/shmix/track/drums/pan", ARGS(F(-INFINITY))),
             "pan: expected a finite number, got -inf");
    rejected(dec("/shmix/track/drums/pan", ARGS(F(1.5))), "pan: 1.5 is out of range -1..1");
    rejected(dec("/shmix/track/drums/mute", ARGS(I(2))), "mute: 2 is out of range (0 or 1)");
    rejected(dec("/shmix/track/drums/solo", ARGS(I(-1))), "solo: -1 is out of range (0 or 1)");
    rejected(dec("/shmix/transport/loop", ARGS(I(5))), "loop: 5 is out of range (0 or 1)");
    rejected(dec("/shmix/transport/loop", ARGS(F(4), F(2))),
             "loop: the region 4..2 is not 0 <= start < end");
    rejected(dec("/shmix/transport/loop", ARGS(F(2), F(2))),
             "loop: the region 2..2 is not 0 <= start < end");
    rejected(dec("/shmix/transport/loop", ARGS(F(-1), F(2))),
             "loop: the region -1..2 is not 0 <= start < end");
    rejected(dec("/shmix/transport/loop", ARGS(F(0), F(INFINITY))),
             "loop: expected finite numbers, got 0 inf");
    rejected(dec("/shmix/transport/seek", ARGS(F(-1))), "seek: -1 is out of range (must be >= 0)");
    rejected(dec("/shmix/transport/seek", ARGS(D(NAN))), "seek: expected a finite number, got nan");
    rejected(dec("/shmix/subscribe", ARGS(F(0))), "subscribe: 0 is out of range (0 < Hz <= 50)");
    rejected(dec("/shmix/subscribe", ARGS(I(51))), "subscribe: 51 is out of range (0 < Hz <= 50)");
    rejected(dec("/shmix/subscribe", ARGS(F(-2))), "subscribe: -2 is out of range (0 < Hz <= 50)");
    /* Params. */
    rejected(dec("/shmix/track/0/param/k", ARGS(F(INFINITY))),
             "param/k: expected a finite number, got inf");
    rejected(dec("/shmix/track/0/param/k", ARGS(S("\xff\xfe"))),
             "param/k: the string is not valid UTF-8");
    char s[300];
    memset(s, 'a', 254);
    s[254] = '\0';
    rejected(dec("/shmix/track/0/param/k", ARGS(S(s))),
             "param/k: the string is too long (256 bytes as JSON, at most 255)");
    rejected(dec("/shmix/track/0/param/a b", ARGS(I(1))),
             "param key 'a b' is not 1..63 of A-Z a-z 0-9 _ . -");
    rejected(dec("/shmix/track/0/param/", ARGS(I(1))),
             "param key '' is not 1..63 of A-Z a-z 0-9 _ . -");
    rejected(dec("/shmix/track/0/param/a/b", ARGS(I(1))),
             "param key 'a/b' is not 1..63 of A-Z a-z 0-9 _ . -");
    char path[200], key[65];
    memset(key, 'k', 64);
    key[64] = '\0';
    snprintf(path, sizeof path, "/shmix/track/0/param/%s", key);
    assert_int_equal(dec(path, ARGS(I(1))), SHX_EBADMSG);
    assert_non_null(strstr(reason, "is not 1..63"));
}

static void test_malformed_packets(void **state)
{
    (void)state;
    unsigned char buf[CTL_PACKET_MAX + 16];
    size_t len;
    rejected(ctl_decode("", 0, &names, &m, reason, sizeof reason), "malformed OSC packet: empty");
    rejected(ctl_decode("abc", 3, &names, &m, reason, sizeof reason),
             "malformed OSC packet: the address is not a padded string");
    rejected(ctl_decode("/shmix/ping\0", 12, &names, &m, reason, sizeof reason),
             "malformed OSC packet: no type tag string");
    rejected(ctl_decode("/shmix/ping\0xyz\0", 16, &names, &m, reason, sizeof reason),
             "malformed OSC packet: the type tag string does not start with ','");
    rejected(ctl_decode("/shmix/ping\0,\0\0", 15, &names, &m, reason, sizeof reason),
             "malformed OSC packet: the type tag string is not a padded string");
    /* A float announced, no bytes for it; an unknown type tag. */
    rejected(ctl_decode("/shmix/ping\0,f\0\0", 16, &names, &m, reason, sizeof reason),
             "malformed OSC packet: an argument is malformed or of an unknown type");
    rejected(ctl_decode("/shmix/ping\0,?\0\0", 16, &names, &m, reason, sizeof reason),
             "malformed OSC packet: an argument is malformed or of an unknown type");
    /* Bytes left over after the arguments. */
    assert_int_equal(ctl_encode("/shmix/ping", NULL, 0, buf, sizeof buf, &len), SHX_OK);
    memset(buf + len, 0, 4);
    rejected(ctl_decode(buf, len + 4, &names, &m, reason, sizeof reason),
             "malformed OSC packet: its size does not match its arguments");
    /* A blob whose size word is cut off (liblo 0.31 would read past it). */
    rejected(ctl_decode("/x\0\0,b\0\0\0\0", 10, &names, &m, reason, sizeof reason),
             "/x: blob arguments are not accepted");
    /* Bundles. */
    lo_bundle b = lo_bundle_new(LO_TT_IMMEDIATE);
    lo_message msg = lo_message_new();
    lo_bundle_add_message(b, "/shmix/ping", msg);
    void *data = lo_bundle_serialise(b, NULL, &len);
    rejected(ctl_decode(data, len, &names, &m, reason, sizeof reason),
             "OSC bundles are not accepted: send one message per packet");
    free(data);
    lo_bundle_free_recursive(b);
    /* Too large. */
    memset(buf, 0, sizeof buf);
    rejected(ctl_decode(buf, CTL_PACKET_MAX + 1, &names, &m, reason, sizeof reason),
             "malformed OSC packet: 8193 bytes, at most 8192");
    /* A reason cut to a small buffer stays a NUL-terminated prefix. */
    char small[8];
    assert_int_equal(ctl_decode("", 0, &names, &m, small, sizeof small), SHX_EBADMSG);
    assert_string_equal(small, "malform");
}

static void test_parse_and_address(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "/shmix/track/drums/gain_db", "/shmix/track/bass/pan", "/shmix/track/2/mute",
        "/shmix/track/a/b/solo", "/shmix/track/drums/param/cutoff_hz",
        "/shmix/track/bass/restart", "/shmix/track/bass/reload", "/shmix/master/gain_db",
        "/shmix/transport/play", "/shmix/transport/pause", "/shmix/transport/stop",
        "/shmix/transport/seek", "/shmix/transport/loop", "/shmix/stats", "/shmix/subscribe",
        "/shmix/unsubscribe", "/shmix/ping",
    };
    struct ctl_arg one = I(1);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        int takes = strstr(paths[i], "restart") || strstr(paths[i], "reload")
                    || strstr(paths[i], "play") || strstr(paths[i], "pause")
                    || strstr(paths[i], "stop") || strstr(paths[i], "stats")
                    || strstr(paths[i], "unsub") || strstr(paths[i], "ping") ? 0 : 1;
        assert_int_equal(ctl_parse(paths[i], &one, takes, &names, &m, reason, sizeof reason),
                         SHX_OK);
        char back[128];
        assert_int_equal(ctl_address(&m, &names, back, sizeof back), SHX_OK);
        assert_string_equal(back, paths[i]);
        assert_int_equal(ctl_address(&m, &names, back, 8), SHX_EFULL);
    }
    /* By index in, by name out. */
    assert_int_equal(ctl_parse("/shmix/track/1/pan", &one, 1, &names, &m, reason, sizeof reason),
                     SHX_OK);
    char back[128];
    assert_int_equal(ctl_address(&m, &names, back, sizeof back), SHX_OK);
    assert_string_equal(back, "/shmix/track/bass/pan");
    assert_int_equal(ctl_address(&m, NULL, back, sizeof back), SHX_OK);
    assert_string_equal(back, "/shmix/track/1/pan");
    /* The loop region's address is loop's. */
    struct ctl_arg region[2] = {F(1), F(3)};
    assert_int_equal(ctl_parse("/shmix/transport/loop", region, 2, &names, &m, reason,
                               sizeof reason), SHX_OK);
    assert_int_equal(m.kind, CTL_LOOP_REGION);
    assert_int_equal(ctl_address(&m, &names, back, sizeof back), SHX_OK);
    assert_string_equal(back, "/shmix/transport/loop");
}

static void round_trip(const char *address, const char *text)
{
    static unsigned char buf[300000];
    static char a[64], t[200000];
    size_t len = 0;
    assert_int_equal(ctl_encode_reply(address, text, buf, sizeof buf, &len), SHX_OK);
    assert_int_equal(len % 4, 0);
    assert_int_equal(ctl_decode_reply(buf, len, a, sizeof a, t, sizeof t), SHX_OK);
    assert_string_equal(a, address);
    assert_string_equal(t, text ? text : "");
    /* liblo reads it the same way. */
    int res = 0;
    lo_message msg = lo_message_deserialise(buf, len, &res);
    assert_non_null(msg);
    assert_int_equal(lo_message_get_argc(msg), text ? 1 : 0);
    if (text)
        assert_string_equal((const char *)lo_message_get_argv(msg)[0], text);
    lo_message_free(msg);
}

static void test_replies(void **state)
{
    (void)state;
    round_trip(CTL_REPLY_OK, "/shmix/track/drums/gain_db");
    round_trip(CTL_REPLY_ERROR, "gain_db: -200 is out of range -120..24");
    round_trip(CTL_REPLY_PONG, NULL);
    round_trip(CTL_REPLY_STATS, "{\"time\": 1.5, \"tracks\": []}");
    round_trip(CTL_REPLY_STATS, "");
    char *big = malloc(150000);
    memset(big, 'x', 149999);
    big[149999] = '\0';
    round_trip(CTL_REPLY_STATS, big);
    free(big);

    unsigned char buf[64];
    char a[64], t[64];
    size_t len;
    /* The wire form, byte for byte (what oscsend writes). */
    assert_int_equal(ctl_encode_reply(CTL_REPLY_PONG, NULL, buf, sizeof buf, &len), SHX_OK);
    assert_int_equal(len, 16);
    assert_memory_equal(buf, "/shmix/pong\0,\0\0\0", 16);
    assert_int_equal(ctl_encode_reply(CTL_REPLY_ERROR, "0123456789012345678901234567890123456789"
                                      "0123456789012345678901234567890123456789", buf,
                                      sizeof buf, &len), SHX_EFULL);
    assert_int_equal(ctl_encode_reply("no-slash", NULL, buf, sizeof buf, &len), SHX_EUSAGE);
    assert_int_equal(ctl_encode("/x", (struct ctl_arg[]){{.type = 'b'}}, 1, buf, sizeof buf, &len),
                     SHX_EUSAGE);
    /* Not replies: two arguments, an int, garbage, too small buffers. */
    assert_int_equal(ctl_encode("/x", (struct ctl_arg[]){S("a"), S("b")}, 2, buf, sizeof buf,
                                &len), SHX_OK);
    assert_int_equal(ctl_decode_reply(buf, len, a, sizeof a, t, sizeof t), SHX_EBADMSG);
    assert_int_equal(ctl_encode("/x", (struct ctl_arg[]){I(1)}, 1, buf, sizeof buf, &len), SHX_OK);
    assert_int_equal(ctl_decode_reply(buf, len, a, sizeof a, t, sizeof t), SHX_EBADMSG);
    assert_int_equal(ctl_decode_reply("garbage", 7, a, sizeof a, t, sizeof t), SHX_EBADMSG);
    assert_int_equal(ctl_decode_reply("", 0, a, sizeof a, t, sizeof t), SHX_EBADMSG);
    assert_int_equal(ctl_encode_reply(CTL_REPLY_ERROR, "a longer reason", buf, sizeof buf, &len),
                     SHX_OK);
    assert_int_equal(ctl_decode_reply(buf, len, a, sizeof a, t, 4), SHX_EFULL);
    assert_int_equal(ctl_decode_reply(buf, len, a, 4, t, sizeof t), SHX_EFULL);
}

/* A message is a flat value: copying it through a queue keeps it whole. */
static void test_message_is_flat(void **state)
{
    (void)state;
    assert_int_equal(dec("/shmix/track/bass/param/mode", ARGS(S("x"))), SHX_OK);
    struct ctl_msg copy;
    memcpy(&copy, &m, sizeof m);
    memset(&m, 0, sizeof m);
    assert_int_equal(copy.kind, CTL_PARAM);
    assert_string_equal(copy.key, "mode");
    assert_string_equal(copy.value_json, "\"x\"");
    /* A rejected message leaves *out zeroed, track -1. */
    assert_int_equal(dec("/shmix/nope", 0, NULL), SHX_EBADMSG);
    assert_int_equal(m.track, -1);
    assert_int_equal(m.key[0], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_track_addresses),   cmocka_unit_test(test_param_values),
        cmocka_unit_test(test_global_addresses),  cmocka_unit_test(test_address_rejections),
        cmocka_unit_test(test_type_rejections),   cmocka_unit_test(test_range_rejections),
        cmocka_unit_test(test_malformed_packets), cmocka_unit_test(test_parse_and_address),
        cmocka_unit_test(test_replies),           cmocka_unit_test(test_message_is_flat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
