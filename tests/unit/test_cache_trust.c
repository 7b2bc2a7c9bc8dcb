/* test_cache_trust.c - the kernel cache as a code-loading path (runtime/cache_dir.c, cache.c;
 * docs/cache.md "Trust").
 *
 * The attack: two graphs of one name and one kernel, y = x*2 and y = x + 1000. The object
 * compiled for the second is planted under the key of the first, with a header that is right
 * in every field (the format is public, so anyone who can write the directory can do that).
 * In a directory only this user can write, the planted entry is used: that is the threat
 * model, shown first so that the other tests are known to aim at something. Everywhere else -
 * a directory writable by group or others, a directory or an entry owned by another user, a
 * symlinked entry, an entry sealed for another key - the program must compute x*2. A FIFO
 * under an entry's name must not hang the compile.
 *
 * Compiles whose stderr or whose risk of hanging matters run in a copy of this executable
 * (/proc/self/exe --worker), killed after a timeout, so a regression fails instead of hanging.
 * The tests run as any user; the ones that need another owner (chown to nobody) need root and
 * are skipped otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codegen/cpu.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "runtime/cache.h"

#define N 64
#define NOBODY 65534

/* ---- directories ----------------------------------------------------------------------- */

static char base[512], dir_a[600], dir_b[600];

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
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            unlink(path);
    }
    if (dp)
        closedir(dp);
    rmdir(dir);
}

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/mt_trust_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base))
        return -1;
    snprintf(dir_a, sizeof dir_a, "%s/a", base);
    snprintf(dir_b, sizeof dir_b, "%s/b", base);
    unsetenv("MTC_CACHE");
    return mkdir(dir_a, 0700) || mkdir(dir_b, 0700);
}

static int teardown(void **state)
{
    (void)state;
    remove_tree(base);
    return 0;
}

/* The one entry a one-kernel graph leaves in dir: its file name, or "" when there is not
 * exactly one. */
static void only_entry(const char *dir, char *name, size_t size)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    int n = 0;
    name[0] = '\0';
    while (dp && (e = readdir(dp)) != NULL)
        if (strlen(e->d_name) == 2 * MT_SHA256_BYTES + 2 && strstr(e->d_name, ".o") != NULL) {
            snprintf(name, size, "%s", e->d_name);
            n++;
        }
    if (dp)
        closedir(dp);
    if (n != 1)
        name[0] = '\0';
}

static void key_of(const char *name, mt_cache_key *k)
{
    for (int i = 0; i < MT_SHA256_BYTES; i++) {
        unsigned v;
        assert_int_equal(sscanf(name + 2 * i, "%2x", &v), 1);
        k->digest[i] = (unsigned char)v;
    }
    memcpy(k->hex, name, 2 * MT_SHA256_BYTES);
    k->hex[2 * MT_SHA256_BYTES] = '\0';
}

/* ---- the two programs ------------------------------------------------------------------ */

typedef enum result { DOUBLED, PLUS_1000, WRONG, FAILED } result;

/* Compiles y = x*2 (doubled) or y = x + 1000 with the cache in $MTC_CACHE_DIR and says what
 * the compiled code computed. */
static result compile_and_run(int doubled)
{
    char text[256];
    snprintf(text, sizeof text,
             "mtir 1\ngraph g {\n  input %%x : f32[%d]\n  %%c = const value=%s : f32[]\n"
             "  %%y = %s %%x, %%c\n  output %%y\n}\n",
             N, doubled ? "2" : "1000", doubled ? "mul" : "add");
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    mt_cpu_program *p = NULL;
    mt_tensor *x = NULL, *y = NULL;
    result r = FAILED;
    if (mt_graph_parse(text, strlen(text), "g.mt", &g, &d) == MT_OK &&
        mt_cpu_compile(g, &p, &d) == MT_OK) {
        x = mt_tensor_new(g->nodes[0].type);
        for (int i = 0; i < N; i++)
            ((float *)x->data)[i] = (float)i;
        const mt_tensor *leaves[3] = {x, NULL, NULL};
        if (mt_cpu_run(p, leaves, &y, &d) == MT_OK) {
            int dbl = 1, plus = 1;
            for (int i = 0; i < N; i++) {
                float v = ((float *)y->data)[i];
                dbl &= v == 2.0f * (float)i;
                plus &= v == (float)i + 1000.0f;
            }
            r = dbl ? DOUBLED : plus ? PLUS_1000 : WRONG;
        }
    }
    if (r == FAILED)
        printf("compile or run failed: %s\n", d.msg);
    mt_tensor_free(x);
    mt_tensor_free(y);
    mt_cpu_free(p);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return r;
}

