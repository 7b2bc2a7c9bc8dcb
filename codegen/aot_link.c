/* aot_link.c - object files -> one shared object, with the system's linker (aot.h).
 *
 * The model's objects (kernels, GEMM functions, weights and entry points: aot_units.c) and the
 * runtime's (codegen/aotrt/aotrt.c, carried inside mtc as bytes) are written to a private
 * temporary directory and linked by the C compiler driver ($MTC_CC, else `cc`), which knows
 * where the C library's start files and libgcc live:
 *
 *   cc -shared -o lib.so model0.o model1.o ... aotrt.o -Wl,--version-script=exports.map
 *      -Wl,-soname,SONAME
 *      -Wl,--no-undefined -Wl,-z,noexecstack -Wl,--as-needed -lm -lpthread
 *
 * The version script exports the ABI's symbols and makes everything else local, so the .so
 * shows nothing else in `nm -D`; --no-undefined makes a symbol that libc, libm and pthreads do
 * not define a link error here rather than a dlopen error at the user's. The result is read
 * back into memory: aot.c writes it to its final path by the output-file rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen/aot.h"
#include "ir/alloc.h"

#define PATH_CAP 4096

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(data, 1, len, f) == len;
    return (fclose(f) == 0) && ok;
}

/* The whole file, mt_malloc'd (NUL-terminated past len), or NULL; *oom says whether memory ran
 * out (else the file could not be read). */
static void *read_file(const char *path, size_t *len, int *oom)
{
    *oom = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = (n + 65536 + 1) * 2;
            char *grown = mt_realloc(buf, cap);
            if (!grown) {
                mt_free(buf);
                fclose(f);
                *oom = 1;
                return NULL;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        mt_free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Runs argv with stderr into `log`; returns the exit status, or -1 when it could not run. */
static int run(char *const *argv, const char *log)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void path_in(char *out, const char *dir, const char *name)
{
    snprintf(out, PATH_CAP, "%.3000s/%.64s", dir, name);
}

/* The temporary files: model<i>.o for i < nobjs, then these. */
static const char *const fixed_names[] = {"aotrt.o", "exports.map", "lib.so", "link.log"};
enum { N_FIXED = 4, MAX_OBJS = 256 };

static void model_path(char *out, const char *dir, int i)
{
    char name[32];
    snprintf(name, sizeof name, "model%d.o", i);
    path_in(out, dir, name);
}

static mt_status link_in(const char *dir, const mt_span *objs, int nobjs, const char *soname,
                         const char *const *exports, int nexports, void **so, size_t *so_len,
                         mt_diag *d)
{
    char rt[PATH_CAP], map[PATH_CAP], lib[PATH_CAP], log[PATH_CAP];
    path_in(rt, dir, "aotrt.o");
    path_in(map, dir, "exports.map");
    path_in(lib, dir, "lib.so");
    path_in(log, dir, "link.log");
    size_t cap = 64;
    for (int i = 0; i < nexports; i++)
        cap += strlen(exports[i]) + 8;
    char *script = mt_malloc(cap);
    char(*models)[PATH_CAP] = mt_calloc((size_t)nobjs + 1, PATH_CAP);
    char **argv = mt_calloc((size_t)nobjs + 16, sizeof *argv);
    if (!script || !models || !argv) {
        mt_free(script);
        mt_free(models);
        mt_free(argv);
        return mt_diag_set(d, MT_ERR_NOMEM, "aot: out of memory");
    }
    size_t at = (size_t)snprintf(script, cap, "{\n  global:\n");
    for (int i = 0; i < nexports; i++)
        at += (size_t)snprintf(script + at, cap - at, "    %s;\n", exports[i]);
    snprintf(script + at, cap - at, "  local: *;\n};\n");
    int ok = write_file(rt, mt_aotrt_object, mt_aotrt_object_size) &&
             write_file(map, script, strlen(script));
    for (int i = 0; i < nobjs && ok; i++) {
        model_path(models[i], dir, i);
        ok = write_file(models[i], objs[i].data, objs[i].len);
    }
    mt_free(script);
    if (!ok) {
        mt_free(models);
        mt_free(argv);
        return mt_diag_set(d, MT_ERR_IO, "aot: cannot write temporary files in %s: %s", dir,
                           strerror(errno));
    }
    const char *cc = getenv("MTC_CC");
    char vs[PATH_CAP + 32], sn[PATH_CAP + 32];
    snprintf(vs, sizeof vs, "-Wl,--version-script=%s", map);
    snprintf(sn, sizeof sn, "-Wl,-soname,%s", soname);
    int n = 0;
    argv[n++] = (char *)(cc && *cc ? cc : "cc");
    argv[n++] = "-shared";
    argv[n++] = "-o";
    argv[n++] = lib;
    for (int i = 0; i < nobjs; i++)
        argv[n++] = models[i];
    argv[n++] = rt;
    argv[n++] = vs;
    argv[n++] = sn;
    argv[n++] = "-Wl,--no-undefined";
    argv[n++] = "-Wl,-z,noexecstack";
    argv[n++] = "-Wl,--as-needed";
    argv[n++] = "-lm";
    argv[n++] = "-lpthread";
    argv[n] = NULL;
    int rc = run(argv, log);
    mt_status st = MT_OK;
    if (rc != 0) {
        size_t len = 0;
        int oom;
        char *text = read_file(log, &len, &oom);
        st = mt_diag_set(d, MT_ERR_BACKEND, "aot: linking with '%s' failed (%s): %.*s", argv[0],
                         rc < 0 ? "did not run" : "non-zero exit",
                         text ? (int)strcspn(text, "\n") : 0, text ? text : "");
        if (d && !d->log && text)
            d->log = text;
        else
            mt_free(text);
    } else {
        int oom;
        if (!(*so = read_file(lib, so_len, &oom)))
            st = oom ? mt_diag_set(d, MT_ERR_NOMEM, "aot: out of memory reading the linked %s", lib)
                     : mt_diag_set(d, MT_ERR_IO, "aot: cannot read the linked %s", lib);
    }
    mt_free(models);
    mt_free(argv);
    return st;
}

mt_status mt_aot_link(const mt_span *objs, int nobjs, const char *soname,
                      const char *const *exports, int nexports, void **so, size_t *so_len,
                      mt_diag *d)
{
    *so = NULL;
    *so_len = 0;
    if (nobjs < 1 || nobjs > MAX_OBJS)
        return mt_diag_set(d, MT_ERR_INTERNAL, "aot: %d object files to link", nobjs);
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_CAP];
    snprintf(dir, sizeof dir, "%.2048s/mtc-compile-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return mt_diag_set(d, MT_ERR_IO, "aot: cannot make a temporary directory %s: %s", dir,
                           strerror(errno));
    mt_status st = link_in(dir, objs, nobjs, soname, exports, nexports, so, so_len, d);
    char p[PATH_CAP];
    for (int i = 0; i < nobjs; i++) {
        model_path(p, dir, i);
        unlink(p);
    }
    for (int i = 0; i < N_FIXED; i++) {
        path_in(p, dir, fixed_names[i]);
        unlink(p);
    }
    rmdir(dir);
    return st;
}
