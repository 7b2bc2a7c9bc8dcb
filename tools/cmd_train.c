/* cmd_train.c - `mtc train --model NAME|FILE.mt --data NAME|PATH ...` (SPEC §4): the flags, the
 * progress display, and the files written besides the checkpoint. The training itself is
 * mt_train_run (frontend/train.c).
 *
 * Display: when stdout is a terminal, a progress bar per epoch (loss, samples/s, time left)
 * redrawn in place with \r, which the epoch's summary line replaces when the epoch ends; when
 * it is not (a pipe, a file, a test, or any rank of a run under mpirun), exactly one line per
 * epoch. Errors go to stderr either way; --quiet prints nothing else. Under mpirun every rank
 * trains (frontend/train.h, data parallel) and rank 0 alone prints, logs, plots and saves.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frontend/models.h"
#include "ir/alloc.h"
#include "runtime/mpi.h"
#include "tools/cmd.h"
#include "tools/train.h"

static const char usage_text[] =
    "usage: mtc train --model NAME|FILE.mt --data NAME|PATH [--epochs N] [--batch B]\n"
    "                 [--lr X] [--optimizer sgd|adam] [--momentum M] [--weight-decay W]\n"
    "                 [--hidden H] [--points P] [--seed S] [--no-shuffle] [--backend B]\n"
    "                 [--load W.safetensors] [--save W.safetensors] [--log METRICS.csv]\n"
    "                 [--plot CURVE.svg] [--quiet]\n"
    "\n"
    "Compiles the whole training step once (forward, backward and the optimiser's update: the\n"
    "graph `mtc step` prints) and runs it for every batch, with the params and optimiser state\n"
    "kept in the compiled program.\n"
    "  --model NAME|FILE.mt   minitorch (2->H->H->1, BCE), mlp (flatten->H->H/2->classes),\n"
    "                         lenet (conv 8, conv 16, fc 64, fc classes), or a loss graph with\n"
    "                         inputs %x, %y, the loss first among its outputs, and optionally\n"
    "                         an output %pred or %logits for accuracy\n"
    "  --data NAME|PATH       simple diag split xor circle spiral (MiniTorch's 2-D sets),\n"
    "                         fashion-mnist, a directory of MNIST IDX files, or a safetensors\n"
    "                         file holding x and y (and optionally x_test, y_test)\n"
    "  --epochs N             passes over the data (10)\n"
    "  --batch B              samples per step (32; a FILE.mt's batch is its own)\n"
    "  --optimizer sgd|adam   torch.optim.SGD or torch.optim.Adam (sgd)\n"
    "  --lr X                 learning rate (SGD 0.01, Adam 0.001)\n"
    "  --momentum M           SGD momentum (0)\n"
    "  --weight-decay W       added to each gradient as W * param (0)\n"
    "  --hidden H             hidden width of minitorch (10) and mlp (256)\n"
    "  --points P             points of a generated data set (50)\n"
    "  --seed S               seeds the initial params, the generated data and the shuffle (0)\n"
    "  --no-shuffle           batches in the data's order (else shuffled each epoch by seed)\n"
    "  --backend B            interp, cpu (default), opencl or cuda\n"
    "  --load W.safetensors   start every param and state found in W from W\n"
    "  --save W.safetensors   write every param and state after the last epoch\n"
    "  --log METRICS.csv      the per-epoch numbers as CSV\n"
    "  --plot CURVE.svg       loss and accuracy per epoch as an SVG chart\n"
    "  --quiet                print nothing but errors\n"
    "\n"
    "Prints one line per epoch (a progress bar when stdout is a terminal):\n"
    "  epoch E/N loss L train_acc A test_acc T samples/s S\n"
    "L is the mean loss of the epoch's steps, A the fraction of their samples classified\n"
    "correctly, T the fraction of the test split correct after the epoch (eval mode), S the\n"
    "training samples per second of the steps alone. Accuracies appear where there are labels.\n";

/* What the callbacks need. */
typedef struct display {
    int quiet, terminal;
    const mt_mpi *mpi; /* the ranks of a data-parallel run (one without mpirun) */
    int bar_open;      /* a progress bar is on the current line */
    double last_draw;  /* when it was last drawn */
    double epoch_wall; /* when the epoch's first step started drawing */
} display;

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Every rank must train the same model on the same data, or the collectives would mix
 * different tensors (or wait forever): a hash of what was compiled, compared across ranks. */
