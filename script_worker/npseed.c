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

static uint32_t *g_key;   /* the global state's key (the zygote's address, and so
                           * every clone's), or NULL */
static int *g_pos;        /* its position */
static PyObject *g_bitgen; /* the bit generator, kept alive while g_key is used */

/* The legacy global generator's bit generator and its state as numpy
 * reports it, when it is the Mersenne Twister with no Gaussian cached:
 * fills *bg (new reference), key (bytes, new reference) and *pos. */
static int reported_state(PyObject **bg, PyObject **key, long *pos)
{
    int ok = 0;
    *bg = *key = NULL;
    PyObject *mt = PyImport_ImportModule("numpy.random.mtrand");
    PyObject *rs = mt ? PyObject_GetAttrString(mt, "_rand") : NULL;
    /* ('MT19937', key array, pos, has_gauss, cached_gaussian) */
    PyObject *st = rs ? PyObject_CallMethod(rs, "get_state", NULL) : NULL;
    if (st && PyTuple_Check(st) && PyTuple_GET_SIZE(st) == 5) {
        PyObject *name = PyTuple_GET_ITEM(st, 0);
        *pos = PyLong_AsLong(PyTuple_GET_ITEM(st, 2));
        long has_gauss = PyLong_AsLong(PyTuple_GET_ITEM(st, 3));
        if (PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, "MT19937") == 0
            && has_gauss == 0 && !PyErr_Occurred()) {
            *key = PyObject_CallMethod(PyTuple_GET_ITEM(st, 1), "tobytes", NULL);
            *bg = PyObject_GetAttrString(rs, "_bit_generator");
            ok = *key && *bg && PyBytes_Check(*key) && PyBytes_GET_SIZE(*key) == (Py_ssize_t)MT_KEY_BYTES;
        }
    }
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
    g_pos = NULL;
    Py_CLEAR(g_bitgen);
    PyObject *bg, *key;
    long pos;
    if (!reported_state(&bg, &key, &pos))
        return 0;
    PyObject *cap = PyObject_GetAttrString(bg, "capsule");
    const struct bitgen_head *head = cap ? PyCapsule_GetPointer(cap, "BitGenerator") : NULL;
    const unsigned char *state = head ? head->state : NULL;
    int pos_there = 0;
    if (state)
        memcpy(&pos_there, state + MT_KEY_BYTES, sizeof pos_there);
    if (state && memcmp(state, PyBytes_AS_STRING(key), MT_KEY_BYTES) == 0 && pos_there == pos) {
        g_key = (uint32_t *)(void *)head->state;
        g_pos = (int *)(void *)((unsigned char *)head->state + MT_KEY_BYTES);
        g_bitgen = bg;
        bg = NULL;
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
    g_key[0] = 0x80000000u;
    *g_pos = MT_WORDS;
    return 0;
}
