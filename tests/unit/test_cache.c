/* test_cache.c - the kernel cache (codegen/llvm/cache.c) as mt_cpu_compile uses it.
 *
 * Every test points MTC_CACHE_DIR at a fresh directory from mkdtemp (never the user's cache)
 * and removes it afterwards. Compiled programs are run on random inputs and checked against
 * the reference interpreter, whether their code came from LLVM or from the cache. The process
 * counters of cache.h (hits, misses, stores, rejected) say which path a compile took.
 *
 * Two tests start copies of this executable (/proc/self/exe) as worker processes, so that
 * two fresh processes really do race on one cache directory.
 *
 * The seed is printed; MT_SEED=n reruns a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codegen/cpu.h"
#include "codegen/llvm/target.h"
#include "runtime/cache.h"
#include "codegen/llvm/compile.h"
#include "codegen/llvm/gemm.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "ir/kernel.h"
#include "runtime/interp.h"

static uint32_t rng_state;

static double uniform01(void)
{
    uint32_t x = rng_state ? rng_state : 1;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return (double)x / 4294967296.0;
}

/* ---- the cache directory --------------------------------------------------------------- */

static char cache_dir[512];

static int make_cache_dir(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(cache_dir, sizeof cache_dir, "%s/mt_cache_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(cache_dir))
        return -1;
    setenv("MTC_CACHE_DIR", cache_dir, 1);
    unsetenv("MTC_CACHE");
    return 0;
}

/* Removes what the tests put in the directory: files, and one level of subdirectories. */
static void remove_tree(const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char path[1024];
    while (dp && (e = readdir(dp)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            chmod(path, 0700);
            remove_tree(path);
        } else {
            unlink(path);
        }
    }
    if (dp)
        closedir(dp);
    rmdir(dir);
}

static int remove_cache_dir(void **state)
{
    (void)state;
    chmod(cache_dir, 0700);
    remove_tree(cache_dir);
    unsetenv("MTC_CACHE");
    return 0;
}

typedef struct listing {
    int entries, temps, other;
    char first[512]; /* the path of the first entry in name order */
} listing;

static listing list_dir(const char *dir)
{
    listing l = {0};
    DIR *dp = opendir(dir);
    struct dirent *e;
    while (dp && (e = readdir(dp)) != NULL) {
        size_t n = strlen(e->d_name);
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == 2 * MT_SHA256_BYTES + 2 && strcmp(e->d_name + n - 2, ".o") == 0) {
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (!l.entries++ || strcmp(path, l.first) < 0)
                snprintf(l.first, sizeof l.first, "%s", path);
        } else if (n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0) {
            l.temps++;
        } else {
            l.other++;
        }
    }
    if (dp)
        closedir(dp);
    return l;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* ---- programs -------------------------------------------------------------------------- */

/* A matmul with a bias, a row softmax and a scaled mean: several kernels, so several units. */
static const char *program_text(int scale)
{
    static char text[1024];
    snprintf(text, sizeof text,
             "mtir 1\n"
             "graph cached {\n"
             "  input %%x : f32[33,65]\n"
             "  param %%w : f32[65,17]\n"
             "  param %%b : f32[17]\n"
             "  %%h = matmul %%x, %%w\n"
             "  %%z = add %%h, %%b\n"
             "  %%m = max %%z dim=1\n"
             "  %%s = sub %%z, %%m\n"
             "  %%e = exp %%s\n"
             "  %%t = sum %%e dim=1\n"
             "  %%y = div %%e, %%t\n"
             "  %%r = relu %%z\n"
             "  %%c = const value=%d : f32[]\n"
             "  %%q = mean %%r\n"
             "  %%u = mul %%q, %%c\n"
             "  output %%y, %%u\n"
             "}\n",
             scale);
    return text;
}

static mt_graph *program(int scale)
{
    const char *text = program_text(scale);
    mt_graph *g = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_graph_parse(text, strlen(text), "cached.mt", &g, &d) != MT_OK)
        fail_msg("parse: line %d: %s", d.line, d.msg);
    return g;
}

typedef struct run_result {
    mt_tensor *out[2];
} run_result;

static void free_result(run_result *r)
{
    for (int i = 0; i < 2; i++)
        mt_tensor_free(r->out[i]);
}

