// IN, CIN and AdaIN forward and backward. The contract (formula, layouts, launch) is
// instance_norm.h; the variants differ only in their finalize kernel.
#include "common/reduce.cuh"
#include "instance_norm/instance_norm.h"

namespace ns {
namespace {

constexpr int kThreads = kNormThreads;

// Packs each thread loads per tensor before the first use (a power of two).
template <typename T, int kVec>
constexpr int kUnrollFor = kNormBytesInFlight / (kVec * static_cast<int>(sizeof(T))) > 1
                               ? kNormBytesInFlight / (kVec * static_cast<int>(sizeof(T)))
                               : 1;

// z of the contract; the backward recomputes it with this same function for the ReLU mask.
__device__ __forceinline__ float affine(float x, const float4 &c, float keep) {
  float z = fmaf(x - c.x, c.z, c.w);
  if (keep != 0.f) z = fmaf(keep, x, z);
  return z;
}

__device__ __forceinline__ float activate(float z, int relu) { return relu && z < 0.f ? 0.f : z; }

__device__ __forceinline__ float masked(float g, float z, int relu) {
  return relu && !(z > 0.f) ? 0.f : g;
}

// Block index -> (plane or batch, chunk).
struct Chunk {
  index_t outer;
  int chunk;
};
__device__ __forceinline__ Chunk split_block(int num_chunks) {
  return Chunk{static_cast<index_t>(blockIdx.x / static_cast<unsigned>(num_chunks)),
               static_cast<int>(blockIdx.x % static_cast<unsigned>(num_chunks))};
}

// nhwc: each block owns `group` packs of channels of one batch element and walks `rows`
// positions at a time; thread (row, pack) = (tid / group, tid % group).
struct NhwcTile {
  int packs;  // C / kVec
  int group;  // packs per block
  int rows;   // positions in flight per block
  int pack;   // this thread's pack (channel group), may be >= packs
  int row;    // this thread's row, may be >= rows
  int b;
  int chunk;
};
template <int kVec>
__device__ __forceinline__ NhwcTile nhwc_tile(int channels, int num_chunks) {
  NhwcTile t;
  t.packs = channels / kVec;
  t.group = t.packs < kThreads ? t.packs : kThreads;
  t.rows = kThreads / t.group;
  const int groups = (t.packs + t.group - 1) / t.group;
  const Chunk c = split_block(num_chunks);
  t.chunk = c.chunk;
  t.b = static_cast<int>(c.outer / groups);
  t.pack = static_cast<int>(c.outer % groups) * t.group + static_cast<int>(threadIdx.x) % t.group;
  t.row = static_cast<int>(threadIdx.x) / t.group;
  return t;
}

// ---- forward statistics ------------------------------------------------------------------------

template <typename T, int kVec>
__device__ __forceinline__ void stats_nchw(NS_IN_STATS_PARAMS(T)) {
  constexpr int kUnroll = kUnrollFor<T, kVec>;
  const Chunk blk = split_block(num_chunks);
  const T *plane = x + blk.outer * positions;
  const index_t lo = blk.chunk * chunk_len / kVec;
  const index_t hi = min_index(positions, (blk.chunk + 1) * chunk_len) / kVec;
  Welford w{0.f, 0.f, 0.f};
  for (index_t p = lo + threadIdx.x; p < hi; p += kThreads * kUnroll) {
    float v[kUnroll][kVec];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (p + u * kThreads < hi) load_pack<T, kVec>(plane + (p + u * kThreads) * kVec, v[u]);
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (p + u * kThreads < hi) w = welford_merge(w, welford_of<kVec>(v[u]));
  }
  w = block_reduce<kThreads>(w);
  if (threadIdx.x == 0) {
    const index_t i = blk.outer * num_chunks + blk.chunk;
    part_mean[i] = w.mean;
    part_m2[i] = w.m2;
  }
}

template <typename T, int kVec>
__device__ __forceinline__ void stats_nhwc(NS_IN_STATS_PARAMS(T)) {
  constexpr int kUnroll = kUnrollFor<T, kVec>;
  __shared__ Welford rows_acc[kThreads][kVec];
  const NhwcTile t = nhwc_tile<kVec>(channels, num_chunks);
  const bool active = t.row < t.rows && t.pack < t.packs;
  const index_t lo = static_cast<index_t>(t.chunk) * chunk_len;
  const index_t hi = min_index(positions, lo + chunk_len);
  Welford w[kVec];
#pragma unroll
  for (int k = 0; k < kVec; ++k) w[k] = Welford{0.f, 0.f, 0.f};
  if (active) {
    const T *base = x + static_cast<index_t>(t.b) * positions * channels + t.pack * kVec;
    const int stride = t.rows;
    for (index_t n = lo + t.row; n < hi; n += static_cast<index_t>(stride) * kUnroll) {
      float v[kUnroll][kVec];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u)
        if (n + u * stride < hi) load_pack<T, kVec>(base + (n + u * stride) * channels, v[u]);
      if (n + (kUnroll - 1) * stride < hi) {
#pragma unroll
        for (int k = 0; k < kVec; ++k) {
          float column[kUnroll];
#pragma unroll
          for (int u = 0; u < kUnroll; ++u) column[u] = v[u][k];
          w[k] = welford_merge(w[k], welford_of<kUnroll>(column));
        }
      } else {
#pragma unroll
        for (int u = 0; u < kUnroll; ++u)
          if (n + u * stride < hi)
#pragma unroll
            for (int k = 0; k < kVec; ++k) w[k] = welford_merge(w[k], welford_of_one(v[u][k]));
      }
    }
  }
#pragma unroll
  for (int k = 0; k < kVec; ++k) rows_acc[threadIdx.x][k] = w[k];
  __syncthreads();
  if (t.row == 0 && t.pack < t.packs) {
    for (int r = 1; r < t.rows; ++r)
#pragma unroll
      for (int k = 0; k < kVec; ++k)
        w[k] = welford_merge(w[k], rows_acc[r * t.group + threadIdx.x][k]);
#pragma unroll
    for (int k = 0; k < kVec; ++k) {
      const index_t i =
          (static_cast<index_t>(t.b) * channels + t.pack * kVec + k) * num_chunks + t.chunk;
      part_mean[i] = w[k].mean;
      part_m2[i] = w[k].m2;
    }
  }
}

// ---- forward output ----------------------------------------------------------------------------

template <typename T, int kVec>
__device__ __forceinline__ void apply_nchw(NS_IN_APPLY_PARAMS(T)) {
  constexpr int kUnroll = kUnrollFor<T, kVec>;
  const Chunk blk = split_block(num_chunks);
  const float4 c = coef[blk.outer];
  const index_t offset = blk.outer * positions;
  const index_t lo = blk.chunk * chunk_len / kVec;
  const index_t hi = min_index(positions, (blk.chunk + 1) * chunk_len) / kVec;
  for (index_t p = lo + threadIdx.x; p < hi; p += kThreads * kUnroll) {
    float v[kUnroll][kVec];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (p + u * kThreads < hi) load_pack<T, kVec>(x + offset + (p + u * kThreads) * kVec, v[u]);
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (p + u * kThreads < hi) {
#pragma unroll
        for (int k = 0; k < kVec; ++k) v[u][k] = activate(affine(v[u][k], c, keep), relu);
        store_pack<T, kVec>(y + offset + (p + u * kThreads) * kVec, v[u]);
      }
  }
}

// nhwc elementwise walk over the packs of one batch element's chunk: thread t takes packs
// lo + t, lo + t + kThreads, ...; `pack` follows the channel group incrementally (no division
// per element).
template <int kVec>
struct NhwcWalk {
  index_t lo, hi, offset;
  index_t coef_offset;
  int packs, step, pack;
  __device__ __forceinline__ NhwcWalk(int channels, index_t positions, int num_chunks,
                                      index_t chunk_len) {
    const Chunk blk = split_block(num_chunks);
    packs = channels / kVec;
    const index_t first = static_cast<index_t>(blk.chunk) * chunk_len;
    lo = first * packs;
    hi = min_index(positions, first + chunk_len) * packs;
    offset = blk.outer * positions * channels;
    coef_offset = blk.outer * channels;
    step = kThreads % packs;
    pack = static_cast<int>((lo + threadIdx.x) % packs);
  }
  __device__ __forceinline__ int next() {
    const int current = pack;
    pack += step;
    if (pack >= packs) pack -= packs;
    return current;
  }
};

template <typename T, int kVec>
__device__ __forceinline__ void apply_nhwc(NS_IN_APPLY_PARAMS(T)) {
  constexpr int kUnroll = kUnrollFor<T, kVec>;
  NhwcWalk<kVec> walk(channels, positions, num_chunks, chunk_len);
  const float4 *c = coef + walk.coef_offset;
  for (index_t p = walk.lo + threadIdx.x; p < walk.hi; p += kThreads * kUnroll) {
    float v[kUnroll][kVec];
    int pack[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      pack[u] = walk.next();
      if (p + u * kThreads < walk.hi)
        load_pack<T, kVec>(x + walk.offset + (p + u * kThreads) * kVec, v[u]);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (p + u * kThreads < walk.hi) {
#pragma unroll
        for (int k = 0; k < kVec; ++k)
          v[u][k] = activate(affine(v[u][k], c[pack[u] * kVec + k], keep), relu);
        store_pack<T, kVec>(y + walk.offset + (p + u * kThreads) * kVec, v[u]);
      }
  }
}

// ---- backward ----------------------------------------------------------------------------------

// Adds g and g x^ of kVec elements to the running sums.
template <int kVec>
__device__ __forceinline__ void accumulate_grad(const float (&xv)[kVec], const float (&gv)[kVec],
                                                const float4 &c, float keep, int relu, float &sum_g,
                                                float &sum_gx) {
#pragma unroll
  for (int k = 0; k < kVec; ++k) {
    const float g = masked(gv[k], affine(xv[k], c, keep), relu);
    sum_g += g;
    sum_gx = fmaf(g, (xv[k] - c.x) * c.y, sum_gx);
  }
}

__device__ __forceinline__ float input_grad(float x, float dy, const float4 &c, const float4 &bc,
                                            float keep, int relu) {
  const float g = masked(dy, affine(x, c, keep), relu);
  const float xhat = (x - c.x) * c.y;
  float dx = c.z * fmaf(-xhat, bc.w, g - bc.z);
  if (keep != 0.f) dx = fmaf(keep, g, dx);
  return dx;
}

template <typename T, int kVec>
__device__ __forceinline__ void bwd_reduce_nchw(NS_IN_BWD_REDUCE_PARAMS(T)) {
  constexpr int kUnroll = kUnrollFor<T, kVec>;
  const Chunk blk = split_block(num_chunks);
  const float4 c = coef[blk.outer];
  const index_t offset = blk.outer * positions;
  const index_t lo = blk.chunk * chunk_len / kVec;
  const index_t hi = min_index(positions, (blk.chunk + 1) * chunk_len) / kVec;
  float sum_g = 0.f, sum_gx = 0.f;
  for (index_t p = lo + threadIdx.x; p < hi; p += kThreads * kUnroll) {
    float xv[kUnroll][kVec], gv[kUnroll][kVec];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (p + u * kThreads < hi) {
        load_pack<T, kVec>(x + offset + (p + u * kThreads) * kVec, xv[u]);
        load_pack<T, kVec>(dy + offset + (p + u * kThreads) * kVec, gv[u]);
      }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (p + u * kThreads < hi) accumulate_grad<kVec>(xv[u], gv[u], c, keep, relu, sum_g, sum_gx);
  }
  const float2 s = block_sum2<kThreads>(sum_g, sum_gx);
  if (threadIdx.x == 0) {
    const index_t i = blk.outer * num_chunks + blk.chunk;
    part_g[i] = s.x;
    part_gx[i] = s.y;
  }
}

template <typename T, int kVec>
__device__ __forceinline__ void bwd_reduce_nhwc(NS_IN_BWD_REDUCE_PARAMS(T)) {
  constexpr int kUnroll = kUnrollFor<T, kVec>;
  __shared__ float2 rows_acc[kThreads][kVec];
  const NhwcTile t = nhwc_tile<kVec>(channels, num_chunks);
  const bool active = t.row < t.rows && t.pack < t.packs;
  const index_t lo = static_cast<index_t>(t.chunk) * chunk_len;
  const index_t hi = min_index(positions, lo + chunk_len);
  float sum_g[kVec], sum_gx[kVec];
  float4 c[kVec];
#pragma unroll
  for (int k = 0; k < kVec; ++k) {
    sum_g[k] = 0.f;
    sum_gx[k] = 0.f;
    c[k] = active ? coef[static_cast<index_t>(t.b) * channels + t.pack * kVec + k]
                  : float4{0.f, 0.f, 0.f, 0.f};
  }
  if (active) {
    const index_t offset = static_cast<index_t>(t.b) * positions * channels + t.pack * kVec;
    const int stride = t.rows;
    for (index_t n = lo + t.row; n < hi; n += static_cast<index_t>(stride) * kUnroll) {
      float xv[kUnroll][kVec], gv[kUnroll][kVec];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u)
        if (n + u * stride < hi) {
          load_pack<T, kVec>(x + offset + (n + u * stride) * channels, xv[u]);
          load_pack<T, kVec>(dy + offset + (n + u * stride) * channels, gv[u]);
        }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u)
        if (n + u * stride < hi)
#pragma unroll
          for (int k = 0; k < kVec; ++k) {
            const float g = masked(gv[u][k], affine(xv[u][k], c[k], keep), relu);
            sum_g[k] += g;
            sum_gx[k] = fmaf(g, (xv[u][k] - c[k].x) * c[k].y, sum_gx[k]);
          }
    }
  }
#pragma unroll
  for (int k = 0; k < kVec; ++k) rows_acc[threadIdx.x][k] = float2{sum_g[k], sum_gx[k]};
  __syncthreads();
  if (t.row == 0 && t.pack < t.packs) {
    for (int r = 1; r < t.rows; ++r)
#pragma unroll
      for (int k = 0; k < kVec; ++k) {
        const float2 o = rows_acc[r * t.group + threadIdx.x][k];
        sum_g[k] += o.x;
        sum_gx[k] += o.y;
      }
#pragma unroll
    for (int k = 0; k < kVec; ++k) {
      const index_t i =
          (static_cast<index_t>(t.b) * channels + t.pack * kVec + k) * num_chunks + t.chunk;
      part_g[i] = sum_g[k];
      part_gx[i] = sum_gx[k];
    }
  }
}

