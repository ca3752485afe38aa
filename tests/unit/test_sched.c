/* test_sched.c - plat_process_sched, what the hang detector reads to tell
 * a hung worker from a starved one (track_loop.c): a process that loops is
 * runnable and runs, one that sleeps is not runnable, and two that loop on
 * one CPU are both runnable and each runs about half the time. Real child
 * processes; the bounds are loose, for a busy machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errors.h"
#include "platform.h"

#define MS 1000000ull

/* A child that loops (or sleeps) for `ms`, pinned to cpu when >= 0. */
static pid_t child(int loop, int cpu, unsigned ms)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (cpu >= 0)
            plat_pin_thread(cpu);
        uint64_t end = plat_now_ns() + ms * MS;
        if (loop)
            while (plat_now_ns() < end)
                ;
        else
            plat_sleep_ns(ms * MS);
        _exit(0);
    }
    return pid;
}

/* What it reads after `ms`, while the child still runs. */
static void read_after(pid_t pid, unsigned ms, uint64_t *ran, int *runnable)
{
    plat_sleep_ns(ms * MS);
    assert_int_equal(plat_process_sched(pid, ran, runnable), SHX_OK);
}

static void reap(pid_t pid)
{
    int status;
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

/* A child that loops (or sleeps), watched for 400 ms: how long it ran,
 * and whether it was runnable at the start and at the end. */
static void watch(int loop, uint64_t *ran, int *r0, int *r1)
{
    pid_t p = child(loop, -1, 2000);
    uint64_t ran0, ran1;
    read_after(p, 50, &ran0, r0);
    read_after(p, 400, &ran1, r1);
    reap(p);
    *ran = ran1 - ran0;
}

static void test_a_loop_runs(void **state)
{
    (void)state;
    uint64_t ran;
    int r0, r1;
    watch(1, &ran, &r0, &r1);
    /* 400 ms on a CPU, less what the machine's other work took */
    assert_true(ran >= 100 * MS);
    assert_true(r0 && r1);
}

static void test_a_sleeper_is_not_runnable(void **state)
{
    (void)state;
    uint64_t ran;
    int r0, r1;
    watch(0, &ran, &r0, &r1);
    assert_true(ran < 20 * MS);
    assert_false(r0);
    assert_false(r1);
}

static void test_two_loops_on_one_cpu_share_it(void **state)
{
    (void)state;
    pid_t a = child(1, 0, 2000), b = child(1, 0, 2000);
    uint64_t ran0, ran, b_ran0, b_ran;
    int r0, r1, b_r0, b_r1;
    read_after(a, 50, &ran0, &r0);
    read_after(b, 0, &b_ran0, &b_r0);
    read_after(a, 400, &ran, &r1);
    read_after(b, 0, &b_ran, &b_r1);
    reap(a);
    reap(b);
    /* sharing CPU 0: both runnable all along, each on it about half the
     * time, the two together not more than the 400 ms */
    assert_true(r0 && r1 && b_r0 && b_r1);
    assert_true(ran - ran0 >= 50 * MS);
    assert_true(b_ran - b_ran0 >= 50 * MS);
    assert_true(ran - ran0 + (b_ran - b_ran0) <= 450 * MS);
}

static void test_a_process_that_is_gone(void **state)
{
    (void)state;
    pid_t p = child(0, -1, 0);
    int status;
    assert_int_equal(waitpid(p, &status, 0), p);
    uint64_t ran;
    int runnable;
    assert_int_equal(plat_process_sched(p, &ran, &runnable), SHX_ESYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_loop_runs),
        cmocka_unit_test(test_a_sleeper_is_not_runnable),
        cmocka_unit_test(test_two_loops_on_one_cpu_share_it),
        cmocka_unit_test(test_a_process_that_is_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
