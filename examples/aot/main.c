/* main.c - a C program linked against a model compiled by `mtc compile` (examples/aot).
 *
 *   mtc compile net.mt -o libnet.so --weights net.safetensors      (writes net.h too)
 *   cc -std=c11 -I. main.c -L. -lnet -Wl,-rpath,'$ORIGIN' -o main && ./main
 *
 * Everything about the model comes from net.h: the function net_run, and as #defines each
 * input's and output's index and element count. The program feeds four samples of a fixed
 * pattern (check.py feeds the same one through Python and through `mtc run`) and prints each
 * sample's class probabilities and the most likely class.
 */
#include <stdio.h>

#include "net.h"

int main(void)
{
    if (net_abi_version() != NET_ABI_VERSION) {
        fprintf(stderr, "main: libnet.so has ABI %d, this program expects %d\n", net_abi_version(),
                NET_ABI_VERSION);
        return 1;
    }
    enum { SAMPLES = 4, FEATURES = NET_X_NUMEL / SAMPLES, CLASSES = NET_P_NUMEL / SAMPLES };
    float x[NET_X_NUMEL], p[NET_P_NUMEL];
    for (int i = 0; i < NET_X_NUMEL; i++)
        x[i] = (float)(i % 5) * 0.25f - 0.5f; /* the pattern check.py uses */
    const void *inputs[NET_NUM_INPUTS];
    void *outputs[NET_NUM_OUTPUTS];
    inputs[NET_X_INPUT] = x;
    outputs[NET_P_OUTPUT] = p;
    if (net_run(inputs, outputs) != 0) {
        fprintf(stderr, "main: net_run failed\n");
        return 1;
    }
    (void)FEATURES;
    for (int s = 0; s < SAMPLES; s++) {
        int best = 0;
        printf("sample %d:", s);
        for (int c = 0; c < CLASSES; c++) {
            printf(" %.6f", p[s * CLASSES + c]);
            if (p[s * CLASSES + c] > p[s * CLASSES + best])
                best = c;
        }
        printf(" -> class %d\n", best);
    }
    return 0;
}
