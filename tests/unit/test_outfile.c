/* test_outfile.c - writing output files by what the path is (runtime/outfile.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/outfile.h"
#include "tests/support/failing_alloc.h"

static char tmpdir[256];

static int make_tmpdir(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mt_outfile_XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

/* Fails (and so fails the run) when a test left a file behind, a stray temporary file say. */
static int remove_tmpdir(void **state)
{
    (void)state;
    if (rmdir(tmpdir) != 0) {
        fprintf(stderr, "cannot remove %s: %s\n", tmpdir, strerror(errno));
        return -1;
    }
    return 0;
}

static void tmp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmpdir, name);
}

static int dir_entries(void)
{
    DIR *p = opendir(tmpdir);
    assert_non_null(p);
    int n = 0;
    for (struct dirent *e; (e = readdir(p));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(p);
    return n;
}

static mt_status write_text(const char *path, const char *text, mt_diag *d)
{
    /* Two pieces, to see them written back to back. */
    size_t len = strlen(text), cut = len < 3 ? len : 3;
    mt_span parts[2] = {{text, cut}, {text + cut, len - cut}};
    mt_diag_init(d);
    return mt_outfile_write(path, parts, 2, d);
}

static void assert_file_holds(const char *path, const char *text)
{
    char buf[256] = {0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    assert_string_equal(buf, text);
}

static mode_t mode_of(const char *path)
{
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0);
    return sb.st_mode;
}

static void a_new_file_gets_0666_less_the_umask(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "new");
    mode_t old = umask(027);
    mt_diag d;
    mt_status st = write_text(path, "hello", &d);
    umask(old);
    assert_int_equal(st, MT_OK);
    assert_file_holds(path, "hello");
    assert_int_equal(mode_of(path) & 07777, 0640);
    assert_int_equal(unlink(path), 0);
}

static void a_replaced_file_keeps_its_mode_and_nothing_is_left_beside_it(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "old");
    mt_diag d;
    assert_int_equal(write_text(path, "first version", &d), MT_OK);
    assert_int_equal(chmod(path, 0604), 0);
    struct stat before;
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(write_text(path, "second", &d), MT_OK);
    assert_file_holds(path, "second");
    struct stat after;
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(after.st_mode & 07777, 0604);
    assert_true(after.st_ino != before.st_ino); /* a new file renamed over the old one */
    assert_int_equal(dir_entries(), 1);
    assert_int_equal(unlink(path), 0);
}

static void a_symlink_is_followed_and_stays_a_link(void **state)
{
    (void)state;
    char link1[512], link2[512], real[512];
    tmp_path(link1, sizeof link1, "link1");
    tmp_path(link2, sizeof link2, "link2");
    tmp_path(real, sizeof real, "real");
    /* A chain: link1 -> link2 (relative) -> real (absolute), real not there yet. */
    assert_int_equal(symlink("link2", link1), 0);
    assert_int_equal(symlink(real, link2), 0);
    mt_diag d;
    assert_int_equal(write_text(link1, "through links", &d), MT_OK);
    assert_true(S_ISLNK(mode_of(link1)));
    assert_true(S_ISLNK(mode_of(link2)));
    assert_true(S_ISREG(mode_of(real)));
    assert_file_holds(real, "through links");

    /* Again, over the file the chain now names: replaced there, its mode kept. */
    assert_int_equal(chmod(real, 0600), 0);
    assert_int_equal(write_text(link1, "again", &d), MT_OK);
    assert_true(S_ISLNK(mode_of(link1)));
    assert_file_holds(real, "again");
    assert_int_equal(mode_of(real) & 07777, 0600);
    assert_int_equal(dir_entries(), 3);
    assert_int_equal(unlink(link1), 0);
    assert_int_equal(unlink(link2), 0);
    assert_int_equal(unlink(real), 0);
}

static void a_symlink_loop_is_an_io_error_naming_the_path(void **state)
{
    (void)state;
    char a[512], b[512];
    tmp_path(a, sizeof a, "loop_a");
    tmp_path(b, sizeof b, "loop_b");
    assert_int_equal(symlink("loop_b", a), 0);
    assert_int_equal(symlink("loop_a", b), 0);
    mt_diag d;
    assert_int_equal(write_text(a, "never", &d), MT_ERR_IO);
    assert_string_equal(d.file, a);
    assert_non_null(strstr(d.msg, strerror(ELOOP)));
    assert_int_equal(dir_entries(), 2);
    assert_int_equal(unlink(a), 0);
    assert_int_equal(unlink(b), 0);
}

static void a_fifo_is_written_through_to_its_reader(void **state)
{
    (void)state;
    char fifo[512], got[512];
    tmp_path(fifo, sizeof fifo, "fifo");
    tmp_path(got, sizeof got, "got");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* the reader: copies what comes through the FIFO into a file */
        alarm(20);  /* never hang the suite, whatever the writer does */
        int in = open(fifo, O_RDONLY), out = open(got, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        char buf[256];
        ssize_t n;
        while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)n) != n)
                _exit(1);
        _exit(in >= 0 && out >= 0 ? 0 : 1);
    }
    mt_diag d;
    mt_status st = write_text(fifo, "down the pipe", &d);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(st, MT_OK);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(S_ISFIFO(mode_of(fifo)));
    assert_file_holds(got, "down the pipe");
    assert_int_equal(dir_entries(), 2);
    assert_int_equal(unlink(fifo), 0);
    assert_int_equal(unlink(got), 0);
}