/* Compiles g, runs it on inputs drawn from `seed` and checks it against the interpreter;
 * returns 0 on success with the outputs in *r (when r is not NULL), else a message. Used by
 * the worker processes too, so it reports instead of failing. */
static const char *compile_and_check(const mt_graph *g, uint32_t seed, run_result *r)
{
    static char msg[MT_DIAG_MSG + 64];
    const mt_tensor *leaves[32] = {0};
    mt_tensor *want[2] = {0}, *got[2] = {0};
    rng_state = seed;
    msg[0] = '\0';
    for (int i = 0; i < g->nnodes && i < 32; i++) {
        if (!mt_op_is(g->nodes[i].op, MT_F_LEAF))
            continue;
        mt_tensor *t = mt_tensor_new(g->nodes[i].type);
        for (int64_t k = 0; t && k < mt_type_numel(&t->type); k++)
            ((float *)t->data)[k] = (float)(2.0 * uniform01() - 1.0);
        leaves[i] = t;
    }
    mt_diag d;
    mt_diag_init(&d);
    mt_cpu_program *p = NULL;
    if (mt_interp_run(g, leaves, want, &d) != MT_OK)
        snprintf(msg, sizeof msg, "interp: %s", d.msg);
    else if (mt_cpu_compile(g, &p, &d) != MT_OK)
        snprintf(msg, sizeof msg, "compile: %s", d.msg);
    else if (mt_cpu_run(p, leaves, got, &d) != MT_OK)
        snprintf(msg, sizeof msg, "run: %s", d.msg);
    for (int o = 0; o < 2 && !msg[0]; o++)
        for (int64_t k = 0; k < mt_type_numel(&want[o]->type) && !msg[0]; k++) {
            double a = ((float *)got[o]->data)[k], b = ((float *)want[o]->data)[k];
            if (!(fabs(a - b) <= 1e-5 * (fabs(b) > 1 ? fabs(b) : 1)))
                snprintf(msg, sizeof msg, "output %d element %lld: cpu %.9g, interp %.9g", o,
                         (long long)k, a, b);
        }
    mt_cpu_free(p);
    for (int i = 0; i < 32; i++)
        mt_tensor_free((mt_tensor *)leaves[i]);
    for (int o = 0; o < 2; o++) {
        mt_tensor_free(want[o]);
        if (r && !msg[0])
            r->out[o] = got[o];
        else
            mt_tensor_free(got[o]);
    }
    mt_diag_fini(&d);
    return msg[0] ? msg : NULL;
}

/* The inputs of every check in one run of the tests (from the printed seed). */
static uint32_t input_seed;

static void check_program(int scale, run_result *r)
{
    mt_graph *g = program(scale);
    const char *err = compile_and_check(g, input_seed, r);
    mt_graph_free(g);
    if (err)
        fail_msg("%s", err);
}

/* What the cache did since `before`. */
static mt_cache_counters since(const mt_cache_counters *before)
{
    mt_cache_counters c;
    mt_cache_counters_get(&c);
    c.hits -= before->hits;
    c.misses -= before->misses;
    c.stores -= before->stores;
    c.rejected -= before->rejected;
    return c;
}

static mt_cache_counters now_counters(void)
{
    mt_cache_counters c;
    mt_cache_counters_get(&c);
    return c;
}

/* ---- hits and misses ------------------------------------------------------------------- */

static void a_hit_after_a_miss_runs_the_same_code_with_the_interpreters_results(void **state)
{
    (void)state;
    mt_cache_counters before = now_counters();
    run_result cold = {0}, warm = {0};
    check_program(2, &cold);
    mt_cache_counters c = since(&before);
    listing l = list_dir(cache_dir);
    assert_true(l.entries > 1); /* several kernels, several units */
    assert_true(l.entries <= MT_COMPILE_UNITS + MT_LLVM_GEMM_PIECES); /* + the matmul's GEMM */
    assert_int_equal(c.hits, 0);
    assert_int_equal(c.misses, l.entries);
    assert_int_equal(c.stores, l.entries);
    assert_int_equal(l.temps + l.other, 0);

    before = now_counters();
    check_program(2, &warm);
    c = since(&before);
    assert_int_equal(c.hits, l.entries);
    assert_int_equal(c.misses + c.stores + c.rejected, 0);
    for (int o = 0; o < 2; o++)
        assert_memory_equal(cold.out[o]->data, warm.out[o]->data, cold.out[o]->nbytes);
    free_result(&cold);
    free_result(&warm);
}

