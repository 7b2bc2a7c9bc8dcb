/* call.c - times NAME_run of a compiled model, called from C (bench/aot.sh).
 *
 *   call LIB.so NAME [SECONDS]
 *
 * Reads the inputs and outputs from NAME_signature(), fills the inputs with random values,
 * warms up, then times batches of calls for about SECONDS (default 2) and prints the median
 * batch's time per call, `us_per_call X`, and the fastest batch's, `us_per_call_min X`.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BUFS 64

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef int (*run_fn)(const void *const *, void *const *);
typedef const char *(*sig_fn)(void);

static void *symbol(void *h, const char *name, const char *suffix)
{
    char s[256];
    snprintf(s, sizeof s, "%s_%s", name, suffix);
    void *p = dlsym(h, s);
    if (!p) {
        fprintf(stderr, "call: no %s\n", s);
        exit(1);
    }
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: call LIB.so NAME [SECONDS]\n");
        return 2;
    }
    double seconds = argc > 3 ? atof(argv[3]) : 2.0;
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) {
        fprintf(stderr, "call: %s\n", dlerror());
        return 1;
    }
    void *p = symbol(h, argv[2], "run"), *q = symbol(h, argv[2], "signature");
    run_fn run;
    sig_fn sig;
    memcpy(&run, &p, sizeof run);
    memcpy(&sig, &q, sizeof sig);
    const void *in[MAX_BUFS];
    void *out[MAX_BUFS];
    int nin = 0, nout = 0;
    char *text = strdup(sig());
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char kind[16], dtype[4];
        char *br = strchr(line, '[');
        if (sscanf(line, "%15s", kind) != 1 || !br ||
            (strcmp(kind, "input") != 0 && strcmp(kind, "output") != 0))
            continue;
        memcpy(dtype, br - 3, 3);
        dtype[3] = '\0';
        int64_t n = 1;
        for (char *s = br + 1; *s && *s != ']'; s++)
            if (*s >= '0' && *s <= '9') {
                n *= strtoll(s, &s, 10);
                s--;
            }
        size_t bytes = (size_t)n * (strcmp(dtype, "f64") == 0 ? 8 : 4);
        float *buf = aligned_alloc(64, (bytes + 63) / 64 * 64);
        for (size_t i = 0; i < bytes / 4; i++)
            buf[i] = (float)rand() / (float)RAND_MAX;
        if (strcmp(kind, "input") == 0)
            in[nin++] = buf;
        else
            out[nout++] = buf;
    }
    for (int i = 0; i < 100; i++)
        run(in, out);
    /* Calls per batch: about 10 ms of work. */
    double t0 = now();
    int reps = 0;
    while (now() - t0 < 0.05)
        run(in, out), reps++;
    int per = reps / 5 + 1;
    double times[4096];
    int nt = 0;
    double start = now();
    while (nt < 4096 && (now() - start < seconds || nt < 5)) {
        double a = now();
        for (int i = 0; i < per; i++)
            run(in, out);
        times[nt++] = (now() - a) / per;
    }
    qsort(times, (size_t)nt, sizeof times[0], cmp);
    printf("us_per_call %.3f\n", times[nt / 2] * 1e6);
    /* The fastest batch: what the code costs when nothing else wanted the core (the median
     * moves with the machine's load). */
    printf("us_per_call_min %.3f\n", times[0] * 1e6);
    free(text);
    return 0;
}
