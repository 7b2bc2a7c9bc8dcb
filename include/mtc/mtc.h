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
 *  - A graph runs as a program (the "programs" section): compiled once for a target, fed and
 *    read by value name, run many times.
 *
 * The header is self-contained: it needs only the C standard headers. Link with -lmtc
 * (libmtc.so or libmtc.a; `pkg-config --cflags --libs mtc`, or `find_package(mtc)` and the
 * target mtc::mtc in CMake). libmtc.so exports exactly the declarations marked MT_API.
 */
#ifndef MTC_MTC_H
#define MTC_MTC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the public API: libmtc.so is built with hidden visibility, so only these are exported. */
#if defined(__GNUC__) || defined(__clang__)
#define MT_API __attribute__((visibility("default")))
#else
#define MT_API
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

MT_API void mt_diag_init(mt_diag *d);
MT_API void mt_diag_fini(mt_diag *d);
/* Records an error unless one is already recorded; returns `st` so callers can write
 * `return mt_diag_set(d, ...)`. `d` may be NULL. */
MT_API mt_status mt_diag_set(mt_diag *d, mt_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
MT_API mt_status mt_diag_set_at(mt_diag *d, mt_status st, const char *file, int line, int col,
                                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* "file:line:col: msg" (the parts that are known) into buf. */
MT_API void mt_diag_format(const mt_diag *d, char *buf, size_t size);
MT_API const char *mt_status_name(mt_status st);

/* ---- allocation ------------------------------------------------------------------------ */

/* Every allocation of the library goes through these, so tests can make any one fail. */
typedef struct mt_allocator {
    void *(*realloc)(void *ctx, void *p, size_t size); /* size 0 frees and returns NULL */
    void *ctx;
} mt_allocator;
MT_API void mt_set_allocator(const mt_allocator *a); /* NULL restores the libc allocator */

/* ---- types ----------------------------------------------------------------------------- */

typedef enum mt_dtype { MT_DTYPE_F32 = 0, MT_DTYPE_F64 = 1 } mt_dtype;

#define MT_MAX_RANK 6

typedef struct mt_type {
    mt_dtype dtype;
    int rank;                  /* 0..MT_MAX_RANK */
    int64_t dims[MT_MAX_RANK]; /* all > 0 */
} mt_type;

MT_API mt_type mt_type_make(mt_dtype dt, int rank, const int64_t *dims);
MT_API int64_t mt_type_numel(const mt_type *t);
MT_API size_t mt_dtype_size(mt_dtype dt);
MT_API const char *mt_dtype_name(mt_dtype dt); /* "f32", "f64" */

/* ---- ops ------------------------------------------------------------------------------- */

/* The ops of MTIR (SPEC section 2), in the order of the library's op table (ir/ops.def; ir/op.c
 * checks at compile time that the two agree). */
typedef enum mt_op {
    MT_OP_INPUT,
    MT_OP_PARAM,
    MT_OP_STATE,
    MT_OP_NEG,
    MT_OP_EXP,
    MT_OP_LOG,
    MT_OP_RELU,
    MT_OP_SIGMOID,
    MT_OP_INV,
    MT_OP_TANH,
    MT_OP_SQRT,
    MT_OP_ABS,
    MT_OP_ADD,
    MT_OP_SUB,
    MT_OP_MUL,
    MT_OP_DIV,
    MT_OP_MAXIMUM,
    MT_OP_MINIMUM,
    MT_OP_POW,
    MT_OP_LT,
    MT_OP_GT,
    MT_OP_EQ,
    MT_OP_WHERE,
    MT_OP_SUM,
    MT_OP_MAX,
    MT_OP_MEAN,
    MT_OP_RESHAPE,
    MT_OP_PERMUTE,
    MT_OP_EXPAND,
    MT_OP_SLICE,
    MT_OP_PAD,
    MT_OP_CONCAT,
    MT_OP_MATMUL,
    MT_OP_CONV1D,
    MT_OP_CONV2D,
    MT_OP_AVGPOOL2D,
    MT_OP_MAXPOOL2D,
    MT_OP_CONST,
    MT_OP_RAND,
    MT_OP_ALLREDUCE,
    MT_OP_COUNT
} mt_op;

MT_API const char *mt_op_name(mt_op op);

/* ---- graphs ---------------------------------------------------------------------------- */

typedef struct mt_graph mt_graph;

/* Creates an empty graph named `name` (copied). Returns NULL when out of memory. */
MT_API mt_graph *mt_graph_new(const char *name);
MT_API void mt_graph_free(mt_graph *g);
MT_API const char *mt_graph_name(const mt_graph *g);
/* The first builder error on g, or a diag with status MT_OK. */
MT_API const mt_diag *mt_graph_diag(const mt_graph *g);
MT_API int mt_graph_nnodes(const mt_graph *g);
MT_API mt_op mt_graph_node_op(const mt_graph *g, int id);
MT_API const mt_type *mt_graph_node_type(const mt_graph *g, int id);
MT_API const char *mt_graph_node_name(const mt_graph *g, int id);
/* Looks a value up by name (without '%'); -1 when absent. */
MT_API int mt_graph_find(const mt_graph *g, const char *name);
/* A step graph's `update %target <- %value` lines: how many, and the i-th (0-based) as value
 * ids; mt_graph_update returns -1 when i is out of range. */
MT_API int mt_graph_nupdates(const mt_graph *g);
MT_API int mt_graph_update(const mt_graph *g, int i, int *target, int *value);

/* Reads MTIR text. `filename` is used in messages only. *out is NULL on error. */
MT_API mt_status mt_graph_parse(const char *text, size_t len, const char *filename, mt_graph **out,
                                mt_diag *d);
MT_API mt_status mt_graph_parse_file(const char *path, mt_graph **out, mt_diag *d);
/* Canonical MTIR; the caller frees the string with mt_free. */
MT_API char *mt_graph_print(const mt_graph *g);
/* Graphviz; the caller frees the string with mt_free. */
MT_API char *mt_graph_dot(const mt_graph *g);
/* Checks every invariant of a well-formed graph. */
MT_API mt_status mt_graph_verify(const mt_graph *g, mt_diag *d);

MT_API void mt_free(void *p);

/* ---- the builder (frontend/builder.c): one call per op --------------------------------- */

/* `name` may be NULL for a fresh one. Names are copied. */
MT_API int mt_input(mt_graph *g, const char *name, mt_type type);
MT_API int mt_param(mt_graph *g, const char *name, mt_type type);
/* A value carried from one run to the next that is not trained (optimiser moments, a step
 * counter): fed like a param, zeros where nobody feeds it. */
MT_API int mt_state(mt_graph *g, const char *name, mt_type type);
/* `update %target <- %value`: after a run, the param or state `target` takes the value of
 * `value` (same type); every read during the run sees the old value. A graph with updates is a
 * step graph (one training step). Returns 0 or -1 (the error is kept on the graph). */
MT_API int mt_update(mt_graph *g, int target, int value);
MT_API int mt_set_outputs(mt_graph *g, const int *ids, int n);
/* Names the value `id` (it must be free); returns id or -1. */
MT_API int mt_name(mt_graph *g, int id, const char *name);

MT_API int mt_neg(mt_graph *g, int x);
MT_API int mt_exp(mt_graph *g, int x);
MT_API int mt_log(mt_graph *g, int x);
MT_API int mt_relu(mt_graph *g, int x);
MT_API int mt_sigmoid(mt_graph *g, int x);
MT_API int mt_inv(mt_graph *g, int x);
MT_API int mt_tanh(mt_graph *g, int x);
MT_API int mt_sqrt(mt_graph *g, int x);
MT_API int mt_abs(mt_graph *g, int x);

MT_API int mt_add(mt_graph *g, int a, int b);
MT_API int mt_sub(mt_graph *g, int a, int b);
MT_API int mt_mul(mt_graph *g, int a, int b);
MT_API int mt_div(mt_graph *g, int a, int b);
MT_API int mt_maximum(mt_graph *g, int a, int b);
MT_API int mt_minimum(mt_graph *g, int a, int b);
MT_API int mt_pow(mt_graph *g, int a, int b);
MT_API int mt_lt(mt_graph *g, int a, int b);
MT_API int mt_gt(mt_graph *g, int a, int b);
MT_API int mt_eq(mt_graph *g, int a, int b);
MT_API int mt_where(mt_graph *g, int c, int a, int b);

/* Reductions over axis `dim` (negative counts from the end; the axis is kept as size 1). */
MT_API int mt_sum(mt_graph *g, int x, int dim);
MT_API int mt_max(mt_graph *g, int x, int dim);
MT_API int mt_mean(mt_graph *g, int x, int dim);
/* Reductions over everything, to rank 0. */
MT_API int mt_sum_all(mt_graph *g, int x);
MT_API int mt_max_all(mt_graph *g, int x);
MT_API int mt_mean_all(mt_graph *g, int x);

MT_API int mt_reshape(mt_graph *g, int x, int n, const int64_t *shape); /* one -1 allowed */
MT_API int mt_permute(mt_graph *g, int x, int n, const int64_t *perm);
MT_API int mt_expand(mt_graph *g, int x, int n, const int64_t *shape);
MT_API int mt_slice(mt_graph *g, int x, int n, const int64_t *start, const int64_t *end);
MT_API int mt_pad(mt_graph *g, int x, int n, const int64_t *pads); /* n = 2 * rank */
MT_API int mt_concat(mt_graph *g, int n, const int *xs, int dim);

MT_API int mt_matmul(mt_graph *g, int a, int b);
MT_API int mt_conv1d(mt_graph *g, int x, int w, int stride, int padding);
MT_API int mt_conv2d(mt_graph *g, int x, int w, const int64_t stride[2], const int64_t padding[2]);
MT_API int mt_avgpool2d(mt_graph *g, int x, const int64_t kernel[2]);
MT_API int mt_maxpool2d(mt_graph *g, int x, const int64_t kernel[2]);

MT_API int mt_const(mt_graph *g, double value, mt_type type);
MT_API int mt_rand(mt_graph *g, uint64_t seed, mt_type type);
/* rand whose rank-0 operand k (a step counter of the result's dtype; -1 for none) selects the
 * stream: element i depends on (seed, i, floor(k)), and k = 0 gives mt_rand's numbers. */
MT_API int mt_rand_at(mt_graph *g, uint64_t seed, mt_type type, int k);

/* ---- collectives ---------------------------------------------------------------------- */

/* The process's allreduce, behind the `allreduce` op (docs/ops.md): reduce `count` values of
 * `dtype` (0 = f32, 1 = f64) in `buf` across the ranks, in place, with `op` (0 = sum,
 * 1 = mean); return 0 on success. The caller's MPI or NCCL implements it (the same hook as a
 * compiled .so's NAME_set_allreduce). Until one is set, or after mt_set_allreduce(NULL, NULL),
 * a run has one rank and allreduce is the identity. Set it before runs start. */
typedef int (*mt_allreduce_fn)(void *buf, size_t count, int dtype, int op, void *ctx);
MT_API void mt_set_allreduce(mt_allreduce_fn fn, void *ctx);

/* ---- tensors (runtime/tensor.c) -------------------------------------------------------- */

/* A dense row-major tensor that owns its data. */
typedef struct mt_tensor mt_tensor;

/* Zero-filled. NULL when out of memory or when the byte count overflows. */
MT_API mt_tensor *mt_tensor_new(mt_type type);
MT_API void mt_tensor_free(mt_tensor *t);
MT_API const mt_type *mt_tensor_type(const mt_tensor *t);
MT_API void *mt_tensor_data(const mt_tensor *t);
MT_API size_t mt_tensor_nbytes(const mt_tensor *t);

/* An ordered set of named tensors: what a safetensors file holds. */
typedef struct mt_tensor_map mt_tensor_map;

MT_API mt_tensor_map *mt_tensor_map_new(void);
MT_API void mt_tensor_map_free(mt_tensor_map *m); /* frees the tensors too */
/* Takes ownership of t, also on failure. A name already present is replaced. */
MT_API mt_status mt_tensor_map_put(mt_tensor_map *m, const char *name, mt_tensor *t);
MT_API mt_tensor *mt_tensor_map_get(const mt_tensor_map *m,
                                    const char *name); /* borrowed or NULL */
MT_API int mt_tensor_map_count(const mt_tensor_map *m);
MT_API const char *mt_tensor_map_name(const mt_tensor_map *m, int i);
MT_API mt_tensor *mt_tensor_map_at(const mt_tensor_map *m, int i);

/* ---- safetensors (runtime/safetensors.c) ----------------------------------------------- */

/* Reads a safetensors file (F32 and F64 tensors). Malformed files give MT_ERR_PARSE with a
 * message naming the file and what is wrong; *out is NULL then. */
MT_API mt_status mt_safetensors_load(const char *path, mt_tensor_map **out, mt_diag *d);
MT_API mt_status mt_safetensors_parse(const void *data, size_t len, const char *filename,
                                      mt_tensor_map **out, mt_diag *d);
/* Writes the tensors in map order. */
MT_API mt_status mt_safetensors_save(const char *path, const mt_tensor_map *m, mt_diag *d);

/* ---- programs (codegen/program.c): compile for a target, bind by name, run ------------- */

/* A program is a graph compiled for one target, with storage for its named values. Each
 * input, param and output of the graph is a *slot*, found by its value name (without '%'):
 *
 *   input   fed before a run: copied into the program (mt_program_set, mt_program_load) or
 *           borrowed from the caller without a copy (mt_program_bind_input).
 *   param   owned by the program and kept between runs; zero until set.
 *   state   (for step graphs) owned and kept like a param; zero until set.
 *   output  written by every run: straight into the caller's buffer when one is bound
 *           (mt_program_bind_output), else into a buffer the program allocates once and
 *           reuses, so repeated runs allocate nothing.
 *
 * Slots list the leaves in graph order, then the outputs (a value listed twice as an output is
 * one slot). An output that is itself a leaf (`output %x`) has an output slot of the same
 * name: mt_program_bind_output and mt_program_outputs reach it, every other call by name finds
 * the leaf first.
 *
 * Data is dense row-major in the slot's dtype: exactly mt_program_slot_nbytes bytes. A wrong
 * name, byte count, dtype or shape is MT_ERR_ARG with a message that names the value and both
 * types; nothing aborts. A bound buffer must not overlap another slot's storage.
 *
 * Threads: one call at a time per program (a run uses the program's memory for its
 * temporaries); different programs may run concurrently. A run may itself use several
 * threads (mt_program_set_threads). */
typedef struct mt_program mt_program;

typedef enum mt_slot_kind {
    MT_SLOT_INPUT,
    MT_SLOT_PARAM,
    MT_SLOT_STATE,
    MT_SLOT_OUTPUT
} mt_slot_kind;

/* The targets of this build, by index; NULL past the last. "interp" (the reference
 * interpreter: slow, the numeric oracle), "cpu" (fused kernels JIT-compiled with LLVM for this
 * machine), "cuda" and "opencl" (listed, not yet available: compiling for them is
 * MT_ERR_UNSUPPORTED). */
MT_API const char *mt_target_name(int i);

/* Compiles g (borrowed for the call) for the target named `target`. An unknown name is
 * MT_ERR_ARG naming it; a target this build lacks is MT_ERR_UNSUPPORTED. *out is NULL on
 * failure; free the program with mt_program_free. */
MT_API mt_status mt_program_compile(const mt_graph *g, const char *target, mt_program **out,
                                    mt_diag *d);
MT_API void mt_program_free(mt_program *p);
MT_API const char *mt_program_target(const mt_program *p);
/* The number of threads a run may use (n >= 1); by default MTC_NUM_THREADS, else every core.
 * Targets that run on one thread accept any n >= 1 and ignore it. */
MT_API mt_status mt_program_set_threads(mt_program *p, int n, mt_diag *d);

/* Introspection: slots 0 .. nslots-1. mt_program_find returns -1 for an unknown name; an
 * index out of range gives NULL, (mt_slot_kind)-1 or 0. */
MT_API int mt_program_nslots(const mt_program *p);
MT_API int mt_program_find(const mt_program *p, const char *name);
MT_API const char *mt_program_slot_name(const mt_program *p, int slot);
MT_API mt_slot_kind mt_program_slot_kind(const mt_program *p, int slot);
MT_API const mt_type *mt_program_slot_type(const mt_program *p, int slot);
MT_API size_t mt_program_slot_nbytes(const mt_program *p, int slot);

/* Copies nbytes from data into the program's own storage of an input, param or state. An
 * input that was bound (mt_program_bind_input) is unbound. */
MT_API mt_status mt_program_set(mt_program *p, const char *name, const void *data, size_t nbytes,
                                mt_diag *d);
/* Like mt_program_set, from a tensor whose dtype and shape must be the slot's. */
MT_API mt_status mt_program_set_tensor(mt_program *p, const char *name, const mt_tensor *t,
                                       mt_diag *d);
/* Sets every input, param and state from the tensor of the same name in m; tensors with other
 * names are ignored. A missing input or param is an error naming it; a state without a tensor
 * is set to zero. A tensor of another dtype or shape is an error naming both types. `source`
 * (may be NULL) names where m came from in messages. Nothing is set unless all fit. */
MT_API mt_status mt_program_load(mt_program *p, const mt_tensor_map *m, const char *source,
                                 mt_diag *d);
/* Borrows the caller's buffer for an input, without a copy: runs read it until it is rebound,
 * set, or unbound (data NULL: back to the value last set, if any). */
MT_API mt_status mt_program_bind_input(mt_program *p, const char *name, const void *data,
                                       size_t nbytes, mt_diag *d);
/* Later runs write the output straight into the caller's buffer; data NULL goes back to the
 * program's own buffer. */
MT_API mt_status mt_program_bind_output(mt_program *p, const char *name, void *data, size_t nbytes,
                                        mt_diag *d);

/* Runs the program once. Every input must be set or bound. */
MT_API mt_status mt_program_run(mt_program *p, mt_diag *d);

/* Copies a slot's current value out: a param or state as last set (zero until then), an input
 * as set or bound (an error before that), an output as the last run wrote it (an error before
 * the first run). */
MT_API mt_status mt_program_get(const mt_program *p, const char *name, void *dst, size_t nbytes,
                                mt_diag *d);
/* The same value in place, borrowed until the next call on p; NULL when unknown or not yet
 * written. */
MT_API const void *mt_program_data(const mt_program *p, const char *name);
/* A new map with a copy of every output under its name, in output order. */
MT_API mt_status mt_program_outputs(const mt_program *p, mt_tensor_map **out, mt_diag *d);
/* Every param and state by name, as they are now (after a step graph's run: the new values),
 * into a new map: what a checkpoint holds. */
MT_API mt_status mt_program_params(const mt_program *p, mt_tensor_map **out, mt_diag *d);

#ifdef __cplusplus
}
#endif
#endif
