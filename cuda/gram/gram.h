// Gram matrix G = F F^T / N of feature maps, and its backward. The contract of cuda/gram/gram.cu.
//
// Shapes (B batch, C channels, N = H*W positions; all sizes > 0):
//   F   (B, C, N) features, float32 | float16 | bfloat16, dense in one of two layouts:
//         nchw: F[b, c, n] at ((b * C) + c) * N + n          (torch contiguous)
//         nhwc: F[b, c, n] at ((b * N) + n) * C + c          (torch channels_last)
//   G   (B, C, C) float32, contiguous, whatever the dtype of F. Products are accumulated in
//       float32 and divided by N once at the end: float16/bfloat16 features cannot overflow.
//   dG  (B, C, C) float32, contiguous (backward input); sym (B, C, C) float32 workspace.
//   dF  (B, C, N) same dtype and layout as F (backward output): dF = (dG + dG^T) F / N.
//
// Launch (every kernel: 1-D grid, kGramThreads threads, no dynamic shared memory, any stream):
//   forward, step 1  ns_gram_partial_<dtype>_<layout>
//       C is cut into T = t(t+1)/2 upper-triangle tiles of kGramTile x kGramTile (t = ceil(C/64));
//       N is cut into S slices of `slice_len` positions (a multiple of kGramDepth, the last one
//       shorter; S = ceil(N / slice_len)). grid = B * T * S blocks, block (b, tile, slice) =
//       ((b * T) + tile) * S + slice; tile index runs row by row over the upper triangle:
//       (0,0), (0,1) .. (0,t-1), (1,1) .. (t-1,t-1).
//       S == 1: the kernel writes G (both triangles) and `partial` is not touched (may be null).
//       S > 1:  it writes partial[((b * T + tile) * S + slice) * 64 * 64 + i * 64 + j], every
//               entry, unscaled; step 2 is required.
//   forward, step 2  ns_gram_reduce (only when S > 1)
//       grid = ceil(B * C * C / kGramThreads); sums the S slices in slice order, divides by N,
//       writes every element of G. G[b, i, j] and G[b, j, i] are the same sum: G is exactly
//       symmetric.
//   backward, step 1 ns_gram_symmetrize
//       grid = ceil(B * C * C / kGramThreads); sym = (dG + dG^T) / N, float32 (B, C, C),
//       contiguous, exactly symmetric.
//   backward, step 2 ns_gram_backward_<dtype>_<layout>
//       grid = B * ceil(C / 64) * ceil(N / 64) blocks; block ((b * ceil(C/64)) + ct) *
//       ceil(N/64) + nt computes the 64 x 64 tile (channels ct, positions nt) of dF = sym F,
//       summing over all C in channel order. Writes every element of dF.
//
// Determinism: no atomics; each output has one writer and every sum runs in an order fixed by
// (B, C, N, slice_len). Same inputs and launch shape on the same kind of GPU => same bits.
//
// <dtype> is f32 | f16 | bf16 (ns::f16, ns::bf16 are the raw 16-bit patterns), <layout> is
// nchw | nhwc. All pointers are device pointers; F and dF may not alias G, dG or partial.
#pragma once

#include "common/types.cuh"

namespace ns {
constexpr int kGramThreads = 256;  // 16 x 16 threads, 4 x 4 outputs each
constexpr int kGramTile = 64;      // output tile edge (channels)
constexpr int kGramDepth = 32;     // positions per shared-memory step
constexpr int kGramMinBlocks = 2;  // per SM: caps registers at 128, where nothing spills (sm_90)
}  // namespace ns

#define NS_GRAM_PARTIAL_PARAMS(T)                                                    \
  const T *__restrict__ features, int channels, long long positions, int num_slices, \
      long long slice_len, float *__restrict__ partial, float *__restrict__ gram

#define NS_GRAM_BACKWARD_PARAMS(T)                                                     \
  const float *__restrict__ sym, const T *__restrict__ features, T *__restrict__ grad, \
      int channels, long long positions

#define NS_GRAM_KERNEL \
  extern "C" __global__ void __launch_bounds__(ns::kGramThreads, ns::kGramMinBlocks)

NS_GRAM_KERNEL ns_gram_partial_f32_nchw(NS_GRAM_PARTIAL_PARAMS(float));
NS_GRAM_KERNEL ns_gram_partial_f32_nhwc(NS_GRAM_PARTIAL_PARAMS(float));
NS_GRAM_KERNEL ns_gram_partial_f16_nchw(NS_GRAM_PARTIAL_PARAMS(ns::f16));
NS_GRAM_KERNEL ns_gram_partial_f16_nhwc(NS_GRAM_PARTIAL_PARAMS(ns::f16));
NS_GRAM_KERNEL ns_gram_partial_bf16_nchw(NS_GRAM_PARTIAL_PARAMS(ns::bf16));
NS_GRAM_KERNEL ns_gram_partial_bf16_nhwc(NS_GRAM_PARTIAL_PARAMS(ns::bf16));

NS_GRAM_KERNEL ns_gram_reduce(const float *__restrict__ partial, int batch, int channels,
                              long long positions, int num_slices, float *__restrict__ gram);

NS_GRAM_KERNEL ns_gram_symmetrize(const float *__restrict__ grad_gram, int batch, int channels,
                                  long long positions, float *__restrict__ sym);

NS_GRAM_KERNEL ns_gram_backward_f32_nchw(NS_GRAM_BACKWARD_PARAMS(float));
NS_GRAM_KERNEL ns_gram_backward_f32_nhwc(NS_GRAM_BACKWARD_PARAMS(float));
NS_GRAM_KERNEL ns_gram_backward_f16_nchw(NS_GRAM_BACKWARD_PARAMS(ns::f16));
NS_GRAM_KERNEL ns_gram_backward_f16_nhwc(NS_GRAM_BACKWARD_PARAMS(ns::f16));
NS_GRAM_KERNEL ns_gram_backward_bf16_nchw(NS_GRAM_BACKWARD_PARAMS(ns::bf16));
NS_GRAM_KERNEL ns_gram_backward_bf16_nhwc(NS_GRAM_BACKWARD_PARAMS(ns::bf16));
