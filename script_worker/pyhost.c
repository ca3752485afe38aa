/* pyhost.c - embedding CPython and numpy in a worker; see pyhost.h. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pyhost.h"
#include "npseed.h"
#include "../ipc/channel.h"
#include "../ipc/errors.h"

#include <unistd.h>

#include <stdio.h>
#include <string.h>

/* Python half of the host: loading a script, checking a returned block,
 * formatting a traceback whose first line is a one-line summary, and a
 * sys.stdout that sends the script's prints to the engine as log lines. */
static const char bootstrap[] =
    /* No collection while numpy and the host are loaded: everything they
     * create lives as long as the process and is frozen next (see
     * pyhost_create); collecting it first cost ~30 ms of every start. */
    "import gc\n"
    "gc.disable()\n"
    "import json, os, sys, traceback, types\n"
    "import numpy as np\n"
    "import _shmix\n"
    /* numpy's global random state (np.random.random() and the rest of the
     * legacy API) was seeded when the zygote imported numpy, and numpy,
     * unlike Python's random, does not reseed in a forked child: each
     * clone calls this (pyhost_after_fork) when npseed cannot draw its
     * state without Python, or every track cloned from one zygote would
     * draw the same numbers. A seed from the kernel for each, in the
     * legacy seed's range. Only the zygote's clones: a process a script
     * forks itself inherits its state, as with numpy anywhere. */
    "def reseed_numpy():\n"
    "    np.random.seed(int.from_bytes(os.urandom(4), 'little'))\n"
    "class Context:\n"
    "    def __init__(self, d):\n"
    "        self.sample_rate = d['sample_rate']\n"
    "        self.block_size = d['block_size']\n"
    "        self.channels = d['channels']\n"
    "        self.track = d['track']\n"
    "        self.params = d.get('params') or {}\n"
    "    def __repr__(self):\n"
    "        return 'Context(%r)' % self.__dict__\n"
    "class Info:\n"
    "    __slots__ = ('frame', 'time', 'jumped')\n"
    "    def __init__(self):\n"
    "        self.frame, self.time, self.jumped = 0, 0.0, False\n"
    "    def __repr__(self):\n"
    "        return 'Info(frame=%d, time=%r, jumped=%r)' % (self.frame, self.time, self.jumped)\n"
    "def wants_info(f):\n"
    /* A plain function's code says it without inspect, whose first
     * signature() in a new worker is ~90 copy-on-write faults (~2 ms on a
     * VM whose faults are slow); the same rules as below. A decorated
     * function (__wrapped__) or one with a __signature__ goes to inspect,
     * which follows them. */
    "    c = getattr(f, '__code__', None)\n"
    "    if (type(f) is types.FunctionType and c is not None\n"
    "            and not hasattr(f, '__wrapped__') and not hasattr(f, '__signature__')):\n"
    "        if c.co_flags & 0x04:\n"   /* CO_VARARGS */
    "            return True\n"
    "        npos = c.co_argcount\n"
    "        need = npos - len(f.__defaults__ or ())\n"
    "        if need > 2 or not npos:\n"
    "            raise TypeError('process() must take (block) or (block, info), not %d '\n"
    "                            'parameters' % (need if need > 2 else npos))\n"
    "        return npos >= 2\n"
    "    import inspect\n"
    "    try:\n"
    "        ps = list(inspect.signature(f).parameters.values())\n"
    "    except (TypeError, ValueError):\n"
    "        return False\n"
    "    if any(p.kind == p.VAR_POSITIONAL for p in ps):\n"
    "        return True\n"
    "    pos = [p for p in ps if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]\n"
    "    need = [p for p in pos if p.default is p.empty]\n"
    "    if len(need) > 2 or not pos:\n"
    "        raise TypeError('process() must take (block) or (block, info), not %d '\n"
    "                        'parameters' % len(need if len(need) > 2 else pos))\n"
    "    return len(pos) >= 2\n"
    "script_path = None\n"
    "def load(ctl, old):\n"
    "    d = json.loads(ctl)\n"
    "    mod = build(d)\n"
    "    hook = getattr(mod, 'reload', None)\n"
    "    if old is not None and callable(hook):\n"
    "        try:\n"
    "            hook(old)\n"
    "        except Exception as e:\n"
    "            _shmix.post(1, describe(e))\n"
    "            mod = build(d)\n"
    "    reset = getattr(mod, 'reset', None)\n"
    "    return (mod, mod.process, wants_info(mod.process),\n"
    "            reset if callable(reset) else None, float(d['sample_rate']),\n"
    "            mod.__dict__.get('__shmix_ctx__'), bool(d.get('realtime', True)))\n"
    "def set_params(payload, mod, ctx):\n"
    "    hook = getattr(mod, 'on_param', None)\n"
    "    for key, value in json.loads(payload):\n"
    "        missing = object()\n"
    "        before = ctx.params.get(key, missing) if ctx else missing\n"
    "        if ctx:\n"
    "            ctx.params[key] = value\n"
    "        if not callable(hook):\n"
    "            continue\n"
    "        try:\n"
    "            hook(key, value)\n"
    "        except Exception as e:\n"
    "            _shmix.post(1, describe(e))\n"
    "            if ctx and before is missing:\n"
    "                del ctx.params[key]\n"
    "            elif ctx:\n"
    "                ctx.params[key] = before\n"
    "def build(d):\n"
    "    global script_path\n"
    "    path = script_path = d['script']\n"
    "    with open(path, 'rb') as f:\n"
    "        src = f.read()\n"
    "    code = compile(src, path, 'exec')\n"
    "    mod = types.ModuleType('__shmix_script__')\n"
    "    mod.__file__ = path\n"
    "    folder = os.path.dirname(path)\n"
    "    if folder not in sys.path:\n"
    "        sys.path.insert(0, folder)\n"
    "    exec(code, mod.__dict__)\n"
    "    proc = getattr(mod, 'process', None)\n"
    "    if not callable(proc):\n"
    "        raise TypeError('the script defines no process(block) function')\n"
    "    ctx = mod.__shmix_ctx__ = Context(d)\n"
    "    setup = getattr(mod, 'setup', None)\n"
    "    if setup is not None:\n"
    "        setup(ctx)\n"
    "    return mod\n"
    "def fix(block, r):\n"
    "    if not isinstance(r, np.ndarray):\n"
    "        raise TypeError('process() returned %s, expected None or a numpy array'\n"
    "                        % type(r).__name__)\n"
    "    if r.shape != block.shape:\n"
    "        raise ValueError('process() returned shape %s, expected %s'\n"
    "                         % (r.shape, block.shape))\n"
    "    if r.dtype.kind not in 'fiu':\n"
    "        raise TypeError('process() returned dtype %s, expected float32' % r.dtype)\n"
    "    np.copyto(block, r, casting='unsafe')\n"
    "def describe(e):\n"
    "    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename != '<shmix>']\n"
    "    mine = [f for f in frames if f.filename == script_path]\n"
    "    fr = (mine or frames or [None])[-1]\n"
    "    head = traceback.format_exception_only(type(e), e)[-1].strip()\n"
    "    if isinstance(e, SyntaxError) and e.filename:\n"
    "        head = '%s:%s: %s' % (e.filename, e.lineno, head)\n"
    "    elif fr:\n"
    "        head = '%s:%d: %s (in %s)' % (fr.filename, fr.lineno, head, fr.name)\n"
    "    elif script_path:\n"
    "        head = '%s: %s' % (script_path, head)\n"
    "    lines = [l for l in traceback.format_exception(type(e), e, e.__traceback__)\n"
    "             if '<shmix>' not in l]\n"
    "    return head + '\\n' + ''.join(lines)\n"
    "class Out:\n"
    "    def __init__(self):\n"
    "        self.buf = ''\n"
    "    def write(self, s):\n"
    "        self.buf += s\n"
    "        while '\\n' in self.buf:\n"
    "            line, self.buf = self.buf.split('\\n', 1)\n"
    "            _shmix.post(2, line)\n"
    "        return len(s)\n"
    "    def flush(self):\n"
    "        pass\n"
    "sys.stdout = Out()\n"
    /* threading's after-fork hook, stilled in the zygote for its clones
     * (pyhost_before_clones): (the hook, its code), or None when it must
     * run - another thread exists. */
    "def still_fork_hook():\n"
    "    t = sys.modules.get('threading')\n"
    "    if t is None or t.active_count() != 1 or t.current_thread() is not t.main_thread():\n"
    "        return None\n"
    "    f = getattr(t, '_after_fork', None)\n"
    "    if type(f) is not types.FunctionType or f.__code__.co_freevars:\n"
    "        return None\n"
    "    code = f.__code__\n"
    "    f.__code__ = (lambda: None).__code__\n"
    "    return f, code\n"
    /* The session's python: settings (pyhost_prepare). User folders go
     * first, as PYTHONPATH's would; a venv's site-packages (with its .pth
     * files) between the standard library and the system's packages, where
     * the venv itself puts them; then the preload modules are imported.
     * Returns None, or "cannot import NAME: PLACE: Exception: message". */
    "def import_error(e):\n"
    "    import importlib\n"
    "    head = traceback.format_exception_only(type(e), e)[-1].strip()\n"
    /* Started cold, a worker imports under its RLIMIT_AS: a library that
     * cannot be mapped is the limit, not the library. */
    "    if isinstance(e, MemoryError) or 'failed to map segment' in str(e):\n"
    "        head += ' (is supervisor.worker_memory_mb too small?)'\n"
    "    if isinstance(e, SyntaxError) and e.filename:\n"
    "        return '%s:%s: %s' % (e.filename, e.lineno, head)\n"
    "    frames = [f for f in traceback.extract_tb(e.__traceback__)\n"
    "              if not f.filename.startswith('<') and f.filename != importlib.__file__]\n"
    "    if frames:\n"
    "        return '%s:%d: %s' % (frames[-1].filename, frames[-1].lineno, head)\n"
    "    return head\n"
    "def prepare(paths, sites, preload):\n"
    "    import importlib, site\n"
    "    base = list(sys.path)\n"
    "    for d in sites:\n"
    "        site.addsitedir(d)\n"
    "    added = [p for p in sys.path if p not in base]\n"
    "    at = next((i for i, p in enumerate(base)\n"
    "               if os.path.basename(p) in ('site-packages', 'dist-packages')), len(base))\n"
    "    mine = [p for p in dict.fromkeys(paths) if p not in base and p not in added]\n"
    "    sys.path[:] = mine + base[:at] + added + base[at:]\n"
    "    importlib.invalidate_caches()\n"
    "    for name in preload:\n"
    "        try:\n"
    "            importlib.import_module(name)\n"
    "        except BaseException as e:\n"
    "            return 'cannot import %s: %s' % (name, import_error(e))\n"
    "    return None\n";