static void check_ranks_agree(const display *s, const mt_train_info *info)
{
    if (s->mpi->size <= 1)
        return;
    uint64_t h = 1469598103934665603u;
    const char *parts[2] = {info->model, info->data};
    for (int i = 0; i < 2; i++)
        for (const char *c = parts[i]; c && *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211u;
    int64_t nums[4] = {info->samples, info->test, info->batch, info->nbatches};
    for (int i = 0; i < 4; i++)
        h = (h ^ (uint64_t)nums[i]) * 1099511628211u;
    mt_diag d;
    mt_diag_init(&d);
    if (!mt_mpi_agree(s->mpi, h, &d)) {
        fprintf(stderr, "mtc train: rank %d: %s\n", s->mpi->rank, d.msg);
        mt_mpi_abort(s->mpi, 1);
    }
}

static void on_start(void *ctx, const mt_train_info *info)
{
    display *s = ctx;
    check_ranks_agree(s, info);
    if (s->quiet || !s->terminal)
        return;
    printf("training %s on %s: %lld samples", info->model, info->data, (long long)info->samples);
    if (info->test)
        printf(" (%lld test)", (long long)info->test);
    printf(", batch %lld, %lld steps per epoch; compiled in %.2f s\n", (long long)info->batch,
           (long long)info->nbatches, info->compile_s);
    fflush(stdout);
}

static void on_batch(void *ctx, const mt_train_progress *p)
{
    display *s = ctx;
    if (s->quiet || !s->terminal)
        return;
    double now = wall_s();
    if (p->batch == 1)
        s->epoch_wall = now;
    if (now - s->last_draw < 0.1 && p->batch != p->nbatches)
        return;
    s->last_draw = now;
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    int filled = (int)(WIDTH * p->batch / p->nbatches);
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = 0;
    double per_step = (now - s->epoch_wall) / (double)p->batch;
    double left = per_step * (double)(p->nbatches - p->batch);
    printf("\repoch %d/%d [%s] %lld/%lld loss %.6f samples/s %.1f left %d:%02d\033[K", p->epoch,
           p->epochs, bar, (long long)p->batch, (long long)p->nbatches, p->loss, p->samples_per_s,
           (int)(left / 60), (int)fmod(left, 60));
    fflush(stdout);
    s->bar_open = 1;
}

static void on_epoch(void *ctx, const mt_train_epoch *e, int epochs)
{
    display *s = ctx;
    if (s->quiet)
        return;
    if (s->terminal)
        fputs("\r", stdout);
    printf("epoch %d/%d loss %.6f", e->epoch, epochs, e->loss);
    if (isfinite(e->train_acc))
        printf(" train_acc %.4f", e->train_acc);
    if (isfinite(e->test_acc))
        printf(" test_acc %.4f", e->test_acc);
    printf(" samples/s %.1f%s\n", e->samples_per_s, s->terminal ? "\033[K" : "");
    fflush(stdout);
    s->bar_open = 0;
}

/* A whole non-negative number no larger than max; 0 and a usage error otherwise. */
static int parse_count(const char *flag, const char *v, long long min, long long max,
                       long long *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end || errno == ERANGE || v[0] == '-' || v[0] == '+' || v[0] == ' ') {
        mtc_usage_error("train", "%s: '%s' is not a whole number", flag, v);
        return 0;
    }
    if (n < min || n > max) {
        mtc_usage_error("train", "%s: %lld is out of range (%lld to %lld)", flag, n, min, max);
        return 0;
    }
    *out = n;
    return 1;
}

