/* test_touch.c - plat_touch_pages, which makes the engine's rings and the
 * channels resident before the audio path writes them: every page that the
 * range overlaps is resident afterwards (mincore), none outside it, and
 * the memory holds what it held. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform.h"

#define PAGES 64u

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096u;
}

static unsigned char *fresh(size_t pages)
{
    void *m = mmap(NULL, pages * page_size(), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    return m;
}

/* How many of the mapping's pages are resident, and whether page i is. */
static unsigned resident(unsigned char *m, size_t pages, unsigned char *vec)
{
    assert_int_equal(mincore(m, pages * page_size(), vec), 0);
    unsigned n = 0;
    for (size_t i = 0; i < pages; i++)
        n += vec[i] & 1u;
    return n;
}

static void test_every_page_of_an_unaligned_range(void **state)
{
    (void)state;
    size_t pg = page_size();
    unsigned char *m = fresh(PAGES), vec[PAGES];
    assert_int_equal(resident(m, PAGES, vec), 0);
    /* From inside the second page to inside the second to last one. */
    plat_touch_pages(m + pg + 100, (PAGES - 3) * pg);
    resident(m, PAGES, vec);
    assert_int_equal(vec[0] & 1u, 0);
    for (size_t i = 1; i < PAGES - 1; i++)
        assert_int_equal(vec[i] & 1u, 1);
    assert_int_equal(vec[PAGES - 1] & 1u, 0);
    for (size_t i = pg; i < (PAGES - 1) * pg; i += 512)
        assert_int_equal(m[i], 0);
    munmap(m, PAGES * pg);
}

static void test_a_short_range_across_a_page_boundary(void **state)
{
    (void)state;
    size_t pg = page_size();
    unsigned char *m = fresh(3), vec[3];
    plat_touch_pages(m + pg - 8, 16);   /* 8 bytes of page 0, 8 of page 1 */
    resident(m, 3, vec);
    assert_int_equal(vec[0] & 1u, 1);
    assert_int_equal(vec[1] & 1u, 1);
    assert_int_equal(vec[2] & 1u, 0);
    munmap(m, 3 * pg);
}

static void test_what_the_memory_holds_is_kept(void **state)
{
    (void)state;
    size_t pg = page_size(), n = PAGES * pg;
    unsigned char *m = fresh(PAGES);
    for (size_t i = 0; i < n; i++)
        m[i] = (unsigned char)(i * 7u + 3u);
    plat_touch_pages(m + 5, n - 10);
    for (size_t i = 0; i < n; i++)
        if (m[i] != (unsigned char)(i * 7u + 3u))
            fail_msg("byte %zu changed", i);
    plat_touch_pages(m, 0);   /* nothing to do: no fault, no write */
    munmap(m, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_page_of_an_unaligned_range),
        cmocka_unit_test(test_a_short_range_across_a_page_boundary),
        cmocka_unit_test(test_what_the_memory_holds_is_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
