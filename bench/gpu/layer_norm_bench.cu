// The encoder's bias + residual + LayerNorm kernels alone (encoder_kernels.cuh):
// the scalar kernel (one warp a row, 2-byte accesses in fp16) against the
// 16-byte kernels with 32 and 16 lanes a row, on fp16 rows of MiniLM's
// (384) and BERT-base's (768) width, 25,600 tokens (batch 100, L = 256).
// Prints µs per call and the bandwidth it implies (3 * tokens * hidden * 2
// bytes: dense and residual read, residual written), beside a device copy
// of one such buffer (its destination stays in L2 even "cold"), and each kernel's largest difference from the scalar
// one on the same inputs. "hot": the same buffers every call (they fit in
// L2, as the GEMM's output does in the encoder); "cold": four buffer sets
// in turn (160 MB, past L2).
//
// Built by nvcc alone (no CMake target), e.g. in bench/gpu/lt_device.sh:
//   nvcc -O3 -std=c++17 -arch=sm_90 -I. bench/gpu/layer_norm_bench.cu -o lnb
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "gpu/cuda/encoder_kernels.cuh"

namespace k = cascade::gpu::kernels;

#define CHECK(call)                                                      \
  do {                                                                   \
    cudaError_t e = (call);                                              \
    if (e != cudaSuccess) {                                              \
      std::fprintf(stderr, "%s: %s\n", #call, cudaGetErrorString(e));    \
      std::exit(1);                                                      \
    }                                                                    \
  } while (0)

__global__ void Fill(__half* out, size_t n, unsigned seed, float scale) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
       i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    unsigned x = static_cast<unsigned>(i) * 2654435761u ^ seed;
    x ^= x >> 13;
    x *= 0x5bd1e995u;
    x ^= x >> 15;
    out[i] = __float2half((static_cast<float>(x & 0xffff) / 32768.0f - 1.0f) * scale);
  }
}

enum class Variant { kScalar, kVec32, kVec16 };
const char* Name(Variant v) {
  return v == Variant::kScalar ? "scalar" : v == Variant::kVec32 ? "vec32" : "vec16";
}

void Launch(Variant v, const __half* dense, const float* bias, int tokens,
            int hidden, const float* gamma, const float* beta, __half* residual) {
  switch (v) {
    case Variant::kScalar:
      k::BiasResidualLayerNorm<__half><<<(tokens + 3) / 4, 128>>>(
          dense, bias, tokens, hidden, gamma, beta, 1e-12f, residual);
      break;
    case Variant::kVec32:
      k::BiasResidualLayerNormVec<__half, 32><<<(tokens + 3) / 4, 128>>>(
          dense, bias, tokens, hidden, gamma, beta, 1e-12f, residual);
      break;
    case Variant::kVec16:
      k::BiasResidualLayerNormVec<__half, 16><<<(tokens + 7) / 8, 128>>>(
          dense, bias, tokens, hidden, gamma, beta, 1e-12f, residual);
      break;
  }
}