static void the_key_changes_when_the_graph_changes(void **state)
{
    (void)state;
    check_program(2, NULL);
    int first = list_dir(cache_dir).entries;
    mt_cache_counters before = now_counters();
    check_program(3, NULL); /* only a constant differs */
    mt_cache_counters c = since(&before);
    assert_true(c.misses >= 1);
    assert_int_equal(list_dir(cache_dir).entries, first + (int)c.misses);
    before = now_counters();
    check_program(2, NULL);
    assert_int_equal(since(&before).misses, 0);

    /* The key of the same text is the same; one changed byte changes it. */
    mt_cache_key a, b, a2;
    const char *text = program_text(2);
    mt_cache_key_make(mt_llvm_cache_env(), text, strlen(text), &a);
    mt_cache_key_make(mt_llvm_cache_env(), text, strlen(text), &a2);
    mt_cache_key_make(mt_llvm_cache_env(), text, strlen(text) - 1, &b);
    assert_memory_equal(a.digest, a2.digest, MT_SHA256_BYTES);
    assert_memory_not_equal(a.digest, b.digest, MT_SHA256_BYTES);
    assert_int_equal(strlen(a.hex), 2 * MT_SHA256_BYTES);
}

static void a_gemm_compiled_for_one_program_serves_every_later_one(void **state)
{
    (void)state;
    check_program(2, NULL); /* a 33x65 . 65x17 product */
    int first = list_dir(cache_dir).entries;

    /* Another program, other shapes, same dtype and transposes: its kernels are new, but the
     * GEMM's pieces are keyed by what their code depends on alone, and all hit. */
    static const char *text = "mtir 1\n"
                              "graph other {\n"
                              "  input %a : f32[5,300]\n"
                              "  param %w : f32[300,70]\n"
                              "  %h = matmul %a, %w\n"
                              "  %y = tanh %h\n"
                              "  %n = sum %y\n"
                              "  output %y, %n\n"
                              "}\n";
    mt_graph *g = NULL;
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_graph_parse(text, strlen(text), "other.mt", &g, &d), MT_OK);
    mt_cache_counters before = now_counters();
    const char *err = compile_and_check(g, input_seed, NULL);
    if (err)
        fail_msg("%s", err);
    mt_cache_counters c = since(&before);
    assert_int_equal(c.hits, MT_LLVM_GEMM_PIECES);
    assert_true(c.misses >= 1);
    assert_int_equal(list_dir(cache_dir).entries, first + (int)c.misses);
    mt_graph_free(g);

    /* The pieces' entries are where their keys say. */
    mt_llvm_gemm_desc desc;
    mt_llvm_gemm_desc_init(&desc, MT_DTYPE_F32, 5, 70, 300);
    mt_llvm_gemm_piece pieces[MT_LLVM_GEMM_PIECES];
    assert_int_equal(mt_llvm_gemm_pieces(&desc, pieces, NULL), MT_OK);
    for (int i = 0; i < MT_LLVM_GEMM_PIECES; i++) {
        char name[MT_LLVM_GEMM_NAME];
        mt_llvm_gemm_piece_name(&pieces[i], name);
        mt_cache_key k;
        mt_cache_key_gemm(mt_llvm_cache_env(), name, &k);
        char *path = mt_cache_entry_path(&k);
        assert_non_null(path);
        assert_true(file_size(path) > MT_CACHE_HEADER_BYTES);
        mt_free(path);
    }
}

/* y[i] = x[i] + c over f32[8], with the constant c given as its bits. */
static mt_kprog *add_constant(uint32_t bits)
{
    mt_kprog *p = mt_kprog_new("t");
    assert_non_null(p);
    mt_type t = mt_type_make(MT_DTYPE_F32, 1, (int64_t[]){8});
    int in = mt_kprog_add_buf(p, MT_KBUF_INPUT, &t, 0, "x");
    int out = mt_kprog_add_buf(p, MT_KBUF_OUTPUT, &t, 1, "y");
    p->bufs[out].output = 0;
    float c;
    memcpy(&c, &bits, sizeof c);
    mt_kstmt *loop = mt_ks_for(p, 0, 8, MT_KLOOP_PARALLEL);
    mt_kexpr *i = mt_kx_var(p, 0, 8);
    mt_kexpr *v =
        mt_kx_binary(p, MT_KX_ADD, mt_kx_load(p, in, MT_KT_F32, i), mt_kx_float(p, MT_KT_F32, c));
    loop->body = mt_ks_store(p, out, i, v);
    mt_kernel k = {.name = "k0", .root = 1, .note = "%y: add", .nloops = 1, .body = loop};
    assert_true(mt_kernel_collect_bufs(p, &k));
    assert_int_equal(mt_kprog_add_kernel(p, &k), 0);
    return p;
}

