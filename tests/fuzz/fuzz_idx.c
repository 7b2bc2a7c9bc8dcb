/* fuzz_idx.c - libFuzzer target for the IDX reader (runtime/idx.c), plain and gzip: any bytes
 * either load into an image or label array whose promises hold (rank 1..MT_IDX_MAX_RANK, dims
 * > 0 whose product is the byte count) or give a clean error naming the file. */
#include "tests/fuzz/fuzz_file.h"

#include "ir/alloc.h"
#include "runtime/idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    mt_diag d;
    mt_diag_init(&d);
    mt_idx *x = NULL;
    mt_status st = mt_idx_load(path, &x, &d);
    if ((st == MT_OK) != (x != NULL) || (st != MT_OK && (d.status != st || d.msg[0] == 0)))
        abort();
    if (x) {
        size_t n = 1;
        if (x->rank < 1 || x->rank > MT_IDX_MAX_RANK)
            abort();
        for (int i = 0; i < x->rank; i++) {
            if (x->dims[i] <= 0)
                abort();
            n *= (size_t)x->dims[i];
        }
        if (n != x->nbytes || (n && x->data[n - 1] != x->data[n - 1]))
            abort();
    }
    mt_idx_free(x);
    mt_diag_fini(&d);
    close(fd);
    return 0;
}