int main() {
  const int tokens = 25600;
  constexpr int kSets = 4;
  for (int hidden : {384, 768}) {
    const size_t n = static_cast<size_t>(tokens) * hidden;
    __half *dense[kSets], *residual[kSets], *start, *copy;
    float *bias, *gamma, *beta;
    for (int s = 0; s < kSets; ++s) {
      CHECK(cudaMalloc(&dense[s], n * 2));
      CHECK(cudaMalloc(&residual[s], n * 2));
      Fill<<<1024, 256>>>(dense[s], n, 11u + s, 1.0f);
      Fill<<<1024, 256>>>(residual[s], n, 101u + s, 2.0f);
    }
    CHECK(cudaMalloc(&start, n * 2));
    CHECK(cudaMalloc(&copy, 3 * n * 2));
    CHECK(cudaMemcpy(start, residual[0], n * 2, cudaMemcpyDeviceToDevice));
    std::vector<float> host(hidden);
    CHECK(cudaMalloc(&bias, hidden * 4));
    CHECK(cudaMalloc(&gamma, hidden * 4));
    CHECK(cudaMalloc(&beta, hidden * 4));
    for (int i = 0; i < hidden; ++i) host[i] = 0.1f * std::sin(0.37f * i);
    CHECK(cudaMemcpy(bias, host.data(), hidden * 4, cudaMemcpyHostToDevice));
    for (int i = 0; i < hidden; ++i) host[i] = 1.0f + 0.2f * std::cos(0.11f * i);
    CHECK(cudaMemcpy(gamma, host.data(), hidden * 4, cudaMemcpyHostToDevice));
    for (int i = 0; i < hidden; ++i) host[i] = 0.05f * std::sin(0.7f * i);
    CHECK(cudaMemcpy(beta, host.data(), hidden * 4, cudaMemcpyHostToDevice));
    CHECK(cudaDeviceSynchronize());

    cudaEvent_t a, b;
    CHECK(cudaEventCreate(&a));
    CHECK(cudaEventCreate(&b));
    const double bytes = 3.0 * n * 2;
    auto time = [&](auto&& body, int sets) {
      for (int i = 0; i < 20; ++i) body(i % sets);
      std::vector<float> ms;
      for (int rep = 0; rep < 5; ++rep) {
        CHECK(cudaEventRecord(a));
        for (int i = 0; i < 200; ++i) body(i % sets);
        CHECK(cudaEventRecord(b));
        CHECK(cudaEventSynchronize(b));
        float t = 0;
        CHECK(cudaEventElapsedTime(&t, a, b));
        ms.push_back(t / 200);
      }
      CHECK(cudaGetLastError());
      std::sort(ms.begin(), ms.end());
      return ms[2] * 1000.0;  // median, µs
    };
    for (int sets : {1, kSets}) {
      const double us = time(
          [&](int s) {
            CHECK(cudaMemcpyAsync(copy, dense[s], 2 * n, cudaMemcpyDeviceToDevice));
            (void)s;
          },
          sets);
      // A copy of n halves reads 2n bytes and writes 2n.
      std::printf("hidden %d %s copy of n halves: %.1f us, %.0f GB/s\n", hidden,
                  sets == 1 ? "hot" : "cold", us, 4.0 * n / us / 1e3);
    }

    // Reference: the scalar kernel once on the start state.
    std::vector<__half> want(n), got(n);
    CHECK(cudaMemcpy(residual[0], start, n * 2, cudaMemcpyDeviceToDevice));
    Launch(Variant::kScalar, dense[0], bias, tokens, hidden, gamma, beta, residual[0]);
    CHECK(cudaMemcpy(want.data(), residual[0], n * 2, cudaMemcpyDeviceToHost));
    for (Variant v : {Variant::kScalar, Variant::kVec32, Variant::kVec16}) {
      if (v == Variant::kVec16 && k::VecLanes<__half>(hidden) != 16) continue;
      CHECK(cudaMemset(residual[0], 0xff, n * 2));  // poison, then restore
      CHECK(cudaMemcpy(residual[0], start, n * 2, cudaMemcpyDeviceToDevice));
      Launch(v, dense[0], bias, tokens, hidden, gamma, beta, residual[0]);
      CHECK(cudaGetLastError());
      CHECK(cudaMemcpy(got.data(), residual[0], n * 2, cudaMemcpyDeviceToHost));
      double worst = 0;
      for (size_t i = 0; i < n; ++i) {
        const double d = std::abs(static_cast<double>(__half2float(got[i])) -
                                  __half2float(want[i]));
        worst = std::isnan(d) ? INFINITY : std::max(worst, d);
      }
      for (int sets : {1, kSets}) {
        const double us = time(
            [&](int s) {
              Launch(v, dense[s], bias, tokens, hidden, gamma, beta, residual[s]);
            },
            sets);
        std::printf("hidden %d %s %-6s: %.1f us, %.0f GB/s, max |diff| vs scalar %.3g\n",
                    hidden, sets == 1 ? "hot" : "cold", Name(v), us,
                    bytes / us / 1e3, worst);
      }
    }
    for (int s = 0; s < kSets; ++s) {
      cudaFree(dense[s]);
      cudaFree(residual[s]);
    }
    cudaFree(start);
    cudaFree(copy);
    cudaFree(bias);
    cudaFree(gamma);
    cudaFree(beta);
  }
  return 0;
}
