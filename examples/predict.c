/* predict.c - calling a model compiled by `mtc compile` from C, with nothing else installed.
 *
 *   mtc compile examples/xor.mt -o libxor.so --weights examples/xor.in.safetensors
 *   cc -I. examples/predict.c -L. -lxor -Wl,-rpath,'$ORIGIN' -o predict && ./predict
 *
 * `mtc compile` wrote xor.h beside libxor.so: the functions and, as #defines, every input's
 * and output's index, shape and size. For another model, include its header and replace the
 * XOR_/xor_ names (graph NAME gives NAME.h, NAME_run, NAME_X_NUMEL, ...).
 *
 * The xor graph is a loss graph: its inputs are a batch of 16 points %x and their labels %y,
 * its outputs the loss and the probabilities %p. We classify four points (the rest of the
 * batch is zeros) and print p > 0.5 as the predicted class.
 */
#include <stdio.h>

#include "xor.h"

int main(void)
{
    if (xor_abi_version() != XOR_ABI_VERSION) {
        fprintf(stderr, "predict: libxor.so has ABI %d, this program expects %d\n",
                xor_abi_version(), XOR_ABI_VERSION);
        return 1;
    }
    static const float points[4][2] = {{0.1f, 0.1f}, {0.1f, 0.9f}, {0.9f, 0.1f}, {0.9f, 0.9f}};
    float x[XOR_X_NUMEL] = {0}, y[XOR_Y_NUMEL] = {0}, loss, p[XOR_P_NUMEL];
    for (int i = 0; i < 4; i++) {
        x[2 * i] = points[i][0];
        x[2 * i + 1] = points[i][1];
    }
    const void *inputs[XOR_NUM_INPUTS];
    void *outputs[XOR_NUM_OUTPUTS];
    inputs[XOR_X_INPUT] = x;
    inputs[XOR_Y_INPUT] = y;
    outputs[XOR_LOSS_OUTPUT] = &loss;
    outputs[XOR_P_OUTPUT] = p;
    if (xor_run(inputs, outputs) != 0) {
        fprintf(stderr, "predict: xor_run failed\n");
        return 1;
    }
    for (int i = 0; i < 4; i++)
        printf("(%.1f, %.1f): p = %.4f -> class %d\n", points[i][0], points[i][1], p[i],
               p[i] > 0.5f);
    return 0;
}