static mt_cache_counters counters(void)
{
    mt_cache_counters c;
    mt_cache_counters_get(&c);
    return c;
}

/* Fills dir_a with the entry of y = x*2 and dir_b with that of y = x + 1000; their keys go to
 * ka and kb, and b's object file (mt_free) to *obj. */
static void compile_both(mt_cache_key *ka, mt_cache_key *kb, void **obj, size_t *len)
{
    char name[128];
    setenv("MTC_CACHE_DIR", dir_a, 1);
    assert_int_equal(compile_and_run(1), DOUBLED);
    only_entry(dir_a, name, sizeof name);
    assert_true(name[0]);
    key_of(name, ka);
    setenv("MTC_CACHE_DIR", dir_b, 1);
    assert_int_equal(compile_and_run(0), PLUS_1000);
    only_entry(dir_b, name, sizeof name);
    assert_true(name[0]);
    key_of(name, kb);
    assert_int_equal(mt_cache_load(kb, obj, len), 1);
}

/* Plants b's object under a's key in dir_a, with a header right in every field. */
static void plant(const mt_cache_key *ka, const void *obj, size_t len)
{
    setenv("MTC_CACHE_DIR", dir_a, 1);
    chmod(dir_a, 0700);
    assert_int_equal(mt_cache_store(ka, obj, len), 1);
}

static void entry_path(const char *dir, const mt_cache_key *k, char *path, size_t size)
{
    snprintf(path, size, "%s/%s.o", dir, k->hex);
}

/* ---- workers: compiles in a fresh process, with a timeout ------------------------------- */

/* Runs this executable as `--worker doubled` with MTC_CACHE_DIR=dir; its stderr goes to
 * `err`. The worker's exit status: 0 when the program computed x*2; -1 when it had to be
 * killed after `seconds`. */
static int run_worker(const char *dir, int seconds, char *err, size_t errsize)
{
    char errfile[700];
    snprintf(errfile, sizeof errfile, "%s/stderr.txt", base);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0)
            dup2(fd, 2);
        setenv("MTC_CACHE_DIR", dir, 1);
        execl("/proc/self/exe", "test_cache_trust", "--worker", "doubled", (char *)NULL);
        _exit(127);
    }
    int status = 0, done = 0;
    for (int i = 0; i < seconds * 20 && !done; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            done = 1;
        else
            usleep(50000);
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    err[0] = '\0';
    FILE *f = fopen(errfile, "r");
    if (f) {
        size_t n = fread(err, 1, errsize - 1, f);
        err[n] = '\0';
        fclose(f);
    }
    if (!done)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int count_lines_with(const char *text, const char *word)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, word)) != NULL; p += strlen(word))
        n++;
    return n;
}

/* ---- the tests ------------------------------------------------------------------------- */