static void a_character_device_is_written_through_and_stays_one(void **state)
{
    (void)state;
    mt_diag d;
    assert_int_equal(write_text("/dev/null", "into nothing", &d), MT_OK);
    assert_true(S_ISCHR(mode_of("/dev/null")));
    /* As root a rename would replace a device node: try it on a node of our own. */
    char node[512];
    tmp_path(node, sizeof node, "null");
    if (mknod(node, S_IFCHR | 0666, makedev(1, 3)) != 0)
        return; /* not root (or no CAP_MKNOD): /dev/null above cannot be replaced anyway */
    assert_int_equal(write_text(node, "into nothing", &d), MT_OK);
    assert_true(S_ISCHR(mode_of(node)));
    assert_int_equal(dir_entries(), 1);
    assert_int_equal(unlink(node), 0);
}

static void a_descriptor_path_writes_to_that_descriptor(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char path[64];
    snprintf(path, sizeof path, "/dev/fd/%d", fds[1]);
    mt_diag d;
    assert_int_equal(write_text(path, "to my fd", &d), MT_OK);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fds[1]);
    assert_int_equal(write_text(path, "!", &d), MT_OK);
    close(fds[1]);
    char buf[64] = {0};
    assert_int_equal(read(fds[0], buf, sizeof buf - 1), 9);
    assert_string_equal(buf, "to my fd!");
    close(fds[0]);

    /* A closed descriptor is a write error naming the path and its reason. */
    assert_int_equal(write_text(path, "lost", &d), MT_ERR_IO);
    assert_string_equal(d.file, path);
    assert_non_null(strstr(d.msg, strerror(EBADF)));
}

static void a_full_device_names_the_path_and_the_reason(void **state)
{
    (void)state;
    mt_diag d;
    assert_int_equal(write_text("/dev/full", "too much", &d), MT_ERR_IO);
    assert_string_equal(d.file, "/dev/full");
    assert_non_null(strstr(d.msg, "write failed"));
    assert_non_null(strstr(d.msg, strerror(ENOSPC)));
}

static void a_directory_is_refused_and_left_alone(void **state)
{
    (void)state;
    char dir[512];
    tmp_path(dir, sizeof dir, "dir");
    assert_int_equal(mkdir(dir, 0700), 0);
    mt_diag d;
    assert_int_equal(write_text(dir, "never", &d), MT_ERR_IO);
    assert_string_equal(d.file, dir);
    assert_non_null(strstr(d.msg, strerror(EISDIR)));
    assert_true(S_ISDIR(mode_of(dir)));
    assert_int_equal(dir_entries(), 1);
    assert_int_equal(rmdir(dir), 0);
}

static void a_missing_folder_is_an_io_error_with_its_reason(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "no/such/file");
    mt_diag d;
    assert_int_equal(write_text(path, "never", &d), MT_ERR_IO);
    assert_string_equal(d.file, path);
    assert_non_null(strstr(d.msg, strerror(ENOENT)));
    assert_int_equal(dir_entries(), 0);
}

static void every_allocation_failure_is_nomem_without_a_leak_or_a_file(void **state)
{
    (void)state;
    char link[512], real[512];
    tmp_path(link, sizeof link, "oom_link");
    tmp_path(real, sizeof real, "oom_real");
    assert_int_equal(symlink("oom_real", link), 0);
    mt_test_alloc_fail_nth(0); /* counts, fails nothing */
    mt_diag d;
    assert_int_equal(write_text(link, "data", &d), MT_OK);
    long total = mt_test_alloc_calls();
    assert_true(total > 0);
    assert_int_equal(unlink(real), 0);
    for (long n = 1; n <= total; n++) {
        mt_test_alloc_fail_nth(n);
        mt_status st = write_text(link, "data", &d);
        long live = mt_test_alloc_live();
        mt_test_alloc_restore();
        if (st != MT_ERR_NOMEM || live != 0)
            fail_msg("allocation %ld of %ld failing: %s (%s), %ld blocks leaked", n, total,
                     mt_status_name(st), d.msg, live);
        assert_int_equal(dir_entries(), 1);
    }
    assert_int_equal(unlink(link), 0);
}

int main(void)
{
    /* A FIFO whose reader went away must be an error, not the end of the test run. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_new_file_gets_0666_less_the_umask),
        cmocka_unit_test(a_replaced_file_keeps_its_mode_and_nothing_is_left_beside_it),
        cmocka_unit_test(a_symlink_is_followed_and_stays_a_link),
        cmocka_unit_test(a_symlink_loop_is_an_io_error_naming_the_path),
        cmocka_unit_test(a_fifo_is_written_through_to_its_reader),
        cmocka_unit_test(a_character_device_is_written_through_and_stays_one),
        cmocka_unit_test(a_descriptor_path_writes_to_that_descriptor),
        cmocka_unit_test(a_full_device_names_the_path_and_the_reason),
        cmocka_unit_test(a_directory_is_refused_and_left_alone),
        cmocka_unit_test(a_missing_folder_is_an_io_error_with_its_reason),
        cmocka_unit_test(every_allocation_failure_is_nomem_without_a_leak_or_a_file),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
