/* mtc.h - the public API of mtc, MiniTorch rebuilt as an ahead-of-time graph compiler.
 *
 * Everything a program needs to build a graph, read and write MTIR text, load and save
 * tensors, and run a graph. Handles are opaque; the value types (status, diag, dtype, type)
 * are plain structs because callers fill and read them.
 *
 * Conventions:
 *  - Fallible calls return mt_status (MT_OK == 0) and fill an mt_diag with the first error:
 *    location, node id and a one-line message. The library never aborts on user input.
 *  - Out-parameters come last and are set to NULL on failure. `const T *` is borrowed for the
 *    call. Strings passed in are copied.
 *  - Builder calls return a value id (>= 0) or -1; the first error is kept on the graph
 *    (mt_graph_diag) and every later builder call on that graph returns -1 too, so a program
 *    can build a whole model and check once.
 */
#ifndef MTC_MTC_H
#define MTC_MTC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status and diagnostics ------------------------------------------------------------ */

typedef enum mt_status {
    MT_OK = 0,
    MT_ERR_PARSE,       /* malformed MTIR or file contents */
    MT_ERR_SHAPE,       /* shapes that do not fit an op */
    MT_ERR_TYPE,        /* dtype mismatch, bad annotation */
    MT_ERR_UNSUPPORTED, /* valid request that this build or backend cannot do */
    MT_ERR_BACKEND,     /* LLVM, NVRTC or the CUDA driver failed */
    MT_ERR_NOMEM,
    MT_ERR_IO,
    MT_ERR_ARG,     /* a bad argument: unknown name, missing tensor, NULL pointer */
    MT_ERR_INTERNAL /* a broken invariant inside mtc: a bug */
} mt_status;

#define MT_DIAG_MSG 512
#define MT_DIAG_FILE 256

typedef struct mt_diag {
    mt_status status;        /* MT_OK until the first error */
    char file[MT_DIAG_FILE]; /* "" when the error has no file */
    int line, col;           /* 1-based; 0 when unknown */
    int node;                /* node id, or -1 */
    char msg[MT_DIAG_MSG];   /* one line, no trailing newline */
    char *log;               /* optional backend log (LLVM, NVRTC), owned; see mt_diag_fini */
} mt_diag;

void mt_diag_init(mt_diag *d);
void mt_diag_fini(mt_diag *d);
/* Records an error unless one is already recorded; returns `st` so callers can write
 * `return mt_diag_set(d, ...)`. `d` may be NULL. */