static void a_planted_entry_is_used_only_from_a_directory_no_one_else_can_write(void **state)
{
    (void)state;
    mt_cache_key ka, kb;
    void *obj;
    size_t len;
    compile_both(&ka, &kb, &obj, &len);
    plant(&ka, obj, len);
    /* The threat model: whoever can write a trusted directory is this user (or root). */
    assert_int_equal(compile_and_run(1), PLUS_1000);

    /* Writable by others, or by the group: never read, never written, the entry left alone. */
    mode_t modes[] = {0777, 0770, 0720, 0702, 01777};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        plant(&ka, obj, len);
        assert_int_equal(chmod(dir_a, modes[i]), 0);
        mt_cache_counters before = counters();
        assert_int_equal(compile_and_run(1), DOUBLED);
        mt_cache_counters c = counters();
        assert_int_equal(c.hits - before.hits, 0);
        assert_int_equal(c.stores - before.stores, 0);
        assert_int_equal(c.rejected - before.rejected, 0);
        char path[700];
        entry_path(dir_a, &ka, path, sizeof path);
        struct stat st;
        assert_int_equal(stat(path, &st), 0); /* not deleted: the directory is not ours to tidy */
    }
    chmod(dir_a, 0700);
    mt_free(obj);
}

static void a_directory_owned_by_another_user_is_not_used(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* only root can give a directory away */
    mt_cache_key ka, kb;
    void *obj;
    size_t len;
    compile_both(&ka, &kb, &obj, &len);
    plant(&ka, obj, len);
    assert_int_equal(chown(dir_a, NOBODY, NOBODY), 0);
    mt_cache_counters before = counters();
    assert_int_equal(compile_and_run(1), DOUBLED);
    assert_int_equal(counters().hits - before.hits, 0);
    assert_int_equal(counters().stores - before.stores, 0);
    assert_int_equal(chown(dir_a, 0, 0), 0);
    mt_free(obj);
}

static void an_entry_owned_by_another_user_or_writable_by_others_is_refused(void **state)
{
    (void)state;
    mt_cache_key ka, kb;
    void *obj;
    size_t len;
    compile_both(&ka, &kb, &obj, &len);
    char path[700];
    entry_path(dir_a, &ka, path, sizeof path);
    mode_t modes[] = {0666, 0620, 0602};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        plant(&ka, obj, len);
        assert_int_equal(chmod(path, modes[i]), 0);
        mt_cache_counters before = counters();
        assert_int_equal(compile_and_run(1), DOUBLED);
        assert_int_equal(counters().hits - before.hits, 0);
        assert_int_equal(counters().rejected - before.rejected, 1);
    }
    if (geteuid() == 0) {
        plant(&ka, obj, len);
        assert_int_equal(chown(path, NOBODY, NOBODY), 0);
        mt_cache_counters before = counters();
        assert_int_equal(compile_and_run(1), DOUBLED);
        assert_int_equal(counters().hits - before.hits, 0);
        assert_int_equal(counters().rejected - before.rejected, 1);
    }
    /* Each refused entry was replaced by a good one. */
    mt_cache_counters before = counters();
    assert_int_equal(compile_and_run(1), DOUBLED);
    assert_int_equal(counters().hits - before.hits, 1);
    mt_free(obj);
}

/* Copies the file at `from` to `to`, writing `key` over the header's key field when not NULL. */
static void copy_entry(const char *from, const char *to, const mt_cache_key *key)
{
    FILE *f = fopen(from, "rb");
    assert_non_null(f);
    static unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > MT_CACHE_HEADER_BYTES && n < sizeof buf);
    if (key)
        memcpy(buf + 24, key->digest, MT_SHA256_BYTES);
    f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
    chmod(to, 0600);
}

static void an_entry_sealed_for_another_key_is_refused(void **state)
{
    (void)state;
    mt_cache_key ka, kb;
    void *obj;
    size_t len;
    compile_both(&ka, &kb, &obj, &len);
    mt_free(obj);
    char from[700], to[700];
    entry_path(dir_b, &kb, from, sizeof from);
    entry_path(dir_a, &ka, to, sizeof to);
    setenv("MTC_CACHE_DIR", dir_a, 1);

    /* Copied as it is: the key in the header is b's. */
    copy_entry(from, to, NULL);
    mt_cache_counters before = counters();
    assert_int_equal(compile_and_run(1), DOUBLED);
    assert_int_equal(counters().rejected - before.rejected, 1);

    /* The key field rewritten to a's: the seal still binds the payload to b's key. */
    copy_entry(from, to, &ka);
    before = counters();
    assert_int_equal(compile_and_run(1), DOUBLED);
    assert_int_equal(counters().hits - before.hits, 0);
    assert_int_equal(counters().rejected - before.rejected, 1);
}

