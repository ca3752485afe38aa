/* test_timeline.c - where blocks lie on the timeline: no loop, a loop
 * wrapping inside a block, loops shorter than a block, runs starting before
 * and after the loop, and jumps of many frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "timeline.h"

/* Looping over [1000, 2000): a 1000-frame loop. */
static const struct timeline loop1k = {.start = 0, .looping = 1, .loop_start = 1000,
                                       .loop_end = 2000};

static void assert_seg(const struct timeline_seg *s, int64_t pos, uint32_t frames)
{
    assert_int_equal(s->pos, pos);
    assert_int_equal(s->frames, frames);
}

static void test_no_loop_is_one_piece(void **state)
{
    (void)state;
    /* Loop bounds set but looping off: ignored. */
    struct timeline tl = loop1k;
    tl.looping = 0;
    struct timeline_seg segs[4];
    int64_t next = -1;
    assert_int_equal(timeline_segments(&tl, 1900, 256, segs, 4, &next), 1);
    assert_seg(&segs[0], 1900, 256);
    assert_int_equal(next, 2156);
    assert_int_equal(timeline_advance(&tl, 1900, 256), 2156);
    assert_int_equal(timeline_advance(&tl, 0, 1000000), 1000000);
}

static void test_loop_wraps_inside_a_block(void **state)
{
    (void)state;
    struct timeline_seg segs[4];
    int64_t next = -1;
    /* 100 frames up to the loop end, then 156 from the loop start. */
    assert_int_equal(timeline_segments(&loop1k, 1900, 256, segs, 4, &next), 2);
    assert_seg(&segs[0], 1900, 100);
    assert_seg(&segs[1], 1000, 156);
    assert_int_equal(next, 1156);
    assert_int_equal(timeline_advance(&loop1k, 1900, 256), 1156);
    /* A block ending exactly at the loop end is one piece; the next block
     * starts at the loop start. */
    assert_int_equal(timeline_segments(&loop1k, 1744, 256, segs, 4, &next), 1);
    assert_seg(&segs[0], 1744, 256);
    assert_int_equal(next, 1000);
    assert_int_equal(timeline_advance(&loop1k, 1744, 256), 1000);
    /* One frame short of it: no wrap yet. */
    assert_int_equal(timeline_segments(&loop1k, 1743, 256, segs, 4, &next), 1);
    assert_seg(&segs[0], 1743, 256);
    assert_int_equal(next, 1999);
}

static void test_loop_shorter_than_a_block(void **state)
{
    (void)state;
    /* A 100-frame loop [10, 110) and a 256-frame block from 50: 60 frames
     * to the end, the whole loop once, then 96 frames of it. */
    const struct timeline tl = {.start = 0, .looping = 1, .loop_start = 10, .loop_end = 110};
    struct timeline_seg segs[8];
    int64_t next = -1;
    assert_int_equal(timeline_segments(&tl, 50, 256, segs, 8, &next), 3);
    assert_seg(&segs[0], 50, 60);
    assert_seg(&segs[1], 10, 100);
    assert_seg(&segs[2], 10, 96);
    assert_int_equal(next, 106);
    assert_int_equal(timeline_advance(&tl, 50, 256), 106);
    /* A 3-frame loop: a 16-frame block from its start is 5 whole loops and
     * one frame. */
    const struct timeline tiny = {.start = 0, .looping = 1, .loop_start = 7, .loop_end = 10};
    assert_int_equal(timeline_segments(&tiny, 7, 16, segs, 8, &next), 6);
    for (int i = 0; i < 5; i++)
        assert_seg(&segs[i], 7, 3);
    assert_seg(&segs[5], 7, 1);
    assert_int_equal(next, 8);
    assert_int_equal(timeline_advance(&tiny, 7, 16), 8);
}

static void test_max_truncates(void **state)
{
    (void)state;
    /* Room for 2 of the 3 pieces: exactly the first two are written, and
     * nothing past max is touched. */
    const struct timeline tl = {.start = 0, .looping = 1, .loop_start = 10, .loop_end = 110};
    struct timeline_seg segs[4];
    for (int i = 0; i < 4; i++)
        segs[i] = (struct timeline_seg){.pos = -7, .frames = 7};
    int64_t next = -1;
    assert_int_equal(timeline_segments(&tl, 50, 256, segs, 2, &next), 2);
    assert_seg(&segs[0], 50, 60);
    assert_seg(&segs[1], 10, 100);
    assert_seg(&segs[2], -7, 7);
    /* max 1: only the piece up to the loop end. */
    assert_int_equal(timeline_segments(&tl, 50, 256, segs, 1, &next), 1);
    assert_seg(&segs[0], 50, 60);
    assert_seg(&segs[1], 10, 100);   /* left from before */
}

static void test_run_after_the_loop_plays_on(void **state)
{
    (void)state;
    struct timeline tl = loop1k;
    tl.start = 2500;
    struct timeline_seg segs[4];
    int64_t next = -1;
    assert_int_equal(timeline_segments(&tl, 2500, 256, segs, 4, &next), 1);
    assert_seg(&segs[0], 2500, 256);
    assert_int_equal(next, 2756);
    assert_int_equal(timeline_advance(&tl, 2500, 100000), 102500);
    /* Starting exactly at the loop end is after the loop too. */
    assert_int_equal(timeline_segments(&tl, 2000, 256, segs, 4, &next), 1);
    assert_seg(&segs[0], 2000, 256);
    assert_int_equal(next, 2256);
    assert_int_equal(timeline_advance(&tl, 2000, 5000), 7000);
}

