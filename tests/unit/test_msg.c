/* test_msg.c - the local socket messages that carry a channel to the
 * zygote (plat_msg_*): a descriptor arrives as a new one onto the same
 * object, close-on-exec; a message of another size (an empty one too) is
 * refused and its descriptor not leaked; a request whose descriptor the
 * receiver cannot take still arrives; a closed end is SHX_EDEAD on both
 * sides, never SIGPIPE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "errors.h"
#include "platform.h"

struct msg {
    uint32_t magic, index;
    char name[24];
};

static int open_descriptors(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* A connected socket pair and a pipe whose ends travel as descriptors:
 * the fixture of the tests that send one. */
struct ends {
    int sv[2], p[2];
};

static int open_ends(void **state)
{
    static struct ends e;
    assert_int_equal(plat_msg_pair(e.sv), SHX_OK);
    assert_int_equal(pipe(e.p), 0);
    *state = &e;
    return 0;
}

static int close_ends(void **state)
{
    struct ends *e = *state;
    close(e->p[0]);
    close(e->p[1]);
    close(e->sv[0]);
    close(e->sv[1]);
    return 0;
}

static void test_descriptor_arrives(void **state)
{
    struct ends *e = *state;
    int *sv = e->sv, *p = e->p;
    struct msg out = {0x3147595au, 7, "t07"}, in;
    memset(&in, 0, sizeof in);
    assert_int_equal(plat_msg_send(sv[0], &out, sizeof out, p[1]), SHX_OK);
    int fd = -2;
    assert_int_equal(plat_msg_recv(sv[1], &in, sizeof in, &fd), SHX_OK);
    assert_memory_equal(&in, &out, sizeof in);
    assert_true(fd >= 0);
    assert_int_not_equal(fd, p[1]);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    /* The same pipe: written through the new descriptor, read at the old. */
    assert_int_equal(write(fd, "ok", 2), 2);
    char buf[4] = "";
    assert_int_equal(read(p[0], buf, sizeof buf), 2);
    assert_memory_equal(buf, "ok", 2);
    close(fd);
}

static void test_without_descriptor(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(plat_msg_pair(sv), SHX_OK);
    struct msg out = {1, 2, "x"}, in;
    assert_int_equal(plat_msg_send(sv[0], &out, sizeof out, -1), SHX_OK);
    int fd = 99;
    assert_int_equal(plat_msg_recv(sv[1], &in, sizeof in, &fd), SHX_OK);
    assert_int_equal(fd, -1);
    assert_int_equal(in.index, 2);
    close(sv[0]);
    close(sv[1]);
}

static void test_other_size_refused_without_leak(void **state)
{
    struct ends *e = *state;
    int *sv = e->sv, *p = e->p;
    int before = open_descriptors();
    char small[5] = "abcd", big[sizeof(struct msg) + 8];
    memset(big, 'z', sizeof big);
    assert_int_equal(plat_msg_send(sv[0], small, sizeof small, p[0]), SHX_OK);
    assert_int_equal(plat_msg_send(sv[0], big, sizeof big, p[0]), SHX_OK);
    struct msg in;
    int fd = 0;
    assert_int_equal(plat_msg_recv(sv[1], &in, sizeof in, &fd), SHX_EBADMSG);
    assert_int_equal(fd, -1);
    assert_int_equal(plat_msg_recv(sv[1], &in, sizeof in, &fd), SHX_EBADMSG);
    assert_int_equal(fd, -1);
    assert_int_equal(open_descriptors(), before);   /* both copies closed */
    /* The stream goes on: the next message is whole. */
    struct msg out = {3, 4, "next"};
    assert_int_equal(plat_msg_send(sv[0], &out, sizeof out, -1), SHX_OK);
    assert_int_equal(plat_msg_recv(sv[1], &in, sizeof in, &fd), SHX_OK);
    assert_string_equal(in.name, "next");
}

/* An empty message that carries a descriptor is a bad message, not the
 * end of the stream (recvmsg says 0 bytes for both): its descriptor is
 * closed and the next message still arrives. */
static void test_empty_message_with_descriptor(void **state)
{
    struct ends *e = *state;
    int *sv = e->sv, *p = e->p;
    int before = open_descriptors();
    assert_int_equal(plat_msg_send(sv[0], "", 0, p[0]), SHX_OK);
    struct msg in, out = {5, 6, "after"};
    int fd = 0;
    assert_int_equal(plat_msg_recv(sv[1], &in, sizeof in, &fd), SHX_EBADMSG);
    assert_int_equal(fd, -1);
    assert_int_equal(open_descriptors(), before);
    assert_int_equal(plat_msg_send(sv[0], &out, sizeof out, -1), SHX_OK);
    assert_int_equal(plat_msg_recv(sv[1], &in, sizeof in, &fd), SHX_OK);
    assert_string_equal(in.name, "after");
}

/* A receiver with no descriptor free (RLIMIT_NOFILE) gets the request
 * without the descriptor the kernel could not give it (MSG_CTRUNC): a
 * whole request it can answer, with *fd -1. */
static void test_request_whose_descriptor_cannot_be_taken(void **state)
{
    struct ends *e = *state;
    int *sv = e->sv, *p = e->p;
    struct msg out = {7, 8, "t08"}, in;
    assert_int_equal(plat_msg_send(sv[0], &out, sizeof out, p[1]), SHX_OK);
    /* Every descriptor number below the lowest free one is taken: a limit
     * there leaves none to receive into. */
    int lowest = dup(0);
    assert_true(lowest >= 0);
    close(lowest);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = (rlim_t)lowest;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int fd = 0;
    int rc = plat_msg_recv(sv[1], &in, sizeof in, &fd);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(rc, SHX_OK);
    assert_int_equal(fd, -1);
    assert_memory_equal(&in, &out, sizeof in);
}

static void test_closed_end_is_dead(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(plat_msg_pair(sv), SHX_OK);
    struct msg m = {0};
    int fd;
    close(sv[0]);
    assert_int_equal(plat_msg_recv(sv[1], &m, sizeof m, &fd), SHX_EDEAD);
    assert_int_equal(fd, -1);
    /* Sending to a closed end: an error, not SIGPIPE (which would end
     * this test program). */
    assert_int_equal(plat_msg_send(sv[1], &m, sizeof m, -1), SHX_EDEAD);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_descriptor_arrives, open_ends, close_ends),
        cmocka_unit_test(test_without_descriptor),
        cmocka_unit_test_setup_teardown(test_other_size_refused_without_leak, open_ends, close_ends),
        cmocka_unit_test_setup_teardown(test_empty_message_with_descriptor, open_ends, close_ends),
        cmocka_unit_test_setup_teardown(test_request_whose_descriptor_cannot_be_taken, open_ends, close_ends),
        cmocka_unit_test(test_closed_end_is_dead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
