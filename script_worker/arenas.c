/* arenas.c - the zygote's Python object arenas, on huge pages; see arenas.h. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "arenas.h"
#include "../ipc/errors.h"

#include <stdint.h>
#include <sys/mman.h>

#define HUGE_BYTES ((size_t)2 << 20)
/* Address space only (MAP_NORESERVE): what the zygote does not touch
 * costs nothing, and arenas_trim gives it back. Python and numpy take
 * ~9 MiB; a large python.preload (scipy.signal) more. */
#define REGION_BYTES ((size_t)256 << 20)
#define MAX_FREE (REGION_BYTES >> 20)   /* arenas are 1 MiB in CPython 3.11 */

static struct {
    char *base;            /* 2 MiB aligned, or NULL */
    size_t cap, used;      /* bytes usable, bytes handed out */
    size_t arena;          /* the size Python asks for (the first request's) */
    void *free[MAX_FREE];  /* arenas of the region Python gave back */
    size_t nfree;
} g;

static int in_region(const void *p)
{
    return g.base && (const char *)p >= g.base && (const char *)p < g.base + g.cap;
}

static void *arena_alloc(void *ctx, size_t size)
{
    (void)ctx;
    if (!g.arena)
        g.arena = size;
    if (size == g.arena) {
        if (g.nfree)
            return g.free[--g.nfree];
        if (g.cap - g.used >= size) {
            void *p = g.base + g.used;
            g.used += size;
            return p;
        }
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void arena_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    if (!in_region(ptr))
        munmap(ptr, size);
    else if (g.nfree < MAX_FREE)   /* always: the region holds no more */
        g.free[g.nfree++] = ptr;
}

int arenas_use_huge_pages(void)
{
    char *p = mmap(NULL, REGION_BYTES + HUGE_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return SHX_ESYS;
    /* A huge page needs a 2 MiB aligned range: the slack before and after
     * the aligned region goes back at once. */
    char *base = (char *)(((uintptr_t)p + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1));
    if (base > p)
        munmap(p, (size_t)(base - p));
    munmap(base + REGION_BYTES, (size_t)(p + HUGE_BYTES - base));
    /* Without transparent huge pages in the kernel this fails and the
     * region is ordinary memory: no gain, no harm. */
    (void)madvise(base, REGION_BYTES, MADV_HUGEPAGE);
    g.base = base;
    g.cap = REGION_BYTES;
    PyObjectArenaAllocator a = {NULL, arena_alloc, arena_free};
    PyObject_SetArenaAllocator(&a);
    return SHX_OK;
}

void arenas_trim(void)
{
    if (!g.base)
        return;
    size_t keep = (g.used + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
    if (keep < g.cap)
        munmap(g.base + keep, g.cap - keep);
    g.cap = keep;
}
