/* cache_key.c - the kernel cache's content address (cache.h, docs/cache.md).
 *
 * A key is the SHA-256 of the environment that shapes machine code (format version, the
 * renderer's fields: for LLVM its version, the target triple, CPU and features and the
 * optimisation settings, given by codegen/llvm/target.c; the build of mtc) followed by
 * the content: the kernel IR of a compile unit and its symbol prefix, or the name of a GEMM
 * piece (gemm.h), which says everything its code depends on and nothing about any program, so
 * that every program's matmuls share the same entries.
 *
 * The kernel IR is hashed as an exact binary serialisation, not as its printed form (which is
 * for people: it drops the type of a u32 or u64 constant, the payload of a NaN, the sharing of
 * subexpressions). Every field the emitter can read goes in: buffer kinds and types, each
 * kernel's buffers and access bits, loops, statements, the GEMM descriptors, and every
 * expression node with its op, type, id, constant bits and value range. A node reached twice
 * (expressions are DAGs) is written once and then referred to by number, which keeps the
 * walk linear and records the sharing itself. Hashing it costs microseconds; emitting and
 * printing the LLVM module instead took 10 to 15 ms for a training step with GEMM kernels.
 *
 * The emitter's own code is not in the content, so a changed emitter must not meet old
 * entries: that is what the build identity in the environment is for.
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/cache.h"
#include "ir/alloc.h"

/* ---- the environment ------------------------------------------------------------------- */

/* Which build of mtc is compiling: the size, modification time and inode of the file its code
 * was loaded from (the executable, or a shared library holding mtc). A rebuilt mtc may
 * generate different code for the same kernels, so its objects must not be served to it.
 * Computed once: the running code cannot change. */
static char build_id[160];
static pthread_once_t build_once = PTHREAD_ONCE_INIT;

