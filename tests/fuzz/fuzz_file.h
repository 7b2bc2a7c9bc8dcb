/* fuzz_file.h - hands a fuzz input to a reader that takes a path (the IDX reader, the data-file
 * loader of `mtc train`): the bytes go into an anonymous in-memory file (memfd_create) named by
 * its /proc/self/fd path, so no disk is touched and nothing is left behind. */
#ifndef MT_FUZZ_FILE_H
#define MT_FUZZ_FILE_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Writes data into a fresh memfd; its path goes to path. The fd to close, or -1. */
static int fuzz_file(const uint8_t *data, size_t size, char *path, size_t path_size)
{
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    snprintf(path, path_size, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