static void test_run_before_the_loop_wraps_at_its_end(void **state)
{
    (void)state;
    /* From 0 in 256-frame blocks: through the loop start untouched, then
     * the block across 2000 wraps to 1000, and from then on it stays in
     * [1000, 2000). */
    struct timeline_seg segs[4];
    int64_t pos = 0, next = -1;
    for (int b = 0; b < 7; b++) {   /* 0 .. 1792 */
        assert_int_equal(timeline_segments(&loop1k, pos, 256, segs, 4, &next), 1);
        assert_seg(&segs[0], pos, 256);
        assert_int_equal(next, pos + 256);
        pos = next;
    }
    assert_int_equal(pos, 1792);
    assert_int_equal(timeline_segments(&loop1k, pos, 256, segs, 4, &next), 2);
    assert_seg(&segs[0], 1792, 208);
    assert_seg(&segs[1], 1000, 48);
    assert_int_equal(next, 1048);
    for (int b = 0; b < 100; b++) {
        int n = timeline_segments(&loop1k, next, 256, segs, 4, &next);
        uint32_t sum = 0;
        for (int i = 0; i < n; i++) {
            assert_true(segs[i].pos >= 1000 && segs[i].pos + segs[i].frames <= 2000);
            sum += segs[i].frames;
        }
        assert_int_equal(sum, 256);
        assert_true(next >= 1000 && next < 2000);
    }
}

static void test_advance_many_frames_wraps_modulo_the_loop(void **state)
{
    (void)state;
    /* From before the loop: 2000 is reached after 2000 frames, then every
     * 1000 frames bring it back to the same place. */
    assert_int_equal(timeline_advance(&loop1k, 0, 1999), 1999);
    assert_int_equal(timeline_advance(&loop1k, 0, 2000), 1000);
    assert_int_equal(timeline_advance(&loop1k, 0, 2001), 1001);
    assert_int_equal(timeline_advance(&loop1k, 0, 5000), 1000);
    assert_int_equal(timeline_advance(&loop1k, 0, 5999), 1999);
    assert_int_equal(timeline_advance(&loop1k, 1500, 10000), 1500);
    assert_int_equal(timeline_advance(&loop1k, 1500, 10001), 1501);
    assert_int_equal(timeline_advance(&loop1k, 1500, 499), 1999);
    assert_int_equal(timeline_advance(&loop1k, 1500, 500), 1000);
    /* Far along a long session: positions beyond 32 bits. */
    const struct timeline far = {.start = 0, .looping = 1, .loop_start = 5000000000LL,
                                 .loop_end = 5000048000LL};
    assert_int_equal(timeline_advance(&far, 5000047000LL, 48000LL * 3600 + 1000),
                     5000000000LL);
    /* It agrees with stepping block by block, for every block size and
     * start tried, loops shorter and longer than the block alike. */
    static const struct timeline loops[] = {
        {.looping = 1, .loop_start = 1000, .loop_end = 2000},
        {.looping = 1, .loop_start = 10, .loop_end = 110},
        {.looping = 1, .loop_start = 7, .loop_end = 10},
        {.looping = 1, .loop_start = 0, .loop_end = 1}};
    static const uint32_t blocks[] = {1, 64, 256, 1023};
    static const int64_t starts[] = {0, 5, 999, 1000, 1999};
    for (size_t l = 0; l < sizeof loops / sizeof loops[0]; l++)
        for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++)
            for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
                int64_t pos = starts[s];
                struct timeline_seg segs[2048];
                for (int k = 1; k <= 50; k++) {
                    timeline_segments(&loops[l], pos, blocks[b], segs, 2048, &pos);
                    int64_t want = timeline_advance(&loops[l], starts[s], (int64_t)k * blocks[b]);
                    if (pos != want)
                        fail_msg("loop [%lld, %lld), block %u, from %lld, %d blocks: stepped "
                                 "to %lld, advance says %lld",
                                 (long long)loops[l].loop_start, (long long)loops[l].loop_end,
                                 blocks[b], (long long)starts[s], k, (long long)pos,
                                 (long long)want);
                }
            }
}

/* What info.jumped and reset() follow: a wrap after the block's first
 * frame belongs to the block, one exactly at its end to the next block. */
static void test_wraps_tell_which_block_jumps(void **state)
{
    (void)state;
    assert_int_equal(timeline_wraps(&loop1k, 0, 256), 0);
    assert_int_equal(timeline_wraps(&loop1k, 1900, 256), TL_WRAP_INSIDE);
    assert_int_equal(timeline_wraps(&loop1k, 1744, 256), TL_WRAP_AFTER);
    assert_int_equal(timeline_wraps(&loop1k, 1000, 256), 0);
    /* A 100-frame loop inside a 256-frame block wraps inside it, and at its
     * end when the pieces line up: 1950+50, then 100, 100, 6. */
    struct timeline tiny = {.start = 0, .looping = 1, .loop_start = 1900, .loop_end = 2000};
    assert_int_equal(timeline_wraps(&tiny, 1950, 256), TL_WRAP_INSIDE);
    assert_int_equal(timeline_wraps(&tiny, 1950, 250), TL_WRAP_INSIDE | TL_WRAP_AFTER);
    /* Not looping, or past the loop: never. */
    struct timeline off = loop1k;
    off.looping = 0;
    assert_int_equal(timeline_wraps(&off, 1744, 256), 0);
    assert_int_equal(timeline_wraps(&loop1k, 2000, 256), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_loop_is_one_piece),
        cmocka_unit_test(test_loop_wraps_inside_a_block),
        cmocka_unit_test(test_loop_shorter_than_a_block),
        cmocka_unit_test(test_max_truncates),
        cmocka_unit_test(test_run_after_the_loop_plays_on),
        cmocka_unit_test(test_run_before_the_loop_wraps_at_its_end),
        cmocka_unit_test(test_advance_many_frames_wraps_modulo_the_loop),
        cmocka_unit_test(test_wraps_tell_which_block_jumps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