template <typename T, int kVec>
__device__ __forceinline__ void bwd_apply_nchw(NS_IN_BWD_APPLY_PARAMS(T)) {
  constexpr int kUnroll = kUnrollFor<T, kVec>;
  const Chunk blk = split_block(num_chunks);
  const float4 c = coef[blk.outer];
  const float4 bc = bcoef[blk.outer];
  const index_t offset = blk.outer * positions;
  const index_t lo = blk.chunk * chunk_len / kVec;
  const index_t hi = min_index(positions, (blk.chunk + 1) * chunk_len) / kVec;
  for (index_t p = lo + threadIdx.x; p < hi; p += kThreads * kUnroll) {
    float xv[kUnroll][kVec], gv[kUnroll][kVec];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (p + u * kThreads < hi) {
        load_pack<T, kVec>(x + offset + (p + u * kThreads) * kVec, xv[u]);
        load_pack<T, kVec>(dy + offset + (p + u * kThreads) * kVec, gv[u]);
      }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (p + u * kThreads < hi) {
#pragma unroll
        for (int k = 0; k < kVec; ++k) xv[u][k] = input_grad(xv[u][k], gv[u][k], c, bc, keep, relu);
        store_pack<T, kVec>(dx + offset + (p + u * kThreads) * kVec, xv[u]);
      }
  }
}

