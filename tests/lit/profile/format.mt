# mtc profile's report: the header, one row per kernel with its bound, the totals. Times vary
# from run to run, so only their shape is checked; --peak fixes the roofline, which makes the
# bound column deterministic: the 64x64 matmul does 10.67 FLOP per byte (above the ridge at 10),
# the exp-mul chain 0.25.
# RUN: %mtc profile %s --runs 3 --peak 100,10 | FileCheck %s
# RUN: MTC_NUM_THREADS=1 %mtc profile %s --runs 1 --peak 100,10 | FileCheck %s --check-prefix=ONE
# With a cache level (50 GB/s: ridge at 2), the kernels' few KiB fit in it: the chain is held
# to the cache's bandwidth, the matmul (10.67 FLOP/B) stays compute-bound.
# RUN: %mtc profile %s --runs 1 --peak 100,10,50 | FileCheck %s --check-prefix=CACHE
# RUN: exits 2 %mtc profile %s --backend interp 2>&1 | FileCheck %s --check-prefix=BACKEND
# RUN: exits 2 %mtc profile %s --peak 100 2>&1 | FileCheck %s --check-prefix=PEAK
# RUN: exits 2 %mtc profile %s --runs 0 2>&1 | FileCheck %s --check-prefix=RUNS
# RUN: exits 1 %mtc profile %S/../run/affine.mt --in %S/../run/affine_missing_w.in.safetensors --peak 1,1 2>&1 | FileCheck %s --check-prefix=MISSING
# RUN: %mtc profile --help | FileCheck %s --check-prefix=HELP
# The roofline is measured once (about a second) and then read from the kernel cache directory.
# RUN: rm -rf %t.cache && MTC_CACHE_DIR=%t.cache %mtc profile %s --runs 1 | FileCheck %s --check-prefix=MEASURED
# RUN: MTC_CACHE_DIR=%t.cache %mtc profile %s --runs 1 | FileCheck %s --check-prefix=CACHED
# RUN: MTC_CACHE_DIR=%t.cache %mtc profile %s --runs 1 --remeasure | FileCheck %s --check-prefix=MEASURED
mtir 1
graph chain {
  input %a : f32[64,64]
  input %b : f32[64,64]
  input %x : f32[1000]
  %y = matmul %a, %b
  %e = exp %x
  %z = mul %e, %e
  output %y, %z
}
# CHECK: mtc profile: graph chain on cpu, {{[0-9]+}} thread{{s?}}, median of 3 runs, inputs random
# CHECK-NEXT: roofline: 100.0 GFLOP/s (f32 FMA peak), 10.0 GB/s (memory), ridge at 10.00 FLOP/B (given by --peak)
# CHECK-EMPTY:
# CHECK-NEXT: kernel time share GFLOP/s GB/s FLOP/B bound of bound computes
# CHECK-NEXT: k0 {{[0-9]+\.[0-9]}} {{us|ms}} {{[0-9]+\.[0-9]}}% {{[0-9]+\.[0-9]+}} {{[0-9]+\.[0-9]+}} 10.67 compute {{[0-9]+}}% %y: matmul
# CHECK-NEXT: k1 {{[0-9]+\.[0-9]}} {{us|ms}} {{[0-9]+\.[0-9]}}% {{[0-9]+\.[0-9]+}} {{[0-9]+\.[0-9]+}} 0.25 memory {{[0-9]+}}% %z: exp mul
# CHECK-NEXT: kernels {{[0-9]+\.[0-9]}} {{us|ms}} 100.0% {{[0-9]+\.[0-9]+}} {{[0-9]+\.[0-9]+}} 9.21
# CHECK-NEXT: run {{[0-9]+\.[0-9]}} {{us|ms}} (outside the kernels: {{[0-9]+\.[0-9]}} {{us|ms}} for binding buffers, copying updates and outputs, and the timing itself)
# CACHE: roofline: 100.0 GFLOP/s (f32 FMA peak), 10.0 GB/s (memory), ridge at 10.00 FLOP/B (given by --peak)
# CACHE-NEXT: 50.0 GB/s (cache) for kernels of up to {{[0-9]+}} KiB, ridge at 2.00 FLOP/B
# CACHE: k0 {{.*}} 10.67 compute {{[0-9]+}}% %y: matmul
# CACHE-NEXT: k1 {{.*}} 0.25 cache {{[0-9]+}}% %z: exp mul
# ONE: graph chain on cpu, 1 thread, median of 1 runs
# BACKEND: mtc profile: only the cpu backend is timed kernel by kernel, not 'interp'
# PEAK: mtc profile: --peak needs positive numbers GFLOPS,GBPS or GFLOPS,GBPS,CACHE_GBPS, not '100'
# RUNS: mtc profile: --runs needs a count from 1 to 1000000, not '0'
# MISSING: affine_missing_w.in.safetensors: no tensor 'w' for %w
# MEASURED: roofline: {{[0-9.]+}} GFLOP/s (f32 FMA peak), {{[0-9.]+}} GB/s (memory), ridge at {{[0-9.]+}} FLOP/B (measured now)
# MEASURED-NEXT: {{[0-9.]+}} GB/s (cache) for kernels of up to {{[0-9]+}} KiB
# CACHED: roofline: {{[0-9.]+}} GFLOP/s (f32 FMA peak), {{[0-9.]+}} GB/s (memory), ridge at {{[0-9.]+}} FLOP/B (measured before, from the cache)
# HELP: usage: mtc profile FILE.mt [--in IN.safetensors] [--runs N] [--backend cpu]
