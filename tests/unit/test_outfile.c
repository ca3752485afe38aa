/* test_outfile.c - a render's output file: what is written arrives whole
 * and in order whatever the sizes of the writes (the file holds frames
 * back and writes them in larger pieces), nothing has the target's name
 * before the commit, and a write that fails - even one that shows only
 * when held frames go out - leaves no file behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "tmpdir.h"
#include "outfile.h"

#define RATE 48000
#define CH 2

/* Frame i's two samples: distinct, exact in float, never silence. */
static float sample(int64_t i, int c) { return (float)(i % 65521) / 65536.0f + (c ? 0.5f : -0.5f); }

/* Writes `total` frames in pieces of the sizes in `sizes` (cycled). */
static void write_pieces(struct outfile *f, int64_t total, const int *sizes, int nsizes)
{
    static float buf[CH * 40000];
    int64_t at = 0;
    for (int k = 0; at < total; k++) {
        int64_t n = sizes[k % nsizes];
        n = n < total - at ? n : total - at;
        for (int64_t i = 0; i < n; i++)
            for (int c = 0; c < CH; c++)
                buf[CH * i + c] = sample(at + i, c);
        assert_int_equal(outfile_write(f, buf, n), SHX_OK);
        at += n;
    }
}

/* Pieces of many sizes, smaller and larger than what the file holds back
 * (16 384 frames), end to end: every frame is in the file, bit for bit. */
static void test_pieces_arrive_whole_and_in_order(void **state)
{
    (void)state;
    static const int sizes[] = {1, 256, 255, 16384, 16385, 7, 33000, 4096};
    const int64_t total = 3 * 16384 + 12345;
    const char *path = tmpdir_path("pieces.wav");
    struct outfile *f;
    char err[256];
    assert_int_equal(outfile_create(path, RATE, CH, &f, err, sizeof err), SHX_OK);
    write_pieces(f, total, sizes, (int)(sizeof sizes / sizeof sizes[0]));
    assert_false(access(path, F_OK) == 0);   /* no name before the commit */
    assert_int_equal(outfile_commit(f, err, sizeof err), SHX_OK);
    outfile_destroy(f);
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    assert_non_null(sf);
    assert_int_equal(info.channels, CH);
    assert_int_equal(info.frames, total);
    float *x = malloc(sizeof(float) * CH * (size_t)total);
    assert_non_null(x);
    assert_int_equal(sf_readf_float(sf, x, total), total);
    sf_close(sf);
    for (int64_t i = 0; i < total; i++)
        for (int c = 0; c < CH; c++)
            if (x[CH * i + c] != sample(i, c))
                fail_msg("frame %lld channel %d: %g, expected %g", (long long)i, c,
                         (double)x[CH * i + c], (double)sample(i, c));
    free(x);
}

/* Fewer frames than the file holds back, then destroyed without a commit:
 * nothing under the target's name, nothing left in the folder. */
static void test_uncommitted_leaves_nothing(void **state)
{
    (void)state;
    static const int sizes[] = {300};
    char own[128], path[160];
    snprintf(own, sizeof own, "%s", tmpdir_path("uncommitted"));   /* a folder of its own */
    assert_int_equal(mkdir(own, 0700), 0);
    snprintf(path, sizeof path, "%s/dropped.flac", own);
    struct outfile *f;
    char err[256];
    assert_int_equal(outfile_create(path, RATE, CH, &f, err, sizeof err), SHX_OK);
    write_pieces(f, 5000, sizes, 1);
    outfile_destroy(f);
    assert_false(access(path, F_OK) == 0);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s)\"", own);
    assert_int_equal(system(cmd), 0);
}

/* Writes `frames` of silence in 256-frame pieces and commits under a file
 * size limit of 64 KiB; returns 1 if a write failed, 2 if the commit did,
 * 0 if neither. The limit and SIGXFSZ's disposition are put back. */
static int write_under_limit(const char *path, int64_t frames)
{
    struct outfile *f;
    char err[256];
    assert_int_equal(outfile_create(path, RATE, CH, &f, err, sizeof err), SHX_OK);
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small.rlim_cur = 64 * 1024;
    small.rlim_max = old.rlim_max;
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);   /* write(2) fails with EFBIG instead */
    int rc = setrlimit(RLIMIT_FSIZE, &small);
    float buf[CH * 256];
    memset(buf, 0, sizeof buf);
    int failed = 0;
    for (int64_t at = 0; at < frames && !failed && rc == 0; at += 256)
        failed = outfile_write(f, buf, 256) < 0;
    if (!failed && rc == 0)
        failed = outfile_commit(f, err, sizeof err) < 0 ? 2 : 0;
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, was);
    outfile_destroy(f);
    assert_int_equal(rc, 0);
    return failed;
}

/* A file size limit the render runs into: the failure shows at a write
 * once held frames go out, or only at the commit when fewer than a hold's
 * worth were written - and either way the target never appears. */
static void test_failed_write_leaves_no_file(void **state)
{
    (void)state;
    /* 20 224 frames = 161 792 bytes: the first hand-over (16 384 frames,
     * 128 KiB) already fails. */
    const char *path = tmpdir_path("full.wav");
    assert_int_equal(write_under_limit(path, 79 * 256), 1);
    assert_false(access(path, F_OK) == 0);
    /* 9 984 frames = 79 872 bytes: all held until the commit, which fails. */
    path = tmpdir_path("late.wav");
    assert_int_equal(write_under_limit(path, 39 * 256), 2);
    assert_false(access(path, F_OK) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pieces_arrive_whole_and_in_order),
        cmocka_unit_test(test_uncommitted_leaves_nothing),
        cmocka_unit_test(test_failed_write_leaves_no_file),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
