/* arenas.c - the zygote's Python object arenas, on huge pages; see arenas.h. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "arenas.h"
#include "../ipc/errors.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

#define HUGE_BYTES ((size_t)2 << 20)
/* Address space only (MAP_NORESERVE) until touched, and arenas_trim gives
 * the untouched end back before the first clone. Python and numpy take
 * ~9 MiB; what a large python.preload needs beyond 64 MiB is mapped the
 * ordinary way. */
#define REGION_BYTES ((size_t)64 << 20)

/* The region. Arenas Python gives back are kept on a list threaded
 * through their own first word (no bound, no allocation) and handed out
 * again; they are not returned to the kernel. */
static struct {
    char *base;    /* 2 MiB aligned, or NULL */
    size_t cap;    /* bytes of the region still mapped */
    size_t used;   /* bytes handed out from its start */
    size_t arena;  /* the size Python asks for (its first request's) */
    void *free;    /* the list of arenas given back */
} g;

static int in_region(const void *p)
{
    return g.base && (const char *)p >= g.base && (const char *)p < g.base + g.cap;
}

/* Runs wherever CPython maps an arena: in the zygote, and in every worker
 * cloned from it (which inherits the allocator) for its whole life - never
 * in a real-time path of the engine, only in the worker's Python. */
static void *arena_alloc(void *ctx, size_t size)
{
    (void)ctx;
    if (!g.arena)
        g.arena = size;
    if (g.base && size == g.arena) {
        if (g.free) {
            void *p = g.free;
            g.free = *(void **)p;
            return p;
        }
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
    if (!in_region(ptr)) {
        munmap(ptr, size);
        return;
    }
    *(void **)ptr = g.free;
    g.free = ptr;
}

/* 1 when the kernel counts every mapping's full size against its commit
 * limit (vm.overcommit_memory 2), where MAP_NORESERVE does not hold and
 * the region would charge 64 MiB until the trim. */
static int strict_overcommit(void)
{
    FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
    int mode = 0;
    if (f) {
        if (fscanf(f, "%d", &mode) != 1)
            mode = 0;
        fclose(f);
    }
    return mode == 2;
}

int arenas_use_huge_pages(void)
{
    if (strict_overcommit())
        return SHX_ESYS;
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

void arenas_after_clone(void)
{
    /* Only the flag changes: pages already huge stay as they are, shared
     * with the zygote. Without it a kernel older than 5.8 would copy a
     * whole 2 MiB page at a clone's first write to one, and khugepaged may
     * later gather a worker's copied 4 KiB pages back into a private
     * 2 MiB page of its own. */
    if (g.base && g.cap)
        (void)madvise(g.base, g.cap, MADV_NOHUGEPAGE);
}