template <typename T, int kVec>
__device__ __forceinline__ void bwd_apply_nhwc(NS_IN_BWD_APPLY_PARAMS(T)) {
  constexpr int kUnroll = kUnrollFor<T, kVec>;
  NhwcWalk<kVec> walk(channels, positions, num_chunks, chunk_len);
  const float4 *c = coef + walk.coef_offset;
  const float4 *bc = bcoef + walk.coef_offset;
  for (index_t p = walk.lo + threadIdx.x; p < walk.hi; p += kThreads * kUnroll) {
    float xv[kUnroll][kVec], gv[kUnroll][kVec];
    int pack[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      pack[u] = walk.next();
      if (p + u * kThreads < walk.hi) {
        load_pack<T, kVec>(x + walk.offset + (p + u * kThreads) * kVec, xv[u]);
        load_pack<T, kVec>(dy + walk.offset + (p + u * kThreads) * kVec, gv[u]);
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (p + u * kThreads < walk.hi) {
#pragma unroll
        for (int k = 0; k < kVec; ++k) {
          const int ch = pack[u] * kVec + k;
          xv[u][k] = input_grad(xv[u][k], gv[u][k], c[ch], bc[ch], keep, relu);
        }
        store_pack<T, kVec>(dx + walk.offset + (p + u * kThreads) * kVec, xv[u]);
      }
  }
}

// ---- finalize ----------------------------------------------------------------------------------

// Merges the chunk statistics of the thread's plane (b, c) in chunk order; false past the end.
__device__ __forceinline__ bool plane_stats(const float *__restrict__ part_mean,
                                            const float *__restrict__ part_m2, int batch,
                                            int channels, index_t positions, int num_chunks,
                                            index_t chunk_len, int &plane, float &mean, float &m2) {
  const index_t i = static_cast<index_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (i >= static_cast<index_t>(batch) * channels) return false;
  plane = static_cast<int>(i);
  Welford w{0.f, 0.f, 0.f};
  for (int s = 0; s < num_chunks; ++s) {
    const index_t first = static_cast<index_t>(s) * chunk_len;
    const float count = static_cast<float>(min_index(chunk_len, positions - first));
    w = welford_merge(w,
                      Welford{part_mean[i * num_chunks + s], part_m2[i * num_chunks + s], count});
  }
  mean = w.mean;
  m2 = w.m2;
  return true;
}

}  // namespace
}  // namespace ns