static void the_program_key_sees_what_the_printed_kernel_ir_does_not(void **state)
{
    (void)state;
    /* A quiet NaN and its negation print alike ("nan") but are different programs. */
    mt_kprog *a = add_constant(0x7fc00000u), *b = add_constant(0xffc00000u);
    mt_kprog *a2 = add_constant(0x7fc00000u), *one = add_constant(0x3f800000u);
    char *ta = mt_kprog_print(a), *tb = mt_kprog_print(b);
    assert_string_equal(ta, tb);
    mt_free(ta);
    mt_free(tb);
    mt_cache_key ka, kb, ka2, kone, kprefix;
    assert_true(mt_cache_key_program(mt_llvm_cache_env(), a, "t_", &ka));
    assert_true(mt_cache_key_program(mt_llvm_cache_env(), b, "t_", &kb));
    assert_true(mt_cache_key_program(mt_llvm_cache_env(), a2, "t_", &ka2));
    assert_true(mt_cache_key_program(mt_llvm_cache_env(), one, "t_", &kone));
    assert_true(mt_cache_key_program(mt_llvm_cache_env(), a, "u_", &kprefix));
    assert_memory_equal(ka.digest, ka2.digest, MT_SHA256_BYTES);
    assert_memory_not_equal(ka.digest, kb.digest, MT_SHA256_BYTES);
    assert_memory_not_equal(ka.digest, kone.digest, MT_SHA256_BYTES);
    assert_memory_not_equal(ka.digest, kprefix.digest, MT_SHA256_BYTES);
    /* The access bits are part of it: noalias lets LLVM vectorise without checks. */
    a2->kernels[0].access[1] |= MT_KACC_NOALIAS;
    assert_true(mt_cache_key_program(mt_llvm_cache_env(), a2, "t_", &ka2));
    assert_memory_not_equal(ka.digest, ka2.digest, MT_SHA256_BYTES);
    mt_kprog_free(a);
    mt_kprog_free(b);
    mt_kprog_free(a2);
    mt_kprog_free(one);
}

/* ---- damaged entries ------------------------------------------------------------------- */

/* Damages the first entry with `damage`, then checks that the next compile rejects and
 * rebuilds exactly that entry, runs correctly, and leaves a valid entry behind. */
static void check_damage(void (*damage)(const char *path, long size, long arg), long arg)
{
    check_program(2, NULL);
    listing l = list_dir(cache_dir);
    long size = file_size(l.first);
    assert_true(size > MT_CACHE_HEADER_BYTES);
    damage(l.first, size, arg);

    mt_cache_counters before = now_counters();
    check_program(2, NULL);
    mt_cache_counters c = since(&before);
    if (c.rejected != 1 || c.misses != 1 || c.stores != 1)
        fail_msg("damage at %ld: rejected %ld, misses %ld, stores %ld (want 1, 1, 1)", arg,
                 c.rejected, c.misses, c.stores);
    assert_int_equal(file_size(l.first), size);

    before = now_counters();
    check_program(2, NULL);
    c = since(&before);
    assert_int_equal(c.hits, l.entries);
    assert_int_equal(c.rejected, 0);
}

static void truncate_to(const char *path, long size, long keep)
{
    (void)size;
    assert_int_equal(truncate(path, keep), 0);
}

/* Byte positions for flip_bit: from the end when negative, MIDDLE for the middle. */
#define MIDDLE LONG_MIN

static void flip_bit(const char *path, long size, long at)
{
    if (at == MIDDLE)
        at = size / 2;
    else if (at < 0)
        at += size;
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char byte;
    assert_int_equal(pread(fd, &byte, 1, at), 1);
    byte ^= 0x10;
    assert_int_equal(pwrite(fd, &byte, 1, at), 1);
    close(fd);
}