static int parse_seed(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (end == v || *end || errno == ERANGE || v[0] == '-' || v[0] == '+' || v[0] == ' ') {
        mtc_usage_error("train", "--seed: '%s' is not a whole number from 0 to 2^64-1", v);
        return 0;
    }
    *out = n;
    return 1;
}

/* The flags that take a value, in the order of `vals` below. */
static const char *const value_flags[] = {
    "--model",    "--data",         "--epochs", "--batch",  "--lr",   "--optimizer",
    "--momentum", "--weight-decay", "--hidden", "--points", "--seed", "--backend",
    "--load",     "--save",         "--log",    "--plot",
};
enum {
    F_MODEL,
    F_DATA,
    F_EPOCHS,
    F_BATCH,
    F_LR,
    F_OPTIMIZER,
    F_MOMENTUM,
    F_WD,
    F_HIDDEN,
    F_POINTS,
    F_SEED,
    F_BACKEND,
    F_LOAD,
    F_SAVE,
    F_LOG,
    F_PLOT,
    NFLAGS
};

/* Fills o from the flag values; 0 after a usage error. */
static int options_from(const char *const *vals, mt_train_options *o)
{
    long long n;
    mt_train_defaults(o);
    o->model = vals[F_MODEL];
    o->data = vals[F_DATA];
    const char *opt = vals[F_OPTIMIZER] ? vals[F_OPTIMIZER] : "sgd";
    if (!strcmp(opt, "sgd"))
        mt_optim_defaults(&o->optim, MT_OPTIM_SGD);
    else if (!strcmp(opt, "adam"))
        mt_optim_defaults(&o->optim, MT_OPTIM_ADAM);
    else
        return !mtc_usage_error("train", "--optimizer: unknown optimizer '%s' (sgd or adam)", opt);
    if (vals[F_MOMENTUM] && o->optim.kind != MT_OPTIM_SGD)
        return !mtc_usage_error("train", "--momentum does not apply to --optimizer %s", opt);
    if (vals[F_LR] && !mtc_parse_double("train", "--lr", vals[F_LR], &o->optim.lr))
        return 0;
    if (vals[F_MOMENTUM] &&
        !mtc_parse_double("train", "--momentum", vals[F_MOMENTUM], &o->optim.momentum))
        return 0;
    if (vals[F_WD] &&
        !mtc_parse_double("train", "--weight-decay", vals[F_WD], &o->optim.weight_decay))
        return 0;
    if (vals[F_EPOCHS]) {
        if (!parse_count("--epochs", vals[F_EPOCHS], 1, 1000000000, &n))
            return 0;
        o->epochs = (int)n;
    }
    if (vals[F_BATCH]) {
        if (!parse_count("--batch", vals[F_BATCH], 1, INT64_C(1) << 30, &n))
            return 0;
        o->batch = n;
    }
    if (vals[F_HIDDEN]) {
        if (!parse_count("--hidden", vals[F_HIDDEN], 1, INT64_C(1) << 30, &n))
            return 0;
        o->hidden = n;
    }
    if (vals[F_POINTS]) {
        if (!parse_count("--points", vals[F_POINTS], 1, MT_DATA_MAX_POINTS, &n))
            return 0;
        o->points = n;
    }
    if (vals[F_SEED] && !parse_seed(vals[F_SEED], &o->seed))
        return 0;
    if (vals[F_BACKEND]) {
        int known = 0;
        for (int i = 0; mt_target_name(i); i++)
            known |= !strcmp(mt_target_name(i), vals[F_BACKEND]);
        if (!known)
            return !mtc_usage_error("train", "unknown backend '%s' (interp, cpu, cuda or opencl)",
                                    vals[F_BACKEND]);
        o->target = vals[F_BACKEND];
    }
    o->load = vals[F_LOAD];
    o->save = vals[F_SAVE];
    return 1;
}

