/* classify.c - the end of the README's main job: LeNet trained on Fashion-MNIST, compiled by
 * `mtc compile` into liblenet_predict.so, called from plain C on test images.
 *
 *   mtc compile examples/lenet_predict.mt --weights lenet.safetensors \
 *       -o liblenet_predict.so --header lenet_predict.h
 *   cc -I. examples/classify.c -L. -llenet_predict -lz -o classify
 *   ./classify t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz 10
 *
 * The images come straight from Fashion-MNIST's gzip IDX files (zlib reads them); the model
 * needs nothing but libc and libm. Prints each image's predicted class and its probability
 * next to the true label, then the accuracy over the first N images.
 */
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include "lenet_predict.h"

static const char *const classes[10] = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                        "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                        "Bag",         "Ankle boot"};

/* Reads `n` bytes after a header of `skip` bytes of a gzip IDX file; NULL on any failure. */
static unsigned char *read_idx(const char *path, long skip, long n)
{
    gzFile f = gzopen(path, "rb");
    unsigned char *buf = malloc((size_t)(skip + n));
    int ok = f && buf && gzread(f, buf, (unsigned)(skip + n)) == (int)(skip + n);
    if (f)
        gzclose(f);
    if (!ok) {
        free(buf);
        fprintf(stderr, "classify: cannot read %ld images from %s\n", n, path);
        return NULL;
    }
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: classify IMAGES.gz LABELS.gz N\n");
        return 2;
    }
    long n = atol(argv[3]);
    if (n < 1 || n > 10000 || lenet_predict_abi_version() != 1)
        return 2;
    unsigned char *images = read_idx(argv[1], 16, n * 784), *labels = read_idx(argv[2], 8, n);
    if (!images || !labels)
        return 1;
    long right = 0;
    for (long i = 0; i < n; i++) {
        float x[LENET_PREDICT_X_NUMEL], probs[LENET_PREDICT_PROBS_NUMEL];
        for (int k = 0; k < 784; k++)
            x[k] = images[16 + i * 784 + k] / 255.0f; /* as `mtc train` scaled them */
        const void *in[1] = {x};
        void *out[1] = {probs};
        if (lenet_predict_run(in, out) != 0)
            return 1;
        int best = 0;
        for (int c = 1; c < 10; c++)
            best = probs[c] > probs[best] ? c : best;
        int truth = labels[8 + i];
        right += best == truth;
        printf("image %2ld: %-11s (p = %.2f)   label %-11s %s\n", i, classes[best], probs[best],
               classes[truth], best == truth ? "" : "<- wrong");
    }
    printf("%ld of %ld right\n", right, n);
    free(images);
    free(labels);
    return 0;
}