struct pyhost {
    struct chan *ch;
    PyObject *ns;          /* the bootstrap's globals */
    PyObject *load_fn, *fix_fn, *describe_fn;
    PyObject *block[CHAN_MAX_BATCH];   /* numpy views of the shared audio blocks */
    uint32_t nblocks;
    PyObject *module;      /* current script module, or NULL */
    PyObject *process;     /* its process(), or NULL */
    PyObject *reset;       /* its reset(), or NULL */
    PyObject *ctx;         /* the ctx its setup() was given (ctx.params kept current) */
    PyObject *params_fn;   /* the bootstrap's set_params */
    PyObject *info;        /* the one Info given to a process(block, info), or NULL */
    PyObject *info_obj;    /* that object, kept across loads */
    PyObject *s_frame, *s_time, *s_jumped;   /* its attribute names, interned */
    double rate;           /* the session's sample rate, for info.time */
    PyObject *gc_collect;
    unsigned idle_count;
};

static struct chan *g_chan;   /* for _shmix.post; one channel per process */
/* Zygote and its clones (pyhost_before_clones): threading's after-fork
 * hook and its own code while the zygote has the hook stilled, else NULL;
 * the bootstrap's reseed_numpy, for a clone whose state npseed cannot
 * draw. */
static PyObject *g_hook_fn, *g_hook_code, *g_reseed;

