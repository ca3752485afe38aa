/* test_feed.c - a file placed on the timeline, read block by block through
 * a real source: silence before its offset and after its end, its own
 * samples in between, and a loop that splits a block continuing at the
 * loop start's samples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "feed.h"
#include "source.h"
#include "timeline.h"

#define RATE 48000
#define FRAMES 1000     /* the file's length */
#define OFFSET 300      /* where it starts on the timeline */
#define BLOCK 64

static char dir[128];

/* Frame i of the file: left (i + 1) / 1024, right its negative; every
 * frame is different and exact in float. */
static float left(int64_t i) { return (float)(i + 1) / 1024.0f; }

static void write_file(const char *name, int channels)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    SF_INFO info = {.samplerate = RATE, .channels = channels,
                    .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *sf = sf_open(p, SFM_WRITE, &info);
    assert_non_null(sf);
    float buf[FRAMES * 2];
    for (int i = 0; i < FRAMES; i++) {
        buf[i * channels] = left(i);
        if (channels == 2)
            buf[i * 2 + 1] = -left(i);
    }
    assert_int_equal(sf_writef_float(sf, buf, FRAMES), FRAMES);
    sf_close(sf);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/shmix-test-feed-XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_file("stereo.wav", 2);
    write_file("mono.wav", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

/* A stereo feed of `name` at OFFSET, blocks of BLOCK frames. */
static struct feed *open_feed(const char *name)
{
    char p[256], err[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct source *src = NULL;
    if (source_open(p, RATE, 2, &src, err, sizeof err) != SHX_OK)
        fail_msg("%s: %s", name, err);
    struct feed *f = NULL;
    assert_int_equal(feed_create(src, OFFSET, BLOCK, 2, &f), SHX_OK);
    return f;
}

/* Reads the block at pos over a block full of 99s (so silence must be
 * written, not left); returns where the next block starts. */
static int64_t read_block(struct feed *f, const struct timeline *tl, int64_t pos, float *out)
{
    for (int i = 0; i < BLOCK * 2; i++)
        out[i] = 99.0f;
    return feed_read(f, tl, pos, out);
}

/* Frames [k, k + n) of the block are silence. */
static void assert_silence(const float *out, int k, int n)
{
    for (int j = k; j < k + n; j++)
        if (out[2 * j] != 0.0f || out[2 * j + 1] != 0.0f)
            fail_msg("frame %d of the block: %g %g, wanted silence", j, out[2 * j],
                     out[2 * j + 1]);
}

/* Frames [k, k + n) of the block are the file's frames from `from` on. */
static void assert_file(const float *out, int k, int n, int64_t from)
{
    for (int j = 0; j < n; j++) {
        float l = out[2 * (k + j)], r = out[2 * (k + j) + 1];
        if (l != left(from + j) || r != -left(from + j))
            fail_msg("frame %d of the block: %g %g, wanted file frame %lld (%g %g)", k + j, l,
                     r, (long long)(from + j), left(from + j), -left(from + j));
    }
}

static const struct timeline straight = {.start = 0, .looping = 0};

static void test_silence_file_silence(void **state)
{
    (void)state;
    struct feed *f = open_feed("stereo.wav");
    assert_int_equal(feed_file_channels(f), 2);
    float out[BLOCK * 2];
    /* Before the offset. */
    assert_int_equal(read_block(f, &straight, 0, out), BLOCK);
    assert_silence(out, 0, BLOCK);
    /* The block across the offset: 44 frames of silence, then the file. */
    assert_int_equal(read_block(f, &straight, 256, out), 320);
    assert_silence(out, 0, 44);
    assert_file(out, 44, 20, 0);
    /* The next block continues it; one further on seeks. */
    assert_int_equal(read_block(f, &straight, 320, out), 384);
    assert_file(out, 0, BLOCK, 20);
    assert_int_equal(read_block(f, &straight, 600, out), 664);
    assert_file(out, 0, BLOCK, 300);
    /* Back to an earlier place. */
    assert_int_equal(read_block(f, &straight, 310, out), 374);
    assert_file(out, 0, BLOCK, 10);
    /* The block across the end (300 + 1000): the last 20 frames, then
     * silence. */
    assert_int_equal(read_block(f, &straight, 1280, out), 1344);
    assert_file(out, 0, 20, 980);
    assert_silence(out, 20, 44);
    /* After the end. */
    assert_int_equal(read_block(f, &straight, 1300, out), 1364);
    assert_silence(out, 0, BLOCK);
    assert_int_equal(read_block(f, &straight, 100000, out), 100064);
    assert_silence(out, 0, BLOCK);
    feed_destroy(f);
}

static void test_loop_splits_a_block(void **state)
{
    (void)state;
    struct feed *f = open_feed("stereo.wav");
    /* Loop over timeline [400, 500): the file's frames 100..199. */
    const struct timeline tl = {.start = 0, .looping = 1, .loop_start = 400, .loop_end = 500};
    float out[BLOCK * 2];
    /* 20 frames up to the loop end, then 44 from the loop start. */
    assert_int_equal(read_block(f, &tl, 480, out), 444);
    assert_file(out, 0, 20, 180);
    assert_file(out, 20, 44, 100);
    /* The next block: on to the end, and round again. */
    assert_int_equal(read_block(f, &tl, 444, out), 408);
    assert_file(out, 0, 56, 144);
    assert_file(out, 56, 8, 100);
    feed_destroy(f);
}

static void test_loop_shorter_than_a_block(void **state)
{
    (void)state;
    struct feed *f = open_feed("stereo.wav");
    /* A 20-frame loop [400, 420): from 410, 10 frames, the loop twice, and
     * 14 frames. */
    const struct timeline tl = {.start = 0, .looping = 1, .loop_start = 400, .loop_end = 420};
    float out[BLOCK * 2];
    assert_int_equal(read_block(f, &tl, 410, out), 414);
    assert_file(out, 0, 10, 110);
    assert_file(out, 10, 20, 100);
    assert_file(out, 30, 20, 100);
    assert_file(out, 50, 14, 100);
    feed_destroy(f);
}

static void test_loop_past_the_ends_of_the_file(void **state)
{
    (void)state;
    struct feed *f = open_feed("stereo.wav");
    float out[BLOCK * 2];
    /* A loop [1200, 1400) over the file's end (1300): silence until the
     * loop end, then the file again from its frame 900. */
    const struct timeline tail = {.start = 0, .looping = 1, .loop_start = 1200,
                                  .loop_end = 1400};
    assert_int_equal(read_block(f, &tail, 1280, out), 1344);
    assert_file(out, 0, 20, 980);
    assert_silence(out, 20, 44);
    assert_int_equal(read_block(f, &tail, 1376, out), 1240);
    assert_silence(out, 0, 24);
    assert_file(out, 24, 40, 900);
    /* A loop [0, 400) starting before the file's offset: after the wrap
     * the block is silent again. */
    const struct timeline head = {.start = 0, .looping = 1, .loop_start = 0, .loop_end = 400};
    assert_int_equal(read_block(f, &head, 380, out), 44);
    assert_file(out, 0, 20, 80);
    assert_silence(out, 20, 44);
    feed_destroy(f);
}

static void test_mono_file_in_stereo(void **state)
{
    (void)state;
    struct feed *f = open_feed("mono.wav");
    assert_int_equal(feed_file_channels(f), 1);
    float out[BLOCK * 2];
    assert_int_equal(read_block(f, &straight, 290, out), 354);
    assert_silence(out, 0, 10);
    for (int j = 10; j < BLOCK; j++) {   /* the one channel on both */
        assert_true(out[2 * j] == left(j - 10));
        assert_true(out[2 * j + 1] == left(j - 10));
    }
    feed_destroy(f);
    feed_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_silence_file_silence),
        cmocka_unit_test(test_loop_splits_a_block),
        cmocka_unit_test(test_loop_shorter_than_a_block),
        cmocka_unit_test(test_loop_past_the_ends_of_the_file),
        cmocka_unit_test(test_mono_file_in_stereo),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
