// Instance normalisation (IN), conditional IN (CIN) and AdaIN, forward and backward.
// The contract of cuda/instance_norm/instance_norm.cu.
//
// Every variant is one formula over each (b, c) plane of N = H*W positions:
//   mean, var   over the plane; var biased (/ N) for IN and CIN, unbiased (/ (N - 1)) for AdaIN
//   rstd        1 / sqrt(var + eps)
//   z           (x - mean) * scale + shift + keep * x
//   y           z, or max(z, 0) when relu != 0 (NaN stays NaN)
// where the finalize kernel of the variant sets the per-(b, c) scale and shift:
//   affine  scale = gamma[b, c] * rstd, shift = beta[b, c]; gamma, beta per channel (stride 0)
//           or per sample (stride C), or absent (null: 1 and 0); keep = 0
//   cin     gamma[b, c] = sum_s w[b, s] * gamma_table[s, c] (s in order), beta likewise from
//           beta_table; w per sample (stride S) or shared (stride 0); then as affine; keep = 0
//   adain   scale = alpha * style_std[b, c] * rstd, shift = alpha * style_mean[b, c];
//           keep = 1 - alpha (AdaIN blended with its content, Huang & Belongie 2017)
//
// Tensors (B batch, C channels, N positions, S chunks; all sizes > 0, N > 1 for AdaIN):
//   x, y, dy, dx   (B, C, N) float32 | float16 | bfloat16, one dtype, dense nchw or nhwc:
//                    nchw: [b, c, n] at ((b * C) + c) * N + n      (torch contiguous)
//                    nhwc: [b, c, n] at ((b * N) + n) * C + c      (torch channels_last)
//   coef           (B * C) float4 {mean, rstd, scale, shift}: finalize writes, the rest read
//   bcoef          (B * C) float4 {sum_g, sum_gx, sum_g / N, sum_gx / corr}: backward finalize
//                    writes, backward apply reads. g = dy where z > 0 (all of dy without relu),
//                    x^ = (x - mean) * rstd, sum_gx = sum g x^, corr = N (IN, CIN) or N - 1
//                    (AdaIN). Parameter gradients are then per (b, c): dgamma = sum_gx,
//                    dbeta = sum_g; AdaIN: dstyle_std = alpha sum_gx, dstyle_mean = alpha sum_g.
//   part_a, part_b (B * C * S) float32 workspaces at [(b * C + c) * S + s]; the stats kernel
//                    writes the chunk's mean and m2 (sum of squared deviations), the backward
//                    reduction its sum g and sum g x^. Every entry is written.
//   all float parameters (gamma, beta, tables, w, style statistics) float32, contiguous.
//
// Chunks: chunk s covers positions [s * L, min(N, (s + 1) * L)), S = ceil(N / L), L = chunk_len.
// Packs: _vec kernels move kVec = 16 / sizeof(dtype) elements (4 for f32, 8 for f16/bf16) per
// access along the unit-stride dimension and need: nchw: N % kVec == 0 and L % kVec == 0;
// nhwc: C % kVec == 0; x, y, dy, dx 16-byte aligned. _scalar kernels (kVec = 1) need nothing.
//
// Launch (every kernel: 1-D grid of kNormThreads threads, no dynamic shared memory, any stream):
//   forward
//     1 ns_in_stats_<dtype>_<layout>_<pack>      nchw: grid = B * C * S, block (b * C + c) * S + s
//                                                nhwc: grid = B * G * S, block (b * G + g) * S + s,
//                                                  G = ceil(P / min(P, kNormThreads)), P = C / kVec
//     2 ns_in_finalize_<affine|cin|adain>        grid = ceil(B * C / kNormThreads), thread (b, c)
//     3 ns_in_apply_<dtype>_<layout>_<pack>      nchw: grid = B * C * S; nhwc: grid = B * S,
//                                                  block b * S + s (S, L of its own choosing)
//   backward (coef from the forward)
//     4 ns_in_bwd_reduce_<dtype>_<layout>_<pack> grid as 1
//     5 ns_in_bwd_finalize                       grid as 2
//     6 ns_in_bwd_apply_<dtype>_<layout>_<pack>  grid as 3;
//                                                dx = keep g + scale (g - sum_g/N - x^ sum_gx/corr)
// x is read twice in the forward (statistics, output) and the output written once; the backward
// reads x and dy twice and writes dx once.
//
// Determinism: no atomics; chunks merge in chunk order, threads and warps in a fixed tree. The
// result depends on the data, (B, C, N), L, layout and pack kind only: same inputs and launch
// shape on the same kind of GPU => same bits.
#pragma once

#include "common/types.cuh"