/* Writes --log and --plot from the epochs there are; 1 on success, else 0 with d set. */
static int write_reports(const char *log, const char *plot, const mt_train_options *o,
                         const mt_train_result *r, mt_diag *d)
{
    if (log) {
        char *csv = mt_train_log_csv(r->epochs, r->nepochs);
        int ok =
            csv ? mtc_write_text(log, csv, d) : (mt_diag_set(d, MT_ERR_NOMEM, "out of memory"), 0);
        mt_free(csv);
        if (!ok)
            return 0;
    }
    if (plot) {
        char title[512];
        snprintf(title, sizeof title, "mtc train --model %s --data %s", o->model, o->data);
        char *svg = mt_train_plot_svg(title, r->epochs, r->nepochs);
        int ok =
            svg ? mtc_write_text(plot, svg, d) : (mt_diag_set(d, MT_ERR_NOMEM, "out of memory"), 0);
        mt_free(svg);
        if (!ok)
            return 0;
    }
    return 1;
}

int mtc_cmd_train(int argc, char **argv)
{
    const char *vals[NFLAGS] = {0};
    int no_shuffle = 0, quiet = 0;
    if (mtc_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int k = -1;
        for (int f = 0; f < NFLAGS; f++)
            if (!strcmp(a, value_flags[f]))
                k = f;
        if (k >= 0) {
            if (i + 1 >= argc)
                return mtc_usage_error("train", "%s needs a value", a);
            vals[k] = argv[++i];
        } else if (!strcmp(a, "--no-shuffle")) {
            no_shuffle = 1;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            return mtc_usage_error("train", "unknown flag '%s'", a);
        } else {
            return mtc_usage_error("train", "unexpected argument '%s' (the model is --model)", a);
        }
    }
    if (!vals[F_MODEL])
        return mtc_usage_error("train", "--model is required (minitorch, mlp, lenet or FILE.mt)");
    if (!vals[F_DATA])
        return mtc_usage_error("train", "--data is required (a data set's name or path)");
    mt_train_options o;
    if (!options_from(vals, &o))
        return 2;
    o.shuffle = !no_shuffle;

    /* Under mpirun: one model on every rank; rank 0 alone prints, logs, plots and saves. */
    mt_diag d;
    mt_diag_init(&d);
    mt_mpi mpi;
    if (mt_mpi_start(&mpi, &d) != MT_OK) {
        mtc_fail(&d);
        mt_diag_fini(&d);
        return 1;
    }
    o.nranks = mpi.size;
    o.rank = mpi.rank;
    int lead = mpi.rank == 0;
    if (!lead)
        o.save = NULL;
    /* mpirun hands every rank a pseudo-terminal, wherever its output really goes: a
     * multi-rank run prints plain lines. */
    display s = {quiet || !lead, isatty(STDOUT_FILENO) && mpi.size == 1, &mpi, 0, 0, 0};
    o.callbacks = (mt_train_callbacks){on_start, on_batch, on_epoch, &s};

    mt_train_result r;
    int rc = mt_train_run(&o, &r, &d) == MT_OK ? 0 : 1;
    if (s.bar_open) { /* end the bar's line before the error */
        fputs("\n", stdout);
        fflush(stdout);
    }
    if (rc && mpi.size > 1) {
        /* A rank that fails must not leave the others waiting in a collective. */
        char msg[MT_DIAG_MSG + MT_DIAG_FILE + 32];
        mt_diag_format(&d, msg, sizeof msg);
        fprintf(stderr, "mtc train: rank %d of %d: %s\n", mpi.rank, mpi.size, msg);
        fflush(stderr);
        mt_mpi_abort(&mpi, 1);
    }
    if (rc)
        mtc_fail(&d);
    mt_diag_fini(&d);
    mt_diag_init(&d);
    if (lead && r.nepochs > 0 && !write_reports(vals[F_LOG], vals[F_PLOT], &o, &r, &d))
        rc = mtc_fail(&d);
    mt_train_result_fini(&r);
    mt_diag_fini(&d);
    mt_mpi_stop(&mpi);
    return rc;
}
