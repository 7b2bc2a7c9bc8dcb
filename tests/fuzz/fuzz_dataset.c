/* fuzz_dataset.c - libFuzzer target for the data-file loader of `mtc train`
 * (frontend/data.c: mt_dataset_load_safetensors): any bytes either load into a data set whose
 * x and y agree (the checks of data.h) or give a clean error naming the file. A loaded set is
 * also batched once, so the gather reads every row the loader vouched for. */
#include "tests/fuzz/fuzz_file.h"

#include "frontend/data.h"
#include "ir/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    mt_diag d;
    mt_diag_init(&d);
    mt_dataset *ds = NULL;
    mt_status st = mt_dataset_load_safetensors(path, &ds, &d);
    if ((st == MT_OK) != (ds != NULL) || (st != MT_OK && (d.status != st || d.msg[0] == 0)))
        abort();
    if (ds) {
        /* The last row of every split: the loader vouched that it lies inside the tensor. */
        size_t xb = mt_dataset_row_bytes(ds->x), yb = mt_dataset_row_bytes(ds->y);
        void *xr = mt_malloc(xb ? xb : 1), *yr = mt_malloc(yb ? yb : 1);
        if (ds->n < 1 || !xr || !yr ||
            mt_dataset_batch(ds, NULL, ds->n - 1, 1, xr, yr, &d) != MT_OK)
            abort();
        if (ds->x_test && mt_dataset_gather(ds->x_test, NULL, ds->n_test - 1, 1, xr, &d) != MT_OK)
            abort();
        mt_free(xr);
        mt_free(yr);
    }
    mt_dataset_free(ds);
    mt_diag_fini(&d);
    close(fd);
    return 0;
}