mt_status mt_diag_set(mt_diag *d, mt_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
mt_status mt_diag_set_at(mt_diag *d, mt_status st, const char *file, int line, int col,
                         const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* "file:line:col: msg" (the parts that are known) into buf. */
void mt_diag_format(const mt_diag *d, char *buf, size_t size);
const char *mt_status_name(mt_status st);

/* ---- allocation ------------------------------------------------------------------------ */

/* Every allocation of the library goes through these, so tests can make any one fail. */
typedef struct mt_allocator {
    void *(*realloc)(void *ctx, void *p, size_t size); /* size 0 frees and returns NULL */
    void *ctx;
} mt_allocator;
void mt_set_allocator(const mt_allocator *a); /* NULL restores the libc allocator */

/* ---- types ----------------------------------------------------------------------------- */

typedef enum mt_dtype { MT_DTYPE_F32 = 0, MT_DTYPE_F64 = 1 } mt_dtype;

#define MT_MAX_RANK 6

typedef struct mt_type {
    mt_dtype dtype;
    int rank;                  /* 0..MT_MAX_RANK */
    int64_t dims[MT_MAX_RANK]; /* all > 0 */
} mt_type;

mt_type mt_type_make(mt_dtype dt, int rank, const int64_t *dims);
int64_t mt_type_numel(const mt_type *t);
size_t mt_dtype_size(mt_dtype dt);
const char *mt_dtype_name(mt_dtype dt); /* "f32", "f64" */

/* ---- ops ------------------------------------------------------------------------------- */

typedef enum mt_op {
#define MT_OP(ENUM, text, arity, flags) ENUM,
#include "ir/ops.def"
#undef MT_OP
    MT_OP_COUNT
} mt_op;

const char *mt_op_name(mt_op op);

/* ---- graphs ---------------------------------------------------------------------------- */

typedef struct mt_graph mt_graph;

/* Creates an empty graph named `name` (copied). Returns NULL when out of memory. */
mt_graph *mt_graph_new(const char *name);
void mt_graph_free(mt_graph *g);
const char *mt_graph_name(const mt_graph *g);
/* The first builder error on g, or a diag with status MT_OK. */
const mt_diag *mt_graph_diag(const mt_graph *g);
int mt_graph_nnodes(const mt_graph *g);
mt_op mt_graph_node_op(const mt_graph *g, int id);
const mt_type *mt_graph_node_type(const mt_graph *g, int id);
const char *mt_graph_node_name(const mt_graph *g, int id);
/* Looks a value up by name (without '%'); -1 when absent. */
int mt_graph_find(const mt_graph *g, const char *name);

/* Reads MTIR text. `filename` is used in messages only. *out is NULL on error. */
mt_status mt_graph_parse(const char *text, size_t len, const char *filename, mt_graph **out,
                         mt_diag *d);
mt_status mt_graph_parse_file(const char *path, mt_graph **out, mt_diag *d);
/* Canonical MTIR; the caller frees the string with mt_free. */
char *mt_graph_print(const mt_graph *g);
/* Graphviz; the caller frees the string with mt_free. */
char *mt_graph_dot(const mt_graph *g);
/* Checks every invariant of a well-formed graph. */
mt_status mt_graph_verify(const mt_graph *g, mt_diag *d);

void mt_free(void *p);

/* ---- the builder (frontend/builder.c): one call per op --------------------------------- */

/* `name` may be NULL for a fresh one. Names are copied. */
int mt_input(mt_graph *g, const char *name, mt_type type);
int mt_param(mt_graph *g, const char *name, mt_type type);
/* A value carried from one run to the next that is not trained (optimiser moments, a step
 * counter): fed like a param, zeros where nobody feeds it. */
int mt_state(mt_graph *g, const char *name, mt_type type);
/* `update %target <- %value`: after a run, the param or state `target` takes the value of
 * `value` (same type); every read during the run sees the old value. A graph with updates is a
 * step graph (one training step). Returns 0 or -1 (the error is kept on the graph). */
int mt_update(mt_graph *g, int target, int value);
int mt_set_outputs(mt_graph *g, const int *ids, int n);
/* Names the value `id` (it must be free); returns id or -1. */
int mt_name(mt_graph *g, int id, const char *name);

int mt_neg(mt_graph *g, int x);
int mt_exp(mt_graph *g, int x);
int mt_log(mt_graph *g, int x);
int mt_relu(mt_graph *g, int x);
int mt_sigmoid(mt_graph *g, int x);
int mt_inv(mt_graph *g, int x);
int mt_tanh(mt_graph *g, int x);
int mt_sqrt(mt_graph *g, int x);
int mt_abs(mt_graph *g, int x);

int mt_add(mt_graph *g, int a, int b);
int mt_sub(mt_graph *g, int a, int b);
int mt_mul(mt_graph *g, int a, int b);
int mt_div(mt_graph *g, int a, int b);
int mt_maximum(mt_graph *g, int a, int b);
int mt_minimum(mt_graph *g, int a, int b);
int mt_pow(mt_graph *g, int a, int b);
int mt_lt(mt_graph *g, int a, int b);
int mt_gt(mt_graph *g, int a, int b);
int mt_eq(mt_graph *g, int a, int b);
int mt_where(mt_graph *g, int c, int a, int b);

/* Reductions over axis `dim` (negative counts from the end; the axis is kept as size 1). */
int mt_sum(mt_graph *g, int x, int dim);
int mt_max(mt_graph *g, int x, int dim);
int mt_mean(mt_graph *g, int x, int dim);
/* Reductions over everything, to rank 0. */
int mt_sum_all(mt_graph *g, int x);
int mt_max_all(mt_graph *g, int x);
int mt_mean_all(mt_graph *g, int x);

int mt_reshape(mt_graph *g, int x, int n, const int64_t *shape); /* one -1 allowed */
int mt_permute(mt_graph *g, int x, int n, const int64_t *perm);
int mt_expand(mt_graph *g, int x, int n, const int64_t *shape);
int mt_slice(mt_graph *g, int x, int n, const int64_t *start, const int64_t *end);
int mt_pad(mt_graph *g, int x, int n, const int64_t *pads); /* n = 2 * rank */
int mt_concat(mt_graph *g, int n, const int *xs, int dim);

int mt_matmul(mt_graph *g, int a, int b);
int mt_conv1d(mt_graph *g, int x, int w, int stride, int padding);
int mt_conv2d(mt_graph *g, int x, int w, const int64_t stride[2], const int64_t padding[2]);
int mt_avgpool2d(mt_graph *g, int x, const int64_t kernel[2]);
int mt_maxpool2d(mt_graph *g, int x, const int64_t kernel[2]);

int mt_const(mt_graph *g, double value, mt_type type);
int mt_rand(mt_graph *g, uint64_t seed, mt_type type);
/* rand whose rank-0 operand k (a step counter of the result's dtype; -1 for none) selects the
 * stream: element i depends on (seed, i, floor(k)), and k = 0 gives mt_rand's numbers. */
int mt_rand_at(mt_graph *g, uint64_t seed, mt_type type, int k);

/* ---- tensors (runtime/tensor.c) -------------------------------------------------------- */

/* A dense row-major tensor that owns its data. */
typedef struct mt_tensor mt_tensor;

/* Zero-filled. NULL when out of memory or when the byte count overflows. */
mt_tensor *mt_tensor_new(mt_type type);
void mt_tensor_free(mt_tensor *t);
const mt_type *mt_tensor_type(const mt_tensor *t);
void *mt_tensor_data(const mt_tensor *t);
size_t mt_tensor_nbytes(const mt_tensor *t);

/* An ordered set of named tensors: what a safetensors file holds. */
typedef struct mt_tensor_map mt_tensor_map;

mt_tensor_map *mt_tensor_map_new(void);
void mt_tensor_map_free(mt_tensor_map *m); /* frees the tensors too */
/* Takes ownership of t, also on failure. A name already present is replaced. */
mt_status mt_tensor_map_put(mt_tensor_map *m, const char *name, mt_tensor *t);
mt_tensor *mt_tensor_map_get(const mt_tensor_map *m, const char *name); /* borrowed or NULL */
int mt_tensor_map_count(const mt_tensor_map *m);
const char *mt_tensor_map_name(const mt_tensor_map *m, int i);
mt_tensor *mt_tensor_map_at(const mt_tensor_map *m, int i);

/* ---- safetensors (runtime/safetensors.c) ----------------------------------------------- */

/* Reads a safetensors file (F32 and F64 tensors). Malformed files give MT_ERR_PARSE with a
 * message naming the file and what is wrong; *out is NULL then. */
mt_status mt_safetensors_load(const char *path, mt_tensor_map **out, mt_diag *d);
mt_status mt_safetensors_parse(const void *data, size_t len, const char *filename,
                               mt_tensor_map **out, mt_diag *d);
/* Writes the tensors in map order. */
mt_status mt_safetensors_save(const char *path, const mt_tensor_map *m, mt_diag *d);

#ifdef __cplusplus
}
#endif
#endif