static PyObject *py_post(PyObject *self, PyObject *args)
{
    (void)self;
    int type;
    const char *s;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "is#", &type, &s, &n))
        return NULL;
    if (g_chan && type > 0 && type < CHAN_MSG_END_)
        chan_post_msg(g_chan, (uint32_t)type, s, (size_t)n);
    Py_RETURN_NONE;
}

static PyMethodDef shmix_methods[] = {
    {"post", py_post, METH_VARARGS, "post(type, text): send a message to the engine"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef shmix_module = {
    PyModuleDef_HEAD_INIT, "_shmix", NULL, -1, shmix_methods,
    NULL, NULL, NULL, NULL,
};

static PyObject *init_shmix_module(void) { return PyModule_Create(&shmix_module); }

/* Posts the current Python exception as an error message and clears it.
 * A MemoryError means the worker hit worker_memory_mb: its heap may be in
 * any state, so it is handled as a crash (the supervisor restarts it). */
static void post_exception(struct pyhost *h)
{
    int oom = PyErr_ExceptionMatches(PyExc_MemoryError);
    PyObject *type, *exc, *tb;
    PyErr_Fetch(&type, &exc, &tb);
    PyErr_NormalizeException(&type, &exc, &tb);
    if (exc && tb)
        PyException_SetTraceback(exc, tb);
    PyObject *text = exc ? PyObject_CallOneArg(h->describe_fn, exc) : NULL;
    const char *s = text ? PyUnicode_AsUTF8(text) : NULL;
    if (s)
        chan_post_msg(h->ch, CHAN_MSG_ERROR, s, strlen(s));
    else
        chan_post_msg(h->ch, CHAN_MSG_ERROR, "exception (traceback unavailable)", 33);
    PyErr_Clear();
    Py_XDECREF(text);
    Py_XDECREF(type);
    Py_XDECREF(exc);
    Py_XDECREF(tb);
    if (oom)
        _exit(SHX_EXIT_NO_MEMORY);
}

static PyObject *get_fn(PyObject *ns, const char *name)
{
    PyObject *f = PyDict_GetItemString(ns, name);   /* borrowed */
    Py_XINCREF(f);
    return f;
}

/* The gc module, imported once (find_functions): importing a module that
 * is already imported still runs the import machinery, which in a new
 * worker is a copy-on-write fault or more each time. */
static PyObject *g_gc;

static void run_gc(const char *how)
{
    PyObject *r = g_gc ? PyObject_CallMethod(g_gc, how, NULL) : NULL;
    Py_XDECREF(r);
    PyErr_Clear();
}

#ifndef SHMIX_PYTHON_HOME
#define SHMIX_PYTHON_HOME "/usr"
#define SHMIX_PYTHON_EXE "/usr/bin/python3"
#endif

/* The interpreter is the one shmix was built against, found by its own
 * path: without a program name CPython looks for "python3" on PATH, and a
 * virtual environment or a pyenv build first on PATH then becomes its
 * installation (pyvenv.cfg), without numpy. An absolute program name and
 * home leave nothing to search. */
static PyStatus pin_installation(PyConfig *config)
{
    PyStatus st = PyConfig_SetBytesString(config, &config->program_name, SHMIX_PYTHON_EXE);
    if (!PyStatus_Exception(st))
        st = PyConfig_SetBytesString(config, &config->home, SHMIX_PYTHON_HOME);
    return st;
}

/* Starts the interpreter: the _shmix module registered, UTF-8 mode,
 * isolated, its own installation. */
static int start_python(char *err, size_t cap)
{
    if (PyImport_AppendInittab("_shmix", init_shmix_module) != 0) {
        snprintf(err, cap, "cannot register the _shmix module");
        return SHX_ESYS;
    }
    /* UTF-8 mode whatever the locale: script paths, file names and params
     * are UTF-8 in the session, and the engine's environment may be the C
     * locale (an isolated interpreter would otherwise take ASCII for file
     * names and fail on "dübbel.py"). */
    PyPreConfig pre;
    PyPreConfig_InitIsolatedConfig(&pre);
    pre.utf8_mode = 1;
    PyStatus st = Py_PreInitialize(&pre);
    if (!PyStatus_Exception(st)) {
        /* Isolated: no PYTHON* environment, no user site, no signal
         * handlers (the engine owns signals; the worker is in its own
         * process group). */
        PyConfig config;
        PyConfig_InitIsolatedConfig(&config);
        config.install_signal_handlers = 0;
        config.write_bytecode = 0;
        config.buffered_stdio = 0;
        st = pin_installation(&config);
        if (!PyStatus_Exception(st))
            st = Py_InitializeFromConfig(&config);
        PyConfig_Clear(&config);
    }
    if (PyStatus_Exception(st)) {
        snprintf(err, cap, "cannot start Python: %s", st.err_msg ? st.err_msg : "?");
        return SHX_ESYS;
    }
    return SHX_OK;
}

/* Runs the bootstrap (imports numpy, defines load/fix/describe) in the
 * host's own namespace. */
static int run_bootstrap(struct pyhost *h, char *err, size_t cap)
{
    PyObject *main_mod = PyImport_AddModule("__shmix_host__");   /* borrowed */
    h->ns = main_mod ? PyModule_GetDict(main_mod) : NULL;
    Py_XINCREF(h->ns);
    if (h->ns)
        PyDict_SetItemString(h->ns, "__builtins__", PyEval_GetBuiltins());
    PyObject *code = Py_CompileString(bootstrap, "<shmix>", Py_file_input);
    PyObject *r = (code && h->ns) ? PyEval_EvalCode(code, h->ns, h->ns) : NULL;
    Py_XDECREF(code);
    if (r) {
        Py_DECREF(r);
        return SHX_OK;
    }
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    PyObject *str = v ? PyObject_Str(v) : NULL;
    snprintf(err, cap, "cannot import numpy: %s",
             str && PyUnicode_Check(str) ? PyUnicode_AsUTF8(str) : "unknown error");
    Py_XDECREF(str);
    Py_XDECREF(t);
    Py_XDECREF(v);
    Py_XDECREF(tb);
    return SHX_ESYS;
}

static int find_functions(struct pyhost *h, char *err, size_t cap)
{
    h->load_fn = get_fn(h->ns, "load");
    h->fix_fn = get_fn(h->ns, "fix");
    h->describe_fn = get_fn(h->ns, "describe");
    h->params_fn = get_fn(h->ns, "set_params");
    if (!g_gc)
        g_gc = PyImport_ImportModule("gc");
    h->gc_collect = g_gc ? PyObject_GetAttrString(g_gc, "collect") : NULL;
    PyObject *info_cls = get_fn(h->ns, "Info");
    h->info_obj = info_cls ? PyObject_CallNoArgs(info_cls) : NULL;
    Py_XDECREF(info_cls);
    h->s_frame = PyUnicode_InternFromString("frame");
    h->s_time = PyUnicode_InternFromString("time");
    h->s_jumped = PyUnicode_InternFromString("jumped");
    if (h->load_fn && h->fix_fn && h->describe_fn && h->params_fn && h->gc_collect && h->info_obj && h->s_frame
        && h->s_time && h->s_jumped)
        return SHX_OK;
    PyErr_Clear();
    snprintf(err, cap, "cannot set up the script host");
    return SHX_ESYS;
}

int pyhost_create(struct pyhost **out, char *err, size_t cap)
{
    struct pyhost *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    int rc = start_python(err, cap);
    if (rc < 0) {
        free(h);
        return rc;
    }
    if ((rc = run_bootstrap(h, err, cap)) < 0 || (rc = find_functions(h, err, cap)) < 0) {
        pyhost_destroy(h);
        return rc;
    }
    /* Python and numpy are loaded: freeze all of it (the permanent
     * generation), so no later collection walks it - a full collection of
     * numpy's objects costs ~20 ms - and, in the zygote, so that workers
     * cloned from it never write to those pages (copy-on-write stays
     * shared). Not collected first, as the gc module's documentation
     * advises before a fork: what an import left behind is little, and a
     * collection would both cost the start that time and free holes that
     * the clones' first allocations would then copy pages to fill. */
    run_gc("freeze");
    *out = h;
    return SHX_OK;
}

int pyhost_attach(struct pyhost *h, struct chan *ch, char *err, size_t cap)
{
    h->ch = ch;
    g_chan = ch;
    /* The zero-copy views: a writable memoryview over each shared block,
     * reinterpreted by numpy as float32 (frames, channels). */
    uint32_t frames = chan_frames(ch), chans = chan_channels(ch), n = chan_batch(ch);
    /* One array over the whole audio area, (blocks, frames, channels), and
     * a view of each block taken from it by indexing: two numpy calls and
     * n subscripts, not 2n calls with their lookups - a new worker's every
     * first touch of an object is a copy-on-write fault. The blocks lie
     * back to back (chan_block). */
    PyObject *np = PyDict_GetItemString(h->ns, "np");   /* borrowed: the bootstrap's */
    PyObject *mv = np ? PyMemoryView_FromMemory((char *)chan_block(ch, 0),
                                                (Py_ssize_t)n * frames * chans * sizeof(float),
                                                PyBUF_WRITE)
                      : NULL;
    PyObject *flat = mv ? PyObject_CallMethod(np, "frombuffer", "Os", mv, "float32") : NULL;
    PyObject *all = flat ? PyObject_CallMethod(flat, "reshape", "(III)", n, frames, chans) : NULL;
    h->nblocks = 0;
    for (uint32_t i = 0; all && i < n; i++) {
        if (!(h->block[i] = PySequence_GetItem(all, (Py_ssize_t)i)))
            break;
        h->nblocks++;
    }
    Py_XDECREF(all);
    Py_XDECREF(flat);
    Py_XDECREF(mv);
    if (h->nblocks != chan_batch(ch)) {   /* (a channel has at least one) */
        PyErr_Clear();
        snprintf(err, cap, "cannot wrap the audio block as a numpy array");
        return SHX_ESYS;
    }
    return SHX_OK;
}

void pyhost_before_clones(struct pyhost *h)
{
    /* Python runs the hooks os.register_at_fork collected in every new
     * worker, and threading's (numpy imports threading) rebuilds the
     * module's records of threads and their locks: ~120 copy-on-write
     * faults a clone, a third of what a worker's start costs on a VM
     * whose faults are slow. It has nothing to repair when the zygote has
     * one thread - which its raw clone relies on anyway (worker.c). So
     * while that is so its clones run a no-op in its place, and each puts
     * the hook's code back at once (one store: a script's own os.fork()
     * from a threaded worker still gets the real one). A preload module
     * that started a thread leaves the hook as it is. */
    PyObject *still = get_fn(h->ns, "still_fork_hook");
    PyObject *hook = still ? PyObject_CallNoArgs(still) : NULL;
    if (hook && PyTuple_Check(hook) && PyTuple_GET_SIZE(hook) == 2) {
        g_hook_fn = PyTuple_GET_ITEM(hook, 0);
        g_hook_code = PyTuple_GET_ITEM(hook, 1);
        Py_INCREF(g_hook_fn);
        Py_INCREF(g_hook_code);
    }
    Py_XDECREF(hook);
    Py_XDECREF(still);
    PyErr_Clear();
    (void)npseed_prepare();
    g_reseed = get_fn(h->ns, "reseed_numpy");   /* where npseed cannot */
    run_gc("freeze");
}

void pyhost_before_fork(void)
{
    PyOS_BeforeFork();
}

void pyhost_after_fork(int child)
{
    if (child) {
        PyOS_AfterFork_Child();
        /* Said, not fatal: the worker runs, only a fork its script makes
         * after starting a thread would miss threading's repairs. */
        if (g_hook_fn && PyObject_SetAttrString(g_hook_fn, "__code__", g_hook_code) < 0) {
            PyErr_Clear();
            fprintf(stderr, "shmix-worker: cannot restore threading's after-fork hook\n");
        }
        if (npseed_draw() < 0) {
            PyObject *r = g_reseed ? PyObject_CallNoArgs(g_reseed) : NULL;
            if (!r) {
                PyErr_Clear();
                fprintf(stderr, "shmix-worker: cannot reseed numpy's random state\n");
            }
            Py_XDECREF(r);
        }
    } else
        PyOS_AfterFork_Parent();
}

void pyhost_destroy(struct pyhost *h)
{
    if (!h)
        return;
    Py_XDECREF(h->process);
    Py_XDECREF(h->reset);
    Py_XDECREF(h->ctx);
    Py_XDECREF(h->params_fn);
    Py_XDECREF(h->module);
    Py_XDECREF(h->info_obj);
    Py_XDECREF(h->s_frame);
    Py_XDECREF(h->s_time);
    Py_XDECREF(h->s_jumped);
    for (uint32_t i = 0; i < h->nblocks; i++)
        Py_XDECREF(h->block[i]);
    Py_XDECREF(h->gc_collect);
    Py_XDECREF(h->load_fn);
    Py_XDECREF(h->fix_fn);
    Py_XDECREF(h->describe_fn);
    Py_XDECREF(h->ns);
    Py_CLEAR(g_gc);
    Py_CLEAR(g_hook_fn);
    Py_CLEAR(g_hook_code);
    Py_CLEAR(g_reseed);
    if (Py_IsInitialized())
        Py_FinalizeEx();
    g_chan = NULL;
    free(h);
}


/* Takes the script that load() returned: (module, process, wants_info,
 * reset or None, sample rate). Steals nothing; r stays the caller's. */
static void take_script(struct pyhost *h, PyObject *r)
{
    Py_XDECREF(h->process);
    Py_XDECREF(h->module);
    Py_XDECREF(h->reset);
    h->module = PyTuple_GET_ITEM(r, 0);
    h->process = PyTuple_GET_ITEM(r, 1);
    h->info = PyObject_IsTrue(PyTuple_GET_ITEM(r, 2)) == 1 ? h->info_obj : NULL;
    PyObject *reset = PyTuple_GET_ITEM(r, 3);
    h->reset = reset == Py_None ? NULL : reset;
    h->rate = PyFloat_AsDouble(PyTuple_GET_ITEM(r, 4));
    Py_XDECREF(h->ctx);
    h->ctx = PyTuple_GET_ITEM(r, 5);
    Py_INCREF(h->ctx);
    if (!(h->rate > 0.0))
        h->rate = 1.0;
    Py_INCREF(h->module);
    Py_INCREF(h->process);
    Py_XINCREF(h->reset);
    PyErr_Clear();
}

/* Collects the garbage a load left, before it is frozen. In play the
 * collection is a full one on purpose: it also empties the free lists,
 * which in a new worker still hold the zygote's objects on pages shared
 * with it. Emptying them here costs ~4 ms of copy-on-write faults at the
 * start; left full (gc.collect(1) was tried), the same faults came during
 * play, in every worker at once the first time the scripts took a new
 * path (the loop point): hundreds of late blocks at 60 one-pole tracks
 * that play with none this way (performance.md). Render and check have no
 * deadline to protect - a fault that comes later costs no more than one
 * now, and most never come - so they collect generations 0 and 1 only,
 * which leaves the free lists alone (3.6 ms and ~90 faults less per
 * worker at the start). That finds every piece of garbage as long as the
 * oldest generation is empty, as it is after most loads (everything older
 * is the zygote's, frozen); when the load's own collections have moved
 * objects there, the collection is a full one as in play. */
static void settle(struct pyhost *h, int realtime)
{
    PyObject *c = NULL;
    if (!realtime) {
        PyObject *old = g_gc ? PyObject_CallMethod(g_gc, "get_objects", "i", 2) : NULL;
        if (old && PyList_Check(old) && PyList_GET_SIZE(old) == 0)
            c = PyObject_CallFunction(h->gc_collect, "i", 1);
        Py_XDECREF(old);
        PyErr_Clear();
    }
    if (!c)
        c = PyObject_CallNoArgs(h->gc_collect);
    Py_XDECREF(c);
    PyErr_Clear();
}

uint32_t pyhost_load(struct pyhost *h, const char *ctl)
{
    /* The collector runs while the script's objects are created (an
     * import or a setup() that makes cycles does not grow unchecked); what
     * was frozen before stays frozen (a reloaded script's old cycles are
     * not reclaimed: cheap, and no collection ever walks numpy again). */
    run_gc("enable");
    /* The current module goes to the new one's reload(old), if any. */
    PyObject *r = PyObject_CallFunction(h->load_fn, "sO", ctl, h->module ? h->module : Py_None);
    if (!r || !PyTuple_Check(r) || PyTuple_GET_SIZE(r) != 7) {
        if (PyErr_Occurred())
            post_exception(h);
        Py_XDECREF(r);
        run_gc("disable");
        return CHAN_ST_RAISED;
    }
    int realtime = PyObject_IsTrue(PyTuple_GET_ITEM(r, 6)) != 0;
    take_script(h, r);
    Py_DECREF(r);
    /* Everything that exists after setup() is long-lived: move it to the
     * permanent generation so later collections do not walk it, and turn
     * automatic collection off so none can start inside process(). What
     * is garbage must be collected first: frozen, it would never be (a
     * setup that leaves a large cycle behind would keep it for the whole
     * run). settle() does that. */
    settle(h, realtime);
    run_gc("freeze");
    run_gc("disable");
    return CHAN_ST_OK;
}

/* Tells the Info object where block lies: three attribute stores, no new
 * object but the numbers. Returns -1 with a Python error set. */
static int set_info(struct pyhost *h, int64_t frame, uint32_t flags)
{
    PyObject *f = PyLong_FromLongLong(frame);
    PyObject *tm = PyFloat_FromDouble((double)frame / h->rate);
    int rc = (f && tm && PyObject_SetAttr(h->info, h->s_frame, f) == 0
              && PyObject_SetAttr(h->info, h->s_time, tm) == 0
              && PyObject_SetAttr(h->info, h->s_jumped,
                                  (flags & CHAN_BLK_JUMPED) ? Py_True : Py_False) == 0)
                 ? 0 : -1;
    Py_XDECREF(f);
    Py_XDECREF(tm);
    return rc;
}

uint32_t pyhost_process(struct pyhost *h, uint32_t i, int64_t frame, uint32_t flags)
{
    if (!h->process)
        return CHAN_ST_NOSCRIPT;
    if (i >= h->nblocks)
        return CHAN_ST_SHAPE;
    if ((flags & CHAN_BLK_RESET) && h->reset) {
        PyObject *z = PyObject_CallNoArgs(h->reset);
        if (!z) {
            post_exception(h);
            return CHAN_ST_RAISED;
        }
        Py_DECREF(z);
    }
    PyObject *block = h->block[i];
    PyObject *r;
    if (h->info)   /* process(block, info) */
        r = set_info(h, frame, flags) == 0
                ? PyObject_CallFunctionObjArgs(h->process, block, h->info, NULL) : NULL;
    else
        r = PyObject_CallOneArg(h->process, block);
    if (!r) {
        post_exception(h);
        return CHAN_ST_RAISED;
    }
    uint32_t st = CHAN_ST_OK;
    if (r != Py_None && r != block) {
        PyObject *f = PyObject_CallFunctionObjArgs(h->fix_fn, block, r, NULL);
        if (!f) {
            post_exception(h);
            st = CHAN_ST_SHAPE;
        }
        Py_XDECREF(f);
    }
    Py_DECREF(r);
    return st;
}

void pyhost_params(struct pyhost *h, const char *payload)
{
    if (!h->module)
        return;
    PyObject *r = PyObject_CallFunction(h->params_fn, "sOO", payload, h->module,
                                        h->ctx ? h->ctx : Py_None);
    if (!r)
        post_exception(h);   /* a payload it could not read: the engine's fault, said */
    Py_XDECREF(r);
}

void pyhost_idle(struct pyhost *h)
{
    /* Generation 0 holds only what the script allocated since the last
     * collection (everything older is frozen), so this is short. Every
     * 256th idle moment the collection is a full one. */
    h->idle_count++;
    if (h->idle_count % 32 != 0)
        return;
    PyObject *r = PyObject_CallFunction(h->gc_collect, "i", h->idle_count % 256 == 0 ? 2 : 0);
    Py_XDECREF(r);
    PyErr_Clear();
}

/* A list of str from a NULL-terminated array of file-system strings (NULL:
 * an empty list); NULL with a Python error set. */
static PyObject *str_list(const char *const *v)
{
    PyObject *l = PyList_New(0);
    for (; l && v && *v; v++) {
        PyObject *s = PyUnicode_DecodeFSDefault(*v);
        if (!s || PyList_Append(l, s) < 0) {
            Py_XDECREF(s);
            Py_CLEAR(l);
            break;
        }
        Py_DECREF(s);
    }
    return l;
}

int pyhost_prepare(struct pyhost *h, const char *const *paths, const char *const *sites,
                   const char *const *preload, char *err, size_t cap)
{
    PyObject *fn = get_fn(h->ns, "prepare");
    PyObject *p = str_list(paths), *s = str_list(sites), *m = str_list(preload);
    PyObject *r = fn && p && s && m ? PyObject_CallFunctionObjArgs(fn, p, s, m, NULL) : NULL;
    Py_XDECREF(fn);
    Py_XDECREF(p);
    Py_XDECREF(s);
    Py_XDECREF(m);
    int rc = SHX_OK;
    if (!r) {   /* prepare() itself failed (out of memory, a broken site.py) */
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        PyObject *str = v ? PyObject_Str(v) : NULL;
        snprintf(err, cap, "cannot apply the session's python: settings: %s",
                 str && PyUnicode_Check(str) ? PyUnicode_AsUTF8(str) : "unknown error");
        Py_XDECREF(str);
        Py_XDECREF(t);
        Py_XDECREF(v);
        Py_XDECREF(tb);
        PyErr_Clear();
        return SHX_ESYS;
    }
    if (r != Py_None) {
        const char *text = PyUnicode_Check(r) ? PyUnicode_AsUTF8(r) : NULL;
        snprintf(err, cap, "%s", text ? text : "cannot import a python.preload module");
        PyErr_Clear();
        rc = SHX_ESCRIPT;
    }
    Py_DECREF(r);
    if (rc == SHX_OK) {
        /* What the preload created lives as long as the process: into the
         * permanent generation with the rest, uncollected (see
         * pyhost_create), so no collection walks it and, in the zygote,
         * the workers' copies of those pages stay shared. */
        run_gc("freeze");
    }
    return rc;
}
