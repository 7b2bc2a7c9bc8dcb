/* dp_step.c - run under `mpirun -np R`: data-parallel training across real MPI processes.
 *
 * Every rank builds the step graph of tests/torch/optim/mlp.mt with --data-parallel (gradients
 * averaged by `allreduce op=mean`, MPI_Allreduce through runtime/mpi.c) and trains 5 steps on
 * its slice of each global batch of R*8 samples; rank 0 also trains one process on the whole
 * batches. Every rank must end with rank 0's params, and those must be the one-process params
 * to float rounding. `dp_step die` makes the last rank die before its first step instead: the
 * others must not wait for it forever (mpirun ends the job). `dp_step TARGET` trains on that
 * target instead of cpu (tests/mpi/gpu.sh: opencl, cuda), the one process included.
 * `dp_step nccl`, for machines without a GPU, goes as far as the cuda target's NCCL
 * communicator can: rank 0's unique id broadcast to every rank, then ncclCommInitRank, which
 * must fail on every rank with NCCL's reason (no device), not hang.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/nccl.h"
#include "ir/graph.h"
#include "ir/op.h"
#include "passes/optim.h"
#include "runtime/mpi.h"

enum { STEPS = 5, B = 8, MAXR = 4 };

static mt_graph *mlp_with_batch(const char *src, int batch)
{
    char path[1024], text[4096], out[4200];
    snprintf(path, sizeof path, "%s/tests/torch/optim/mlp.mt", src);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *o = out;
    for (const char *p = text; *p;) {
        if (!strncmp(p, "f32[8,", 6)) {
            o += sprintf(o, "f32[%d,", batch);
            p += 6;
        } else {
            *o++ = *p++;
        }
    }
    *o = 0;
    mt_graph *g = NULL;
    mt_diag d;
    mt_diag_init(&d);
    mt_graph_parse(out, strlen(out), "mlp.mt", &g, &d);
    return g;
}

/* Trains `steps` steps of `step` on samples [offset, offset + batch) of each global batch. */
static int train(const char *target, const mt_graph *step, int batch, int global, int offset,
                 const float *x, const float *y, float *params)
{
    mt_program *p = NULL;
    mt_diag d;
    mt_diag_init(&d);
    const char *names[4] = {"w1", "b1", "w2", "b2"};
    size_t n[4] = {20, 5, 15, 3}, at = 0;
    mt_status st = mt_program_compile(step, target, &p, &d);
    for (int i = 0; i < 4 && st == MT_OK; at += n[i], i++)
        st = mt_program_set(p, names[i], params + at, n[i] * sizeof(float), &d);
    for (int s = 0; s < STEPS && st == MT_OK; s++) {
        size_t first = (size_t)s * (size_t)global + (size_t)offset;
        st = mt_program_set(p, "x", x + first * 4, (size_t)batch * 4 * sizeof(float), &d);
        if (st == MT_OK)
            st = mt_program_set(p, "y", y + first * 3, (size_t)batch * 3 * sizeof(float), &d);
        if (st == MT_OK)
            st = mt_program_run(p, &d);
    }
    at = 0;
    for (int i = 0; i < 4 && st == MT_OK; at += n[i], i++)
        st = mt_program_get(p, names[i], params + at, n[i] * sizeof(float), &d);
    if (st != MT_OK)
        fprintf(stderr, "dp_step: %s\n", d.msg);
    mt_program_free(p);
    return st == MT_OK;
}

