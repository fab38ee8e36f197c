// Deterministic reductions: Welford/Chan statistics and sums with a fixed combination order.
//
// No float atomics anywhere: every partial result has one writer, and partials are combined in
// an order fixed by the launch shape (warp tree, then warps in index order, then chunks in index
// order), so the same input on the same kind of GPU gives the same bits.
#pragma once

namespace ns {

// Running mean and sum of squared deviations (m2) of `count` values.
struct Welford {
  float mean;
  float m2;
  float count;
};

// Chan et al. (1979) pairwise merge. Not commutative bit for bit: callers fix the operand order.
__device__ __forceinline__ Welford welford_merge(const Welford &a, const Welford &b) {
  if (b.count == 0.f) return a;
  if (a.count == 0.f) return b;
  const float count = a.count + b.count;
  const float w = __fdividef(b.count, count);  // counts stay far below 2^126
  const float delta = b.mean - a.mean;
  return Welford{fmaf(delta, w, a.mean), a.m2 + b.m2 + delta * delta * a.count * w, count};
}

// Exact two-pass statistics of a small group (kN a power of two, so 1/kN is exact): one merge,
// hence one division, per group instead of per value.
template <int kN>
__device__ __forceinline__ Welford welford_of(const float (&v)[kN]) {
  float sum = 0.f;
#pragma unroll
  for (int i = 0; i < kN; ++i) sum += v[i];
  const float mean = sum * (1.f / static_cast<float>(kN));
  float m2 = 0.f;
#pragma unroll
  for (int i = 0; i < kN; ++i) {
    const float d = v[i] - mean;
    m2 = fmaf(d, d, m2);
  }
  return Welford{mean, m2, static_cast<float>(kN)};
}

__device__ __forceinline__ Welford welford_of_one(float v) { return Welford{v, 0.f, 1.f}; }

// Tree over the warp; the result is valid in lane 0.
__device__ __forceinline__ Welford warp_reduce(Welford w) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
    const Welford other{__shfl_down_sync(0xffffffffu, w.mean, offset),
                        __shfl_down_sync(0xffffffffu, w.m2, offset),
                        __shfl_down_sync(0xffffffffu, w.count, offset)};
    w = welford_merge(w, other);
  }
  return w;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

// Whole-block reduction: warp trees, then thread 0 merges the warps in index order. Every thread
// of the block must call it; the result is valid in thread 0 only.
template <int kThreads>
__device__ __forceinline__ Welford block_reduce(Welford w) {
  static_assert(kThreads % 32 == 0, "whole warps only");
  __shared__ Welford warps[kThreads / 32];
  w = warp_reduce(w);
  if ((threadIdx.x & 31) == 0) warps[threadIdx.x >> 5] = w;
  __syncthreads();
  if (threadIdx.x == 0) {
    w = warps[0];
#pragma unroll
    for (int i = 1; i < kThreads / 32; ++i) w = welford_merge(w, warps[i]);
  }
  return w;
}

// Same for a pair of sums.
template <int kThreads>
__device__ __forceinline__ float2 block_sum2(float a, float b) {
  static_assert(kThreads % 32 == 0, "whole warps only");
  __shared__ float2 warps[kThreads / 32];
  a = warp_sum(a);
  b = warp_sum(b);
  if ((threadIdx.x & 31) == 0) warps[threadIdx.x >> 5] = make_float2(a, b);
  __syncthreads();
  float2 r = make_float2(a, b);
  if (threadIdx.x == 0) {
    r = warps[0];
#pragma unroll
    for (int i = 1; i < kThreads / 32; ++i) {
      r.x += warps[i].x;
      r.y += warps[i].y;
    }
  }
  return r;
}

}  // namespace ns
