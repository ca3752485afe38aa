/* npseed.c - a new worker's own numpy random state; see npseed.h. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "npseed.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

/* numpy's Mersenne Twister state (numpy/random/src/mt19937/mt19937.h):
 * { uint32_t key[624]; int pos; }. Checked against the state numpy reports
 * before it is used (npseed_prepare). */
#define MT_WORDS 624
#define MT_KEY_BYTES (MT_WORDS * sizeof(uint32_t))

/* The first member of numpy's bitgen_t (numpy/random/bitgen.h), which
 * the capsule named "BitGenerator" points to: the state. */
struct bitgen_head {
    void *state;
};

/* The global state's key (the zygote's address, and so every clone's),
 * or NULL; its position follows it. */
static uint32_t *g_key;
static PyObject *g_bitgen; /* the bit generator, kept alive while g_key is used */

/* The legacy global generator's bit generator and its state as numpy
 * reports it, when it is the Mersenne Twister with no Gaussian cached:
 * fills *bg (new reference), key (bytes, new reference) and *pos. Each
 * step only after the one before succeeded (no call with an error set). */
static int reported_state(PyObject **bg, PyObject **key, long *pos)
{
    *bg = *key = NULL;
    PyObject *mt = PyImport_ImportModule("numpy.random.mtrand");
    /* the object np.random's functions are bound to */
    PyObject *rs = mt ? PyObject_GetAttrString(mt, "_rand") : NULL;
    /* ('MT19937', key array, pos, has_gauss, cached_gaussian) */
    PyObject *st = rs ? PyObject_CallMethod(rs, "get_state", NULL) : NULL;
    int ok = st && PyTuple_Check(st) && PyTuple_GET_SIZE(st) == 5;
    if (ok) {
        PyObject *name = PyTuple_GET_ITEM(st, 0);
        ok = PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, "MT19937") == 0;
    }
    if (ok) {
        *pos = PyLong_AsLong(PyTuple_GET_ITEM(st, 2));
        ok = !PyErr_Occurred();
    }
    if (ok) {
        long has_gauss = PyLong_AsLong(PyTuple_GET_ITEM(st, 3));
        ok = !PyErr_Occurred() && has_gauss == 0;
    }
    if (ok) {
        *key = PyObject_CallMethod(PyTuple_GET_ITEM(st, 1), "tobytes", NULL);
        ok = *key && PyBytes_Check(*key) && PyBytes_GET_SIZE(*key) == (Py_ssize_t)MT_KEY_BYTES;
    }
    if (ok)
        ok = (*bg = PyObject_GetAttrString(rs, "_bit_generator")) != NULL;
    Py_XDECREF(st);
    Py_XDECREF(rs);
    Py_XDECREF(mt);
    if (!ok) {
        Py_CLEAR(*bg);
        Py_CLEAR(*key);
    }
    PyErr_Clear();
    return ok;
}

int npseed_prepare(void)
{
    g_key = NULL;
    Py_CLEAR(g_bitgen);
    PyObject *bg, *key;
    long pos;
    if (!reported_state(&bg, &key, &pos))
        return 0;
    PyObject *cap = PyObject_GetAttrString(bg, "capsule");
    const struct bitgen_head *head = cap ? PyCapsule_GetPointer(cap, "BitGenerator") : NULL;
    unsigned char *state = head ? head->state : NULL;
    /* The key first: a Mersenne Twister's state holds its 624 words; the
     * position after them is read only once they are where numpy keeps
     * them (2 496 bytes from the kernel cannot match by chance). */
    if (state && memcmp(state, PyBytes_AS_STRING(key), MT_KEY_BYTES) == 0) {
        int pos_there;
        memcpy(&pos_there, state + MT_KEY_BYTES, sizeof pos_there);
        if (pos_there == pos) {
            g_key = (uint32_t *)(void *)state;
            g_bitgen = bg;
            bg = NULL;
        }
    }
    Py_XDECREF(cap);
    Py_XDECREF(bg);
    Py_DECREF(key);
    PyErr_Clear();
    return g_key != NULL;
}

int npseed_draw(void)
{
    if (!g_key)
        return -1;
    /* More than 256 bytes at once may come short when a signal arrives. */
    unsigned char *p = (unsigned char *)g_key;
    size_t got = 0;
    while (got < MT_KEY_BYTES) {
        ssize_t n = getrandom(p + got, MT_KEY_BYTES - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    /* Only the first word's top bit enters the generator: set, as
     * numpy's seeding sets it, the state is never all zero. At the end of
     * the block, the first draw generates a fresh one from it. */
    g_key[0] = 0x80000000u;
    int end = MT_WORDS;
    memcpy(p + MT_KEY_BYTES, &end, sizeof end);
    return 0;
}