static void append_garbage(const char *path, long size, long n)
{
    (void)size;
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    for (long i = 0; i < n; i++)
        fputc(0xA5, f);
    fclose(f);
}

static void a_truncated_entry_is_detected_rebuilt_and_the_run_is_correct(void **state)
{
    (void)state;
    long keeps[] = {0, 7, MT_CACHE_HEADER_BYTES - 1, MT_CACHE_HEADER_BYTES,
                    MT_CACHE_HEADER_BYTES + 100};
    for (size_t i = 0; i < sizeof keeps / sizeof keeps[0]; i++)
        check_damage(truncate_to, keeps[i]);
    /* Half the file. */
    check_program(2, NULL);
    listing l = list_dir(cache_dir);
    check_damage(truncate_to, file_size(l.first) / 2);
}

static void a_bit_flipped_entry_is_detected_rebuilt_and_the_run_is_correct(void **state)
{
    (void)state;
    /* magic, format version, reserved, length, key, seal; then the payload's first, a middle and
     * the last byte. */
    long at[] = {0, 8, 12, 16, 20, 24, 55, 56, 87, MT_CACHE_HEADER_BYTES, MIDDLE, -1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        check_damage(flip_bit, at[i]);
}

static void an_entry_with_trailing_bytes_is_rejected(void **state)
{
    (void)state;
    check_damage(append_garbage, 1);
}

/* A made-up entry with a valid header whose payload is not an object file: it passes every
 * check the cache can make, so the failure shows up when the JIT links it. */
static void a_valid_entry_that_does_not_link_is_deleted_and_the_program_rebuilt(void **state)
{
    (void)state;
    check_program(2, NULL);
    listing l = list_dir(cache_dir);
    const char *name = strrchr(l.first, '/') + 1;
    mt_cache_key k;
    for (int i = 0; i < MT_SHA256_BYTES; i++) {
        unsigned v;
        assert_int_equal(sscanf(name + 2 * i, "%2x", &v), 1);
        k.digest[i] = (unsigned char)v;
    }
    memcpy(k.hex, name, 2 * MT_SHA256_BYTES);
    k.hex[2 * MT_SHA256_BYTES] = '\0';
    static const char junk[] = "this is not an ELF object file";
    assert_int_equal(mt_cache_store(&k, junk, sizeof junk), 1);

    mt_cache_counters before = now_counters();
    check_program(2, NULL);
    mt_cache_counters c = since(&before);
    /* First attempt: every unit hits (the junk too); linking fails; the retry compiles every
     * unit without reading and stores them again. */
    assert_int_equal(c.hits, l.entries);
    assert_int_equal(c.stores, l.entries);
    before = now_counters();
    check_program(2, NULL);
    assert_int_equal(since(&before).hits, l.entries);
    assert_true(file_size(l.first) > (long)sizeof junk + MT_CACHE_HEADER_BYTES);
}

/* ---- processes racing ------------------------------------------------------------------ */

/* Starts this executable as `--worker MODE` with the read end of `gate` as its stdin: it
 * blocks until the parent closes the write end, so that both workers start at once. */
static pid_t start_worker(const char *mode, int gate)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(gate, 0);
        execl("/proc/self/exe", "test_cache", "--worker", mode, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* A pipe whose write end is not inherited by the workers: closing it in the parent is what
 * opens the gate. */
static void open_gate(int gate[2])
{
    assert_int_equal(pipe(gate), 0);
    assert_int_equal(fcntl(gate[1], F_SETFD, FD_CLOEXEC), 0);
}

static int wait_worker(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void two_processes_compiling_one_graph_at_once_leave_valid_entries(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        remove_tree(cache_dir);
        assert_int_equal(mkdir(cache_dir, 0700), 0);
        int gate[2];
        open_gate(gate);
        pid_t a = start_worker("compile", gate[0]), b = start_worker("compile", gate[0]);
        close(gate[0]);
        close(gate[1]); /* both start now */
        assert_int_equal(wait_worker(a), 0);
        assert_int_equal(wait_worker(b), 0);
        listing l = list_dir(cache_dir);
        assert_true(l.entries > 1);
        assert_int_equal(l.temps + l.other, 0);
        mt_cache_counters before = now_counters();
        check_program(2, NULL);
        mt_cache_counters c = since(&before);
        assert_int_equal(c.hits, l.entries);
        assert_int_equal(c.rejected + c.misses, 0);
    }
}

/* The payload a store worker writes: 1 MB, so that a torn write would be easy to catch. */
#define RACE_BYTES (1 << 20)
#define RACE_STORES 40

static void race_payload(unsigned char *p)
{
    for (int i = 0; i < RACE_BYTES; i++)
        p[i] = (unsigned char)(i * 7 + (i >> 11));
}

static void race_key(mt_cache_key *k) { mt_cache_key_make(mt_llvm_cache_env(), "race", 4, k); }

static void concurrent_stores_of_one_key_never_expose_a_torn_entry(void **state)
{
    (void)state;
    unsigned char *want = malloc(RACE_BYTES);
    assert_non_null(want);
    race_payload(want);
    mt_cache_key k;
    race_key(&k);
    int gate[2];
    open_gate(gate);
    pid_t a = start_worker("store", gate[0]), b = start_worker("store", gate[0]);
    close(gate[0]);
    close(gate[1]);
    mt_cache_counters before = now_counters();
    int hits = 0, reads = 0, status[2] = {-1, -1};
    pid_t pids[2] = {a, b};
    /* Read while they write: every read is a miss or the whole payload. */
    while (status[0] < 0 || status[1] < 0) {
        void *obj;
        size_t len;
        reads++;
        if (mt_cache_load(&k, &obj, &len)) {
            hits++;
            assert_int_equal(len, RACE_BYTES);
            assert_memory_equal(obj, want, RACE_BYTES);
            mt_free(obj);
        }
        for (int i = 0; i < 2; i++) {
            int st;
            if (status[i] < 0 && waitpid(pids[i], &st, WNOHANG) == pids[i])
                status[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
        }
    }
    assert_int_equal(status[0], 0);
    assert_int_equal(status[1], 0);
    assert_int_equal(since(&before).rejected, 0);
    listing l = list_dir(cache_dir);
    assert_int_equal(l.entries, 1);
    assert_int_equal(l.temps + l.other, 0);
    printf("%d reads during the race, %d hits\n", reads, hits);
    free(want);
}

/* ---- switching the cache off, unusable directories ------------------------------------- */

static void mtc_cache_0_neither_reads_nor_writes(void **state)
{
    (void)state;
    setenv("MTC_CACHE", "0", 1);
    mt_cache_counters before = now_counters();
    check_program(2, NULL);
    listing l = list_dir(cache_dir);
    assert_int_equal(l.entries + l.temps + l.other, 0);

    unsetenv("MTC_CACHE");
    check_program(2, NULL); /* fills the cache */
    int entries = list_dir(cache_dir).entries;
    setenv("MTC_CACHE", "off", 1);
    before = now_counters();
    check_program(2, NULL);
    mt_cache_counters c = since(&before);
    assert_int_equal(c.hits + c.misses + c.stores + c.rejected, 0);
    assert_int_equal(list_dir(cache_dir).entries, entries);
    assert_false(mt_cache_enabled());
    setenv("MTC_CACHE", "1", 1);
    assert_true(mt_cache_enabled());
}

static void an_unusable_cache_directory_only_costs_the_cache(void **state)
{
    (void)state;
    /* Below a regular file: cannot be created, not even by root. */
    char path[600];
    snprintf(path, sizeof path, "%s/file", cache_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/file/sub", cache_dir);
    setenv("MTC_CACHE_DIR", path, 1);
    mt_cache_counters before = now_counters();
    check_program(2, NULL);
    assert_int_equal(since(&before).stores, 0);

    /* Writable by everyone: someone else could plant code in it. */
    snprintf(path, sizeof path, "%s/open", cache_dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(chmod(path, 0777), 0);
    setenv("MTC_CACHE_DIR", path, 1);
    before = now_counters();
    check_program(2, NULL);
    assert_int_equal(since(&before).stores, 0);
    listing l = list_dir(path);
    assert_int_equal(l.entries + l.temps + l.other, 0);

    /* Read-only (root writes anyway, so this part only means something for other users). */
    snprintf(path, sizeof path, "%s/ro", cache_dir);
    assert_int_equal(mkdir(path, 0500), 0);
    setenv("MTC_CACHE_DIR", path, 1);
    before = now_counters();
    check_program(2, NULL);
    if (geteuid() != 0)
        assert_int_equal(since(&before).stores, 0);
    setenv("MTC_CACHE_DIR", cache_dir, 1);
}

static void a_missing_cache_directory_is_created_with_its_parents(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/a/b/c", cache_dir);
    setenv("MTC_CACHE_DIR", path, 1);
    check_program(2, NULL);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_true(list_dir(path).entries > 1);
    snprintf(path, sizeof path, "%s/a/b/c", cache_dir);
    remove_tree(path);
    snprintf(path, sizeof path, "%s/a/b", cache_dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/a", cache_dir);
    rmdir(path);
    setenv("MTC_CACHE_DIR", cache_dir, 1);
}

static char *saved_env(const char *name)
{
    const char *v = getenv(name);
    return v ? strdup(v) : NULL;
}

static void restore_env(const char *name, char *v)
{
    if (v)
        setenv(name, v, 1);
    else
        unsetenv(name);
    free(v);
}

static void the_directory_is_mtc_cache_dir_then_xdg_cache_home_then_home(void **state)
{
    (void)state;
    char *xdg = saved_env("XDG_CACHE_HOME"), *home = saved_env("HOME");
    char *dir = mt_cache_dir();
    assert_string_equal(dir, cache_dir);
    mt_free(dir);
    unsetenv("MTC_CACHE_DIR");
    setenv("XDG_CACHE_HOME", "/xdg/cache", 1);
    dir = mt_cache_dir();
    assert_string_equal(dir, "/xdg/cache/mtc");
    mt_free(dir);
    setenv("XDG_CACHE_HOME", "relative/is/ignored", 1);
    setenv("HOME", "/home/someone", 1);
    dir = mt_cache_dir();
    assert_string_equal(dir, "/home/someone/.cache/mtc");
    mt_free(dir);
    unsetenv("XDG_CACHE_HOME");
    unsetenv("HOME");
    assert_null(mt_cache_dir());
    restore_env("XDG_CACHE_HOME", xdg);
    restore_env("HOME", home);
    setenv("MTC_CACHE_DIR", cache_dir, 1);
}

/* ---- workers --------------------------------------------------------------------------- */

static int worker(const char *mode)
{
    char c;
    while (read(0, &c, 1) > 0) /* the gate: returns when the parent closes it */
        ;
    if (strcmp(mode, "compile") == 0) {
        mt_graph *g = program(2);
        const char *err = compile_and_check(g, 12345u, NULL);
        mt_graph_free(g);
        if (err)
            fprintf(stderr, "worker: %s\n", err);
        return err ? 1 : 0;
    }
    unsigned char *p = malloc(RACE_BYTES);
    if (!p)
        return 1;
    race_payload(p);
    mt_cache_key k;
    race_key(&k);
    int ok = 1;
    for (int i = 0; i < RACE_STORES; i++)
        ok &= mt_cache_store(&k, p, RACE_BYTES);
    free(p);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--worker") == 0)
        return worker(argv[2]);
    const char *env = getenv("MT_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    printf("seed %u\n", seed);
    input_seed = seed * 2654435761u + 1;
#define T(name) cmocka_unit_test_setup_teardown(name, make_cache_dir, remove_cache_dir)
    const struct CMUnitTest tests[] = {
        T(a_hit_after_a_miss_runs_the_same_code_with_the_interpreters_results),
        T(the_key_changes_when_the_graph_changes),
        T(a_gemm_compiled_for_one_program_serves_every_later_one),
        T(the_program_key_sees_what_the_printed_kernel_ir_does_not),
        T(a_truncated_entry_is_detected_rebuilt_and_the_run_is_correct),
        T(a_bit_flipped_entry_is_detected_rebuilt_and_the_run_is_correct),
        T(an_entry_with_trailing_bytes_is_rejected),
        T(a_valid_entry_that_does_not_link_is_deleted_and_the_program_rebuilt),
        T(two_processes_compiling_one_graph_at_once_leave_valid_entries),
        T(concurrent_stores_of_one_key_never_expose_a_torn_entry),
        T(mtc_cache_0_neither_reads_nor_writes),
        T(an_unusable_cache_directory_only_costs_the_cache),
        T(a_missing_cache_directory_is_created_with_its_parents),
        T(the_directory_is_mtc_cache_dir_then_xdg_cache_home_then_home),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