static void a_symlinked_entry_is_not_followed(void **state)
{
    (void)state;
    mt_cache_key ka, kb;
    void *obj;
    size_t len;
    compile_both(&ka, &kb, &obj, &len);
    char target[700], link[700];
    entry_path(dir_a, &ka, link, sizeof link);

    /* To a well-formed entry of b's code under a's key, kept outside the directory. */
    plant(&ka, obj, len);
    snprintf(target, sizeof target, "%s/elsewhere.o", base);
    assert_int_equal(rename(link, target), 0);
    assert_int_equal(symlink(target, link), 0);
    mt_cache_counters before = counters();
    assert_int_equal(compile_and_run(1), DOUBLED);
    assert_int_equal(counters().hits - before.hits, 0);
    assert_int_equal(counters().rejected - before.rejected, 1);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISREG(st.st_mode));       /* a real entry took the symlink's place */
    assert_int_equal(stat(target, &st), 0); /* and the target was not touched */

    /* Even to the right entry: a symlink is not an entry. */
    snprintf(target, sizeof target, "%s/right.o", base);
    assert_int_equal(rename(link, target), 0);
    assert_int_equal(symlink(target, link), 0);
    before = counters();
    assert_int_equal(compile_and_run(1), DOUBLED);
    assert_int_equal(counters().hits - before.hits, 0);
    mt_free(obj);
}

static void a_fifo_under_an_entry_name_does_not_hang_the_compile(void **state)
{
    (void)state;
    mt_cache_key ka, kb;
    void *obj;
    size_t len;
    compile_both(&ka, &kb, &obj, &len);
    mt_free(obj);
    char path[700], err[4096];
    entry_path(dir_a, &ka, path, sizeof path);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0600), 0);
    int rc = run_worker(dir_a, 60, err, sizeof err);
    if (rc != 0)
        fail_msg("worker %s (stderr: %s)", rc < 0 ? "hung: killed after 60 s" : "failed", err);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode)); /* the FIFO was replaced by the entry */
}

static void an_untrusted_directory_is_named_in_one_warning(void **state)
{
    (void)state;
    setenv("MTC_CACHE_DIR", dir_a, 1);
    assert_int_equal(compile_and_run(1), DOUBLED);
    assert_int_equal(chmod(dir_a, 0777), 0);
    char err[4096];
    /* The worker compiles twice: one warning for the process. */
    assert_int_equal(run_worker(dir_a, 120, err, sizeof err), 0);
    assert_int_equal(count_lines_with(err, "warning"), 1);
    assert_non_null(strstr(err, dir_a));
    assert_non_null(strstr(err, "writable by group or others (mode 0777)"));
    chmod(dir_a, 0700);
    assert_int_equal(run_worker(dir_a, 120, err, sizeof err), 0);
    assert_int_equal(count_lines_with(err, "warning"), 0);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--worker") == 0) {
        int ok = compile_and_run(1) == DOUBLED && compile_and_run(1) == DOUBLED;
        return ok ? 0 : 1;
    }
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(a_planted_entry_is_used_only_from_a_directory_no_one_else_can_write),
        T(a_directory_owned_by_another_user_is_not_used),
        T(an_entry_owned_by_another_user_or_writable_by_others_is_refused),
        T(an_entry_sealed_for_another_key_is_refused),
        T(a_symlinked_entry_is_not_followed),
        T(a_fifo_under_an_entry_name_does_not_hang_the_compile),
        T(an_untrusted_directory_is_named_in_one_warning),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
