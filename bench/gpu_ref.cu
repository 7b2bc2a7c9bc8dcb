// gpu_ref.cu - the references of bench/gpu.sh on an NVIDIA GPU: device-to-device copy bandwidth
// and cuBLAS SGEMM. Built by bench/gpu.sh with nvcc (not by CMake: the CPU-only build needs no
// CUDA toolkit):
//
//   nvcc -O2 -o gpu_ref bench/gpu_ref.cu -lcublas
//   gpu_ref copy N       cudaMemcpy of N floats device to device: prints `copy_gbs X`
//                        (bytes read + written per second, as the fused chain is counted)
//   gpu_ref sgemm N      C = A . B, N x N, f32, cublasSgemm: prints `sgemm_tflops X`
//
// Best of 20 timed repetitions after 3 warm-ups, timed with CUDA events.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#define CK(x)                                                                                  \
    do {                                                                                       \
        cudaError_t e_ = (x);                                                                  \
        if (e_ != cudaSuccess) {                                                               \
            fprintf(stderr, "gpu_ref: %s: %s\n", #x, cudaGetErrorString(e_));                  \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)

template <typename F> static float best_ms(F f)
{
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    for (int i = 0; i < 3; i++)
        f();
    float best = 1e30f;
    for (int i = 0; i < 20; i++) {
        CK(cudaEventRecord(a));
        f();
        CK(cudaEventRecord(b));
        CK(cudaEventSynchronize(b));
        float ms;
        CK(cudaEventElapsedTime(&ms, a, b));
        best = ms < best ? ms : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: gpu_ref copy N | gpu_ref sgemm N\n");
        return 2;
    }
    long n = atol(argv[2]);
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("device %s\n", prop.name);
    if (!strcmp(argv[1], "copy")) {
        float *x, *y;
        CK(cudaMalloc(&x, n * sizeof(float)));
        CK(cudaMalloc(&y, n * sizeof(float)));
        CK(cudaMemset(x, 0, n * sizeof(float)));
        float ms = best_ms([&] { CK(cudaMemcpy(y, x, n * sizeof(float), cudaMemcpyDeviceToDevice)); });
        printf("copy_gbs %.1f\n", 2.0 * n * sizeof(float) / (ms * 1e-3) / 1e9);
        return 0;
    }
    float *a, *b, *c;
    CK(cudaMalloc(&a, n * n * sizeof(float)));
    CK(cudaMalloc(&b, n * n * sizeof(float)));
    CK(cudaMalloc(&c, n * n * sizeof(float)));
    CK(cudaMemset(a, 0, n * n * sizeof(float)));
    CK(cudaMemset(b, 0, n * n * sizeof(float)));
    cublasHandle_t h;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS)
        return fprintf(stderr, "gpu_ref: cublasCreate failed\n"), 1;
    // Plain FP32: tensor-core TF32 would not compute what mtc computes.
    cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
    const float one = 1, zero = 0;
    float ms = best_ms([&] {
        cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)n, (int)n, (int)n, &one, b, (int)n, a,
                    (int)n, &zero, c, (int)n);
    });
    printf("sgemm_tflops %.2f\n", 2.0 * n * n * n / (ms * 1e-3) / 1e12);
    cublasDestroy(h);
    return 0;
}