static void find_build(void)
{
    Dl_info info;
    const char *path = "/proc/self/exe";
    if (dladdr(&build_once, &info) && info.dli_fname && info.dli_fname[0] == '/')
        path = info.dli_fname;
    struct stat st;
    if (stat(path, &st) != 0)
        snprintf(build_id, sizeof build_id, "unknown build");
    else
        snprintf(build_id, sizeof build_id, "build %llu %llu %lld.%09ld",
                 (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
                 (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
}

/* Each field ends with a NUL, so that no two different field lists hash the same bytes. */
static void field(mt_sha256 *s, const char *text) { mt_sha256_update(s, text, strlen(text) + 1); }

void mt_cache_env_init(mt_cache_env *e, const char *const *fields, int nfields)
{
    mt_sha256 *s = &e->state;
    mt_sha256_init(s);
    char num[32];
    snprintf(num, sizeof num, "%d", MT_CACHE_FORMAT);
    field(s, "mtc kernel cache");
    field(s, num);
    for (int i = 0; i < nfields; i++)
        field(s, fields[i] ? fields[i] : "");
    pthread_once(&build_once, find_build);
    field(s, build_id);
}

static void begin(const mt_cache_env *env, mt_sha256 *s, const char *kind)
{
    *s = env->state;
    field(s, kind);
}

static void end(mt_sha256 *s, mt_cache_key *k)
{
    mt_sha256_final(s, k->digest);
    mt_sha256_hex(k->digest, k->hex);
}

void mt_cache_key_make(const mt_cache_env *env, const char *text, size_t len, mt_cache_key *k)
{
    mt_sha256 s;
    begin(env, &s, "text");
    uint64_t n = len;
    mt_sha256_update(&s, &n, sizeof n);
    mt_sha256_update(&s, text, len);
    end(&s, k);
}

void mt_cache_key_gemm(const mt_cache_env *env, const char *piece, mt_cache_key *k)
{
    mt_sha256 s;
    begin(env, &s, "gemm piece");
    field(&s, piece);
    end(&s, k);
}

/* ---- the kernel IR --------------------------------------------------------------------- */

/* Expression nodes already written, by address: open addressing, a power-of-two table. */
typedef struct walk {
    mt_sha256 s;
    const mt_kexpr **seen;
    uint64_t *number;
    size_t cap, count;
    int oom;
} walk;

static void put_i64(walk *w, int64_t v) { mt_sha256_update(&w->s, &v, sizeof v); }

static void put_str(walk *w, const char *text) { field(&w->s, text ? text : ""); }

static size_t slot_of(const walk *w, const mt_kexpr *e)
{
    size_t h = (size_t)((uintptr_t)e * 0x9e3779b97f4a7c15u) & (w->cap - 1);
    while (w->seen[h] && w->seen[h] != e)
        h = (h + 1) & (w->cap - 1);
    return h;
}

static int grow(walk *w)
{
    size_t cap = w->cap ? 2 * w->cap : 256;
    walk bigger = {.cap = cap};
    bigger.seen = mt_calloc(cap, sizeof *bigger.seen);
    bigger.number = mt_calloc(cap, sizeof *bigger.number);
    if (!bigger.seen || !bigger.number) {
        mt_free(bigger.seen);
        mt_free(bigger.number);
        return 0;
    }
    for (size_t i = 0; i < w->cap; i++)
        if (w->seen[i]) {
            size_t h = slot_of(&bigger, w->seen[i]);
            bigger.seen[h] = w->seen[i];
            bigger.number[h] = w->number[i];
        }
    mt_free(w->seen);
    mt_free(w->number);
    w->seen = bigger.seen;
    w->number = bigger.number;
    w->cap = cap;
    return 1;
}

static void put_expr(walk *w, const mt_kexpr *e)
{
    if (w->oom)
        return;
    if (!e) {
        put_i64(w, -1);
        return;
    }
    if (2 * (w->count + 1) > w->cap && !grow(w)) {
        w->oom = 1;
        return;
    }
    size_t h = slot_of(w, e);
    if (w->seen[h]) { /* a shared node: its number */
        put_i64(w, -2);
        put_i64(w, (int64_t)w->number[h]);
        return;
    }
    w->seen[h] = e;
    w->number[h] = w->count++;
    put_i64(w, e->op);
    put_i64(w, e->type);
    put_i64(w, e->nargs);
    put_i64(w, e->id);
    uint64_t bits;
    memcpy(&bits, &e->c, sizeof bits); /* exact: a NaN's payload, -0.0 */
    put_i64(w, (int64_t)bits);
    put_i64(w, e->lo);
    put_i64(w, e->hi);
    for (int i = 0; i < e->nargs; i++)
        put_expr(w, e->args[i]);
}

static void put_type(walk *w, const mt_type *t)
{
    put_i64(w, t->dtype);
    put_i64(w, t->rank);
    for (int i = 0; i < t->rank; i++)
        put_i64(w, t->dims[i]);
}

static void put_block(walk *w, const mt_kstmt *s)
{
    for (; s && !w->oom; s = s->next) {
        put_i64(w, s->kind);
        put_i64(w, s->id);
        put_i64(w, s->trip);
        put_i64(w, s->flags);
        put_expr(w, s->index);
        put_expr(w, s->value);
        if (s->kind == MT_KS_GEMM) {
            const mt_kgemm *g = s->gemm;
            put_i64(w, g->a);
            put_i64(w, g->b);
            put_i64(w, g->c);
            put_type(w, &g->ta);
            put_type(w, &g->tb);
            put_i64(w, g->trans_a);
            put_i64(w, g->trans_b);
        }
        if (s->kind == MT_KS_FOR)
            put_block(w, s->body);
        put_i64(w, -3); /* the statement's end, so that nesting is unambiguous */
    }
    put_i64(w, -4); /* the block's end */
}

int mt_cache_key_program(const mt_cache_env *env, const mt_kprog *p, const char *prefix,
                         mt_cache_key *k)
{
    walk w = {0};
    begin(env, &w.s, "kernel program");
    put_str(&w, prefix);
    put_str(&w, p->name);
    put_i64(&w, p->nbufs);
    for (int i = 0; i < p->nbufs; i++) {
        const mt_kbuf *u = &p->bufs[i];
        put_i64(&w, u->kind);
        put_type(&w, &u->type);
        put_i64(&w, u->numel);
        put_i64(&w, u->output);
        put_i64(&w, u->offset);
        put_str(&w, u->name);
    }
    put_i64(&w, p->nkernels);
    for (int i = 0; i < p->nkernels && !w.oom; i++) {
        const mt_kernel *kn = &p->kernels[i];
        put_str(&w, kn->name);
        put_i64(&w, kn->nloops);
        put_i64(&w, kn->nscalars);
        for (int j = 0; j < kn->nscalars; j++)
            put_i64(&w, kn->scalar_types[j]);
        put_i64(&w, kn->nbufs);
        for (int j = 0; j < kn->nbufs; j++) {
            put_i64(&w, kn->bufs[j]);
            put_i64(&w, kn->access[j]);
        }
        put_block(&w, kn->body);
    }
    mt_free(w.seen);
    mt_free(w.number);
    if (w.oom)
        return 0;
    end(&w.s, k);
    return 1;
}

/* ---- the seal of an entry -------------------------------------------------------------- */

/* Binds an entry's payload to its key: a valid object stored under another key, or a key
 * field edited without the payload, no longer matches. Not a secret: whoever may write the
 * directory can compute it, which is why cache_dir.c refuses directories others can write. */
void mt_cache_seal(const mt_cache_key *k, const void *obj, size_t len,
                   unsigned char out[MT_SHA256_BYTES])
{
    mt_sha256 s;
    mt_sha256_init(&s);
    field(&s, "mtc kernel cache entry");
    mt_sha256_update(&s, k->digest, MT_SHA256_BYTES);
    unsigned char n[8];
    for (int i = 0; i < 8; i++)
        n[i] = (unsigned char)((uint64_t)len >> (8 * i));
    mt_sha256_update(&s, n, sizeof n);
    mt_sha256_update(&s, obj, len);
    mt_sha256_final(&s, out);
}