namespace ns {
constexpr int kNormThreads = 256;
constexpr int kNormMinBlocks = 2;       // per SM: caps registers at 128 (nothing spills on sm_90)
constexpr int kNormBytesInFlight = 32;  // per thread and input tensor, before the first use
}  // namespace ns

#define NS_IN_STATS_PARAMS(T)                                                                      \
  const T *__restrict__ x, int channels, long long positions, int num_chunks, long long chunk_len, \
      float *__restrict__ part_mean, float *__restrict__ part_m2

#define NS_IN_APPLY_PARAMS(T)                                                     \
  const T *__restrict__ x, const float4 *__restrict__ coef, float keep, int relu, \
      T *__restrict__ y, int channels, long long positions, int num_chunks, long long chunk_len

#define NS_IN_BWD_REDUCE_PARAMS(T)                                                                \
  const T *__restrict__ x, const T *__restrict__ dy, const float4 *__restrict__ coef, float keep, \
      int relu, int channels, long long positions, int num_chunks, long long chunk_len,           \
      float *__restrict__ part_g, float *__restrict__ part_gx

#define NS_IN_BWD_APPLY_PARAMS(T)                                                               \
  const T *__restrict__ x, const T *__restrict__ dy, const float4 *__restrict__ coef,           \
      const float4 *__restrict__ bcoef, float keep, int relu, T *__restrict__ dx, int channels, \
      long long positions, int num_chunks, long long chunk_len

// Shared head of the three finalize kernels.
#define NS_IN_FINALIZE_PARAMS                                                                      \
  const float *__restrict__ part_mean, const float *__restrict__ part_m2, int batch, int channels, \
      long long positions, int num_chunks, long long chunk_len, float eps

#define NS_IN_KERNEL \
  extern "C" __global__ void __launch_bounds__(ns::kNormThreads, ns::kNormMinBlocks)

// One entry point per <dtype>_<layout>_<pack>.
#define NS_IN_DECLARE(SUFFIX, T)                                      \
  NS_IN_KERNEL ns_in_stats_##SUFFIX(NS_IN_STATS_PARAMS(T));           \
  NS_IN_KERNEL ns_in_apply_##SUFFIX(NS_IN_APPLY_PARAMS(T));           \
  NS_IN_KERNEL ns_in_bwd_reduce_##SUFFIX(NS_IN_BWD_REDUCE_PARAMS(T)); \
  NS_IN_KERNEL ns_in_bwd_apply_##SUFFIX(NS_IN_BWD_APPLY_PARAMS(T));

#define NS_IN_FOR_EACH_INSTANCE(X)        \
  X(f32_nchw_vec, float, false, 4)        \
  X(f32_nchw_scalar, float, false, 1)     \
  X(f32_nhwc_vec, float, true, 4)         \
  X(f32_nhwc_scalar, float, true, 1)      \
  X(f16_nchw_vec, ns::f16, false, 8)      \
  X(f16_nchw_scalar, ns::f16, false, 1)   \
  X(f16_nhwc_vec, ns::f16, true, 8)       \
  X(f16_nhwc_scalar, ns::f16, true, 1)    \
  X(bf16_nchw_vec, ns::bf16, false, 8)    \
  X(bf16_nchw_scalar, ns::bf16, false, 1) \
  X(bf16_nhwc_vec, ns::bf16, true, 8)     \
  X(bf16_nhwc_scalar, ns::bf16, true, 1)

#define NS_IN_DECLARE_INSTANCE(SUFFIX, T, NHWC, VEC) NS_IN_DECLARE(SUFFIX, T)
NS_IN_FOR_EACH_INSTANCE(NS_IN_DECLARE_INSTANCE)
#undef NS_IN_DECLARE_INSTANCE

NS_IN_KERNEL ns_in_finalize_affine(NS_IN_FINALIZE_PARAMS, const float *__restrict__ gamma,
                                   int gamma_stride, const float *__restrict__ beta,
                                   int beta_stride, float4 *__restrict__ coef);

NS_IN_KERNEL ns_in_finalize_cin(NS_IN_FINALIZE_PARAMS, const float *__restrict__ style_weights,
                                int weights_stride, int num_styles,
                                const float *__restrict__ gamma_table,
                                const float *__restrict__ beta_table, float4 *__restrict__ coef);

NS_IN_KERNEL ns_in_finalize_adain(NS_IN_FINALIZE_PARAMS, const float *__restrict__ style_mean,
                                  const float *__restrict__ style_std, float alpha,
                                  float4 *__restrict__ coef);

NS_IN_KERNEL ns_in_bwd_finalize(const float *__restrict__ part_g, const float *__restrict__ part_gx,
                                int planes, int num_chunks, long long positions, float corr,
                                float4 *__restrict__ bcoef);