NS_IN_KERNEL ns_in_finalize_affine(NS_IN_FINALIZE_PARAMS, const float *__restrict__ gamma,
                                   int gamma_stride, const float *__restrict__ beta,
                                   int beta_stride, float4 *__restrict__ coef) {
  int plane;
  float mean, m2;
  if (!ns::plane_stats(part_mean, part_m2, batch, channels, positions, num_chunks, chunk_len, plane,
                       mean, m2))
    return;
  const int b = plane / channels;
  const int c = plane % channels;
  const float rstd = 1.f / sqrtf(m2 / static_cast<float>(positions) + eps);
  const float g = gamma ? gamma[b * gamma_stride + c] : 1.f;
  const float s = beta ? beta[b * beta_stride + c] : 0.f;
  coef[plane] = float4{mean, rstd, g * rstd, s};
}

NS_IN_KERNEL ns_in_finalize_cin(NS_IN_FINALIZE_PARAMS, const float *__restrict__ style_weights,
                                int weights_stride, int num_styles,
                                const float *__restrict__ gamma_table,
                                const float *__restrict__ beta_table, float4 *__restrict__ coef) {
  int plane;
  float mean, m2;
  if (!ns::plane_stats(part_mean, part_m2, batch, channels, positions, num_chunks, chunk_len, plane,
                       mean, m2))
    return;
  const int b = plane / channels;
  const int c = plane % channels;
  const float rstd = 1.f / sqrtf(m2 / static_cast<float>(positions) + eps);
  float g = 0.f, s = 0.f;
  for (int k = 0; k < num_styles; ++k) {
    const float w = style_weights[b * weights_stride + k];
    g = fmaf(w, gamma_table[k * channels + c], g);
    s = fmaf(w, beta_table[k * channels + c], s);
  }
  coef[plane] = float4{mean, rstd, g * rstd, s};
}

