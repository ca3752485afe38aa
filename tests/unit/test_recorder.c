/* test_recorder.c - the recorder of play --record with its real writer
 * thread: what is pushed is written in order, whole; what the ring has no
 * room for is dropped and counted, never half-written; a recording not
 * finished leaves no file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "tmpdir.h"
#include "platform.h"
#include "recorder.h"

#define RATE 8000
#define BLOCK 16           /* frames per callback */
/* The burst's rate: the ring holds RECORD_RING_NS of audio, so at 1 kHz
 * 64 callbacks of 4 blocks fill it (256 slots), and the writer drains it
 * every RECORD_POLL_NS (5 ms). The burst overflows as long as pushing
 * takes less than ~80 us a callback - at 8 kHz it had to take less than
 * 10 us, which a ThreadSanitizer build on a slow VM once did not (a burst
 * with nothing dropped). */
#define BURST_RATE 1000

/* The file's frames (stereo, at `rate`) into a malloc'ed array. */
static float *read_back(const char *path, int rate, int64_t *frames)
{
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    assert_non_null(sf);
    assert_int_equal(info.channels, 2);
    assert_int_equal(info.samplerate, rate);
    float *x = malloc(sizeof(float) * 2 * (size_t)(info.frames + 1));
    assert_non_null(x);
    assert_int_equal(sf_readf_float(sf, x, info.frames), info.frames);
    sf_close(sf);
    *frames = info.frames;
    return x;
}

/* Callbacks at a real-time pace: every frame arrives, in order. */
static void test_paced_pushes_are_all_written(void **state)
{
    (void)state;
    struct recorder *r;
    char err[256];
    const char *path = tmpdir_path("paced.wav");
    assert_int_equal(recorder_create(path, RATE, 2, BLOCK, &r, err, sizeof err), SHX_OK);
    float buf[2 * BLOCK];
    int64_t n = 0;
    for (int call = 0; call < 400; call++) {   /* 0.8 s, a callback every 2 ms */
        for (int f = 0; f < BLOCK; f++, n++)
            buf[2 * f] = buf[2 * f + 1] = (float)n;
        recorder_push(r, buf, BLOCK);
        plat_sleep_ns(2000000);
    }
    recorder_push(r, buf, 0);   /* a callback after the end of the run */
    assert_false(access(path, F_OK) == 0);   /* no name until finished */
    uint64_t dropped = 1;
    assert_int_equal(recorder_finish(r, &dropped, err, sizeof err), SHX_OK);
    recorder_destroy(r);
    assert_int_equal(dropped, 0);
    int64_t frames;
    float *x = read_back(path, RATE, &frames);
    assert_int_equal(frames, n);
    for (int64_t i = 0; i < frames; i++) {
        assert_true(x[2 * i] == (float)i);
        assert_true(x[2 * i + 1] == (float)i);
    }
    free(x);
}

/* Far more than the ring holds (4 s), pushed at once: the writer cannot
 * keep up, the overflow is dropped - whole callbacks, counted to the
 * frame - and what is written is what was pushed, in order. */
static void test_overflow_is_dropped_and_counted(void **state)
{
    (void)state;
    struct recorder *r;
    char err[256];
    const char *path = tmpdir_path("burst.wav");
    assert_int_equal(recorder_create(path, BURST_RATE, 2, BLOCK, &r, err, sizeof err), SHX_OK);
    enum { CALLS = 100000, FRAMES = 4 * BLOCK };   /* 6400 s of audio; longer than a slot */
    static float buf[2 * FRAMES];
    for (int call = 0; call < CALLS; call++) {
        for (int f = 0; f < FRAMES; f++)
            buf[2 * f] = buf[2 * f + 1] = (float)call;
        recorder_push(r, buf, FRAMES);
    }
    uint64_t dropped = 0;
    assert_int_equal(recorder_finish(r, &dropped, err, sizeof err), SHX_OK);
    recorder_destroy(r);
    int64_t frames;
    float *x = read_back(path, BURST_RATE, &frames);
    assert_true(dropped > 0);
    assert_int_equal((uint64_t)frames + dropped, (uint64_t)CALLS * FRAMES);
    /* Each callback's frames all carry its number: callbacks appear in
     * order; a dropped one is missing, never cut short. */
    int64_t i = 0;
    float prev = -1;
    while (i < frames) {
        float call = x[2 * i];
        assert_true(call > prev);
        int64_t run = 0;
        while (i < frames && x[2 * i] == call && x[2 * i + 1] == call)
            i++, run++;
        assert_int_equal(run, FRAMES);
        prev = call;
    }
    free(x);
}

/* A recording that is not finished (play never started) leaves nothing;
 * a bad name is refused up front. */
static void test_unfinished_and_bad_paths(void **state)
{
    (void)state;
    struct recorder *r;
    char err[256];
    const char *path = tmpdir_path("never.wav");
    assert_int_equal(recorder_create(path, RATE, 2, BLOCK, &r, err, sizeof err), SHX_OK);
    float buf[2 * BLOCK] = {0};
    recorder_push(r, buf, BLOCK);
    recorder_destroy(r);
    assert_false(access(path, F_OK) == 0);
    assert_int_equal(recorder_create(tmpdir_path("x.mp3"), RATE, 2, BLOCK, &r, err, sizeof err),
                     SHX_EUSAGE);
    assert_int_equal(recorder_create(tmpdir_path("no/such/x.wav"), RATE, 2, BLOCK, &r, err,
                                     sizeof err), SHX_EIO);
    assert_non_null(strstr(err, "No such file or directory"));
    assert_int_equal(mkdir(tmpdir_path("d.wav"), 0755), 0);
    assert_int_equal(recorder_create(tmpdir_path("d.wav"), RATE, 2, BLOCK, &r, err, sizeof err),
                     SHX_EIO);
    assert_non_null(strstr(err, "is a folder"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paced_pushes_are_all_written),
        cmocka_unit_test(test_overflow_is_dropped_and_counted),
        cmocka_unit_test(test_unfinished_and_bad_paths),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
