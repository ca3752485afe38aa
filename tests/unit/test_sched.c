/* test_sched.c - plat_process_sched, what the hang detector reads to tell
 * a hung worker from a starved one (track_loop.c): a process that loops
 * runs, one that sleeps neither runs nor waits for a CPU, and two that
 * loop on one CPU each wait for it about as long as they run. Real child
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

/* Its times after `ms`, while it still runs. */
static void times_after(pid_t pid, unsigned ms, uint64_t *ran, uint64_t *waited)
{
    plat_sleep_ns(ms * MS);
    assert_int_equal(plat_process_sched(pid, ran, waited), SHX_OK);
}

static void reap(pid_t pid)
{
    int status;
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void test_a_loop_runs(void **state)
{
    (void)state;
    pid_t p = child(1, -1, 2000);
    uint64_t ran0, waited0, ran, waited;
    times_after(p, 50, &ran0, &waited0);
    times_after(p, 400, &ran, &waited);
    reap(p);
    /* 400 ms on a CPU, less what the machine's other work took */
    assert_true(ran - ran0 >= 100 * MS);
    assert_true(ran - ran0 >= waited - waited0);
}

static void test_a_sleeper_neither_runs_nor_waits(void **state)
{
    (void)state;
    pid_t p = child(0, -1, 2000);
    uint64_t ran0, waited0, ran, waited;
    times_after(p, 50, &ran0, &waited0);
    times_after(p, 400, &ran, &waited);
    reap(p);
    assert_true(ran - ran0 < 20 * MS);
    assert_true(waited - waited0 < 20 * MS);
}

static void test_two_loops_on_one_cpu_wait_for_it(void **state)
{
    (void)state;
    pid_t a = child(1, 0, 2000), b = child(1, 0, 2000);
    uint64_t ran0, waited0, ran, waited;
    times_after(a, 50, &ran0, &waited0);
    times_after(a, 400, &ran, &waited);
    reap(a);
    reap(b);
    /* sharing CPU 0 with the other loop: about half the time each way */
    assert_true(waited - waited0 >= 100 * MS);
    assert_true(ran - ran0 >= 50 * MS);
}

static void test_a_process_that_is_gone(void **state)
{
    (void)state;
    pid_t p = child(0, -1, 0);
    int status;
    assert_int_equal(waitpid(p, &status, 0), p);
    uint64_t ran, waited;
    assert_int_equal(plat_process_sched(p, &ran, &waited), SHX_ESYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_loop_runs),
        cmocka_unit_test(test_a_sleeper_neither_runs_nor_waits),
        cmocka_unit_test(test_two_loops_on_one_cpu_wait_for_it),
        cmocka_unit_test(test_a_process_that_is_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