NS_IN_KERNEL ns_in_finalize_adain(NS_IN_FINALIZE_PARAMS, const float *__restrict__ style_mean,
                                  const float *__restrict__ style_std, float alpha,
                                  float4 *__restrict__ coef) {
  int plane;
  float mean, m2;
  if (!ns::plane_stats(part_mean, part_m2, batch, channels, positions, num_chunks, chunk_len, plane,
                       mean, m2))
    return;
  const float rstd = 1.f / sqrtf(m2 / static_cast<float>(positions - 1) + eps);
  coef[plane] = float4{mean, rstd, alpha * style_std[plane] * rstd, alpha * style_mean[plane]};
}

NS_IN_KERNEL ns_in_bwd_finalize(const float *__restrict__ part_g, const float *__restrict__ part_gx,
                                int planes, int num_chunks, long long positions, float corr,
                                float4 *__restrict__ bcoef) {
  const ns::index_t plane = static_cast<ns::index_t>(blockIdx.x) * ns::kNormThreads + threadIdx.x;
  if (plane >= planes) return;
  float g = 0.f, gx = 0.f;
  for (int s = 0; s < num_chunks; ++s) {
    g += part_g[plane * num_chunks + s];
    gx += part_gx[plane * num_chunks + s];
  }
  bcoef[plane] = float4{g, gx, g / static_cast<float>(positions), gx / corr};
}