int main(int argc, char **argv)
{
    const char *src = getenv("MT_SOURCE_DIR");
    int die = argc > 1 && !strcmp(argv[1], "die");
    const char *target = argc > 1 && !die ? argv[1] : "cpu";
    mt_mpi m;
    mt_diag d;
    mt_diag_init(&d);
    if (!src || mt_mpi_start(&m, &d) != MT_OK) {
        fprintf(stderr, "dp_step: %s\n", src ? d.msg : "MT_SOURCE_DIR is not set");
        return 1;
    }
    if (m.size > MAXR) {
        fprintf(stderr, "dp_step: at most %d ranks\n", MAXR);
        return 1;
    }
    /* What the cuda target's NCCL communicator is built with: the world and a broadcast
     * (rank 0's unique id). */
    int wrank, wsize = mt_mpi_world(&wrank);
    char token[200] = {0};
    if (m.rank == 0)
        for (size_t i = 0; i < sizeof token; i++)
            token[i] = (char)(i * 7 + 1);
    if (mt_mpi_bcast(token, sizeof token, 0, &d) != MT_OK || wsize != m.size || wrank != m.rank ||
        token[199] != (char)(199 * 7 + 1)) {
        fprintf(stderr, "dp_step: rank %d: the world or its broadcast is wrong\n", m.rank);
        mt_mpi_abort(&m, 1);
        return 1;
    }
    if (!strcmp(target, "nccl")) {
        float buf[4] = {1, 2, 3, 4};
        mt_status st = mt_nccl_allreduce(buf, 4, MT_DTYPE_F32, MT_REDUCE_MEAN, NULL, &d);
        printf("dp_step: rank %d: %s\n", m.rank, st == MT_OK ? "reduced" : d.msg);
        mt_mpi_stop(&m);
        return st == MT_OK; /* a host buffer cannot have been reduced by NCCL */
    }
    int global = m.size * B;
    static float x[STEPS * MAXR * B * 4], y[STEPS * MAXR * B * 3];
    for (int i = 0; i < STEPS * global; i++) {
        for (int k = 0; k < 4; k++)
            x[i * 4 + k] = sinf((float)(i * 4 + k) * 0.7f) * 1.5f;
        for (int k = 0; k < 3; k++)
            y[i * 3 + k] = (float)((i * 7) % 3 == k);
    }
    float init[43] = {0}, mine[43], one[43];
    for (int i = 0; i < 20; i++)
        init[i] = 0.3f * sinf((float)i);
    for (int i = 0; i < 15; i++)
        init[25 + i] = 0.3f * cosf((float)i);
    memcpy(mine, init, sizeof init);
    memcpy(one, init, sizeof init);
    mt_optim o;
    mt_optim_defaults(&o, MT_OPTIM_SGD);
    o.lr = 0.05;
    o.momentum = 0.9;
    mt_graph *half = mlp_with_batch(src, B), *whole = mlp_with_batch(src, global), *gh = NULL,
             *gw = NULL;
    int ok = half && whole && mt_pass_step(whole, &o, NULL, 0, &gw, &d) == MT_OK;
    o.data_parallel = 1;
    ok = ok && mt_pass_step(half, &o, NULL, 0, &gh, &d) == MT_OK;
    if (die && m.rank == m.size - 1)
        raise(SIGKILL); /* as if the node went away */
    ok = ok && train(target, gh, B, global, m.rank * B, x, y, mine);
    if (!ok) {
        fprintf(stderr, "dp_step: rank %d failed\n", m.rank);
        mt_mpi_abort(&m, 1);
        return 1;
    }
    /* Same bits on every rank... */
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < sizeof mine; i++)
        h = (h ^ ((unsigned char *)mine)[i]) * 1099511628211u;
    int same = mt_mpi_agree(&m, h, &d);
    /* ... and the params of one process that saw the whole batches. */
    double worst = 0;
    if (m.rank == 0 && train(target, gw, global, global, 0, x, y, one))
        for (int i = 0; i < 43; i++)
            worst = fmax(worst, fabs(mine[i] - one[i]) / fmax(1, fabs(one[i])));
    if (m.rank == 0)
        printf("dp_step: %d ranks on %s, params %s on every rank, largest difference from one "
               "process %.3g\n",
               m.size, target, same ? "equal" : "DIFFERENT", worst);
    mt_mpi_stop(&m);
    mt_graph_free(gh);
    mt_graph_free(gw);
    mt_graph_free(half);
    mt_graph_free(whole);
    return same && worst < 1e-5 ? 0 : 1;
}
