/* threads.c - several threads calling one compiled model at once get exactly the results of
 * one thread alone; built with -fsanitize=thread by tests/aot/tsan.sh.
 *
 *   threads LIB.so NAME          four threads calling NAME_run, each on its own inputs
 *   threads LIB.so NAME step     four threads each stepping a state of its own 10 times
 *
 * The model is loaded with dlopen and its interface read from NAME_signature(), so any .so of
 * `mtc compile` will do. First every thread's answer is computed alone, on the main thread;
 * then the threads run at once and compare their outputs with it bit for bit (no split of
 * work changes a result, so the pool's sharing must not either). Exit 0 when all agree.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 4, CALLS = 20, STEPS = 10, MAX_VALUES = 64 };

typedef int (*run_fn)(const void *const *, void *const *);
typedef void *(*state_new_fn)(void);
typedef int (*step_fn)(void *, const void *const *, void *const *);
typedef void (*state_free_fn)(void *);

static struct model {
    run_fn run;
    state_new_fn state_new;
    step_fn step;
    state_free_fn state_free;
    int nin, nout;
    size_t in_bytes[MAX_VALUES], out_bytes[MAX_VALUES];
} m;

/* One thread's work: its inputs, the answer alone, and the verdict. */
typedef struct task {
    int k;
    void *in[STEPS][MAX_VALUES]; /* step s's inputs (run mode uses [0]) */
    unsigned char *want[STEPS][MAX_VALUES];
    int bad;
} task;

static void *sym(void *h, const char *name, const char *suffix, int need)
{
    char full[256];
    snprintf(full, sizeof full, "%s_%s", name, suffix);
    void *p = dlsym(h, full);
    if (!p && need) {
        fprintf(stderr, "threads: no symbol %s\n", full);
        exit(1);
    }
    return p;
}

/* Sizes of the inputs and outputs from the signature's "input %x : f32[2,3]" lines. */
static void read_signature(const char *sig)
{
    for (const char *line = sig; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        int input = strncmp(line, "input ", 6) == 0, output = strncmp(line, "output ", 7) == 0;
        if (!input && !output)
            continue;
        const char *t = strstr(line, " : ");
        size_t es = strncmp(t + 3, "f64", 3) == 0 ? 8 : 4, n = 1;
        for (const char *d = strchr(t, '['); d && *d && *d != ']' && *d != '\n'; d++)
            if (*d == '[' || *d == ',')
                n *= strtoull(d + 1, NULL, 10) ? strtoull(d + 1, NULL, 10) : 1;
        if (input)
            m.in_bytes[m.nin++] = n * es;
        else
            m.out_bytes[m.nout++] = n * es;
    }
}

/* Deterministic values in [-1, 1) for thread k, step s, value v (floats or doubles). */
static void *fill(size_t bytes, int k, int s, int v, int f64)
{
    unsigned char *p = malloc(bytes);
    uint32_t x = 2654435761u * (uint32_t)(k * 1000 + s * 10 + v + 1);
    size_t es = f64 ? 8 : 4;
    for (size_t i = 0; i < bytes / es; i++) {
        x = x * 1664525u + 1013904223u;
        double d = (double)(x >> 8) / (double)(1u << 24) * 2 - 1;
        float f = (float)d;
        memcpy(p + i * es, f64 ? (void *)&d : (void *)&f, es);
    }
    return p;
}

static void **alloc_outputs(void)
{
    void **out = calloc((size_t)m.nout, sizeof *out);
    for (int i = 0; i < m.nout; i++)
        out[i] = calloc(1, m.out_bytes[i]);
    return out;
}

static int steps_of(void) { return m.step ? STEPS : 1; }

/* The whole sequence for task t: CALLS runs of its inputs, or STEPS steps of a fresh state;
 * with `record` it stores the outputs as the answer, else compares with it. */
static void play(task *t, int record)
{
    void **out = alloc_outputs();
    void *state = m.step ? m.state_new() : NULL;
    int reps = m.step ? 1 : CALLS;
    for (int r = 0; r < reps && !t->bad; r++) {
        for (int s = 0; s < steps_of() && !t->bad; s++) {
            int rc = m.step ? m.step(state, (const void *const *)t->in[s], out)
                            : m.run((const void *const *)t->in[s], out);
            if (rc != 0) {
                t->bad = 1;
                break;
            }
            for (int i = 0; i < m.nout; i++) {
                if (record) {
                    t->want[s][i] = malloc(m.out_bytes[i]);
                    memcpy(t->want[s][i], out[i], m.out_bytes[i]);
                } else if (memcmp(t->want[s][i], out[i], m.out_bytes[i]) != 0) {
                    fprintf(stderr, "threads: thread %d, call %d, step %d: output %d differs\n",
                            t->k, r, s, i);
                    t->bad = 1;
                }
            }
        }
        record = 0;
    }
    if (state)
        m.state_free(state);
    for (int i = 0; i < m.nout; i++)
        free(out[i]);
    free(out);
}

static void *thread_main(void *arg)
{
    play(arg, 0);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: threads LIB.so NAME [step]\n");
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "threads: %s\n", dlerror());
        return 1;
    }
    const char *(*signature)(void) = (const char *(*)(void))sym(h, argv[2], "signature", 1);
    const char *sig = signature();
    read_signature(sig);
    int f64 = strstr(sig, ": f64") != NULL;
    if (argc > 3 && strcmp(argv[3], "step") == 0) {
        m.state_new = (state_new_fn)sym(h, argv[2], "state_new", 1);
        m.step = (step_fn)sym(h, argv[2], "step", 1);
        m.state_free = (state_free_fn)sym(h, argv[2], "state_free", 1);
    } else {
        m.run = (run_fn)sym(h, argv[2], "run", 1);
    }
    static task tasks[THREADS];
    for (int k = 0; k < THREADS; k++) {
        tasks[k].k = k;
        for (int s = 0; s < steps_of(); s++)
            for (int i = 0; i < m.nin; i++)
                tasks[k].in[s][i] = fill(m.in_bytes[i], k, s, i, f64);
        play(&tasks[k], 1); /* the answer alone */
        if (tasks[k].bad) {
            fprintf(stderr, "threads: a call failed on the main thread\n");
            return 1;
        }
    }
    pthread_t th[THREADS];
    for (int k = 0; k < THREADS; k++)
        if (pthread_create(&th[k], NULL, thread_main, &tasks[k]) != 0) {
            fprintf(stderr, "threads: pthread_create failed\n");
            return 1;
        }
    int bad = 0;
    for (int k = 0; k < THREADS; k++) {
        pthread_join(th[k], NULL);
        bad |= tasks[k].bad;
    }
    printf("threads: %s %s, %d threads x %d %s: %s\n", argv[2], m.step ? "step" : "run", THREADS,
           m.step ? STEPS : CALLS, m.step ? "steps" : "calls", bad ? "DIFFERENT" : "same bits");
    dlclose(h);
    return bad;
}