#define NS_IN_DEFINE_INSTANCE(SUFFIX, T, NHWC, VEC)                                               \
  NS_IN_KERNEL ns_in_stats_##SUFFIX(NS_IN_STATS_PARAMS(T)) {                                      \
    if constexpr (NHWC)                                                                           \
      ns::stats_nhwc<T, VEC>(x, channels, positions, num_chunks, chunk_len, part_mean, part_m2);  \
    else                                                                                          \
      ns::stats_nchw<T, VEC>(x, channels, positions, num_chunks, chunk_len, part_mean, part_m2);  \
  }                                                                                               \
  NS_IN_KERNEL ns_in_apply_##SUFFIX(NS_IN_APPLY_PARAMS(T)) {                                      \
    if constexpr (NHWC)                                                                           \
      ns::apply_nhwc<T, VEC>(x, coef, keep, relu, y, channels, positions, num_chunks, chunk_len); \
    else                                                                                          \
      ns::apply_nchw<T, VEC>(x, coef, keep, relu, y, channels, positions, num_chunks, chunk_len); \
  }                                                                                               \
  NS_IN_KERNEL ns_in_bwd_reduce_##SUFFIX(NS_IN_BWD_REDUCE_PARAMS(T)) {                            \
    if constexpr (NHWC)                                                                           \
      ns::bwd_reduce_nhwc<T, VEC>(x, dy, coef, keep, relu, channels, positions, num_chunks,       \
                                  chunk_len, part_g, part_gx);                                    \
    else                                                                                          \
      ns::bwd_reduce_nchw<T, VEC>(x, dy, coef, keep, relu, channels, positions, num_chunks,       \
                                  chunk_len, part_g, part_gx);                                    \
  }                                                                                               \
  NS_IN_KERNEL ns_in_bwd_apply_##SUFFIX(NS_IN_BWD_APPLY_PARAMS(T)) {                              \
    if constexpr (NHWC)                                                                           \
      ns::bwd_apply_nhwc<T, VEC>(x, dy, coef, bcoef, keep, relu, dx, channels, positions,         \
                                 num_chunks, chunk_len);                                          \
    else                                                                                          \
      ns::bwd_apply_nchw<T, VEC>(x, dy, coef, bcoef, keep, relu, dx, channels, positions,         \
                                 num_chunks, chunk_len);                                          \
  }

NS_IN_FOR_EACH_INSTANCE(NS_IN_DEFINE_INSTANCE)
