/* dp_xor.c - data-parallel training with a compiled step .so and the system's Open MPI.
 *
 * `mtc step --data-parallel` makes a step graph whose gradients pass through `allreduce
 * op=mean`; `mtc compile` turns it into libxor_step.so, which exports xor_set_allreduce. This
 * program is the caller a cluster job would be: it installs MPI_Allreduce as that hook, then
 * every rank trains on its own slice of each global batch (rank r takes samples
 * [r*B, (r+1)*B) of every R*B), and because every rank applies the same averaged gradient,
 * all ranks hold the same params after every step, the params of one process at batch R*B.
 *
 * Built and run (docs/distributed.md):
 *   mtc step examples/xor.mt --optimizer adam --lr 0.02 --data-parallel -o xor_step.mt
 *   mtc compile xor_step.mt -o libxor_step.so --weights examples/xor.in.safetensors
 *   mpicc -O2 -I. examples/mpi/dp_xor.c -L. -lxor_step -Wl,-rpath,'$ORIGIN' -lm -o dp_xor
 *   mpirun -np 2 ./dp_xor
 * It exits 0 when the ranks agree bit for bit at the end and the loss has fallen, else 1.
 */
#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xor.h" /* mtc compile's header of the step graph (graph xor) */

#define B 16 /* samples per rank and step: the graph's batch */
#define EPOCHS 60
#define SAMPLES 512 /* the data set, the same on every rank */

/* The allreduce hook of the .so (docs/abi.md): sum across the ranks, then divide for a mean. */
static int mpi_allreduce(void *buf, size_t count, int dtype, int op, void *ctx)
{
    int size = *(const int *)ctx;
    if (count > (size_t)INT32_MAX)
        return 1;
    if (MPI_Allreduce(MPI_IN_PLACE, buf, (int)count, dtype ? MPI_DOUBLE : MPI_FLOAT, MPI_SUM,
                      MPI_COMM_WORLD) != MPI_SUCCESS)
        return 1;
    if (op == 1)
        for (size_t i = 0; i < count; i++) {
            if (dtype)
                ((double *)buf)[i] /= size;
            else
                ((float *)buf)[i] /= (float)size;
        }
    return 0;
}

/* Xor points: two coordinates in [0, 1), class 1 when exactly one is above 0.5. A fixed
 * generator, so every rank makes the same data set without reading a file. */
static void make_data(float *x, float *y)
{
    uint32_t s = 12345;
    for (int i = 0; i < SAMPLES; i++) {
        for (int k = 0; k < 2; k++) {
            s = s * 1664525u + 1013904223u;
            x[2 * i + k] = (float)(s >> 8) / 16777216.0f;
        }
        y[i] = (float)((x[2 * i] > 0.5f) != (x[2 * i + 1] > 0.5f));
    }
}

/* Every param of the state, concatenated (their names and sizes come from the header). */
static size_t params_of(const xor_state *s, float *out)
{
    const char *names[] = {"w1", "b1", "w2", "b2", "w3", "b3"};
    size_t sizes[] = {XOR_W1_NUMEL, XOR_B1_NUMEL, XOR_W2_NUMEL,
                      XOR_B2_NUMEL, XOR_W3_NUMEL, XOR_B3_NUMEL};
    size_t n = 0;
    for (int i = 0; i < 6; i++) {
        xor_state_get(s, names[i], out + n, sizes[i] * sizeof(float));
        n += sizes[i];
    }
    return n;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (xor_abi_version() != 1 || SAMPLES % (B * size) != 0) {
        if (rank == 0)
            fprintf(stderr,
                    "dp_xor: ABI %d, or %d ranks do not divide %d samples in batches of %d\n",
                    xor_abi_version(), size, SAMPLES, B);
        MPI_Finalize();
        return 1;
    }
    xor_set_allreduce(mpi_allreduce, &size);
    xor_state *s = xor_state_new(); /* the baked-in params: the same on every rank */
    static float x[SAMPLES * 2], y[SAMPLES];
    make_data(x, y);

    int steps = SAMPLES / (B * size), ok = s != NULL;
    double first = 0, last = 0, right = 0;
    for (int e = 0; e < EPOCHS && ok; e++) {
        double loss_sum = 0;
        right = 0;
        for (int t = 0; t < steps && ok; t++) {
            int at = (t * size + rank) * B; /* this rank's slice of global batch t */
            float loss, p[B];
            const void *in[] = {x + 2 * at, y + at};
            void *out[] = {&loss, p};
            ok = xor_step(s, in, out) == 0;
            loss_sum += loss;
            for (int i = 0; i < B; i++)
                right += (p[i] > 0.5f) == (y[at + i] > 0.5f);
        }
        /* The epoch's mean loss and accuracy over every rank's batches. */
        double sums[2] = {loss_sum, right};
        MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        last = sums[0] / (steps * size);
        right = sums[1] / SAMPLES;
        if (e == 0)
            first = last;
        if (rank == 0 && (e % 10 == 0 || e == EPOCHS - 1))
            printf("epoch %2d: loss %.4f, train accuracy %.3f\n", e + 1, last, right);
    }
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);

    /* Every rank must hold rank 0's params, bit for bit. */
    static float mine[256], zero[256];
    size_t n = ok ? params_of(s, mine) : 0;
    memcpy(zero, mine, sizeof mine);
    MPI_Bcast(zero, (int)n, MPI_FLOAT, 0, MPI_COMM_WORLD);
    int same = memcmp(zero, mine, n * sizeof(float)) == 0;
    MPI_Allreduce(MPI_IN_PLACE, &same, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    int fell = ok && isfinite(last) && last < 0.5 * first;
    if (rank == 0)
        printf("dp_xor: %d ranks, %d steps of %d x %d samples, loss %.4f -> %.4f, params %s on "
               "every rank\n",
               size, EPOCHS * steps, size, B, first, last, same ? "equal" : "DIFFERENT");
    xor_state_free(s);
    MPI_Finalize();
    return ok && same && fell ? 0 : 1;
}
