/* tmpdir.h - a unit test group's own folder under /tmp: made by
 * tmpdir_setup, removed with everything in it by tmpdir_teardown (both
 * cmocka group fixtures); tmpdir_path names a file in it. For test files
 * that write real files (the recorder, the output file). Included once
 * per test program. */
#ifndef SHX_TEST_TMPDIR_H
#define SHX_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static char tmpdir_name[64];

static int tmpdir_setup(void **state)
{
    (void)state;
    snprintf(tmpdir_name, sizeof tmpdir_name, "/tmp/shmix-unit-XXXXXX");
    return mkdtemp(tmpdir_name) ? 0 : -1;
}

static int tmpdir_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir_name);
    return system(cmd) == 0 ? 0 : -1;
}

/* In a static buffer: valid until the next call. */
static const char *tmpdir_path(const char *name)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", tmpdir_name, name);
    return p;
}

#endif
