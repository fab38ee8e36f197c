// Gram matrix forward and backward. The contract (shapes, layouts, launch) is gram.h.
#include "gram/gram.h"

namespace ns {
namespace {

constexpr int kLd = kGramTile + 1;  // padded rows: column-wise shared-memory writes hit 32 banks
constexpr int kPerThread = kGramTile * kGramDepth / kGramThreads;
constexpr int kMicro = kGramTile / 16;  // outputs per thread along each tile edge
static_assert(kGramThreads == 256 && kGramTile == 64 && kGramDepth == 32, "index math below");

__device__ __forceinline__ int ceil_div(int a, int b) { return (a + b - 1) / b; }

// tile[k][c] = F[c0 + c, k0 + k] as float, zero outside [0, C) x [k0, k_end). Consecutive threads
// walk the unit-stride dimension of the layout, so every warp reads contiguous memory.
template <typename T, bool kNhwc>
__device__ __forceinline__ void load_features(const T *__restrict__ f, int channels,
                                              index_t positions, int c0, index_t k0, index_t k_end,
                                              float (*tile)[kLd]) {
#pragma unroll
  for (int r = 0; r < kPerThread; ++r) {
    const int e = threadIdx.x + r * kGramThreads;
    const int kk = kNhwc ? e / kGramTile : e % kGramDepth;
    const int cc = kNhwc ? e % kGramTile : e / kGramDepth;
    const int c = c0 + cc;
    const index_t k = k0 + kk;
    float v = 0.f;
    if (c < channels && k < k_end) v = to_float(kNhwc ? f[k * channels + c] : f[c * positions + k]);
    tile[kk][cc] = v;
  }
}

template <typename T, bool kNhwc>
__device__ __forceinline__ void gram_partial(NS_GRAM_PARTIAL_PARAMS(T)) {
  __shared__ float row_tile[kGramDepth][kLd];
  __shared__ float col_tile[kGramDepth][kLd];

  const int tiles_1d = ceil_div(channels, kGramTile);
  const int tiles = tiles_1d * (tiles_1d + 1) / 2;
  const int slice = static_cast<int>(blockIdx.x % static_cast<unsigned>(num_slices));
  const int rest = static_cast<int>(blockIdx.x / static_cast<unsigned>(num_slices));
  const int b = rest / tiles;
  int t = rest % tiles;
  int ti = 0;
  while (t >= tiles_1d - ti) {
    t -= tiles_1d - ti;
    ++ti;
  }
  const int tj = ti + t;
  const bool diagonal = ti == tj;  // one tile serves as both operands: half the reads
  const int ci = ti * kGramTile;
  const int cj = tj * kGramTile;

  const T *f = features + static_cast<index_t>(b) * channels * positions;
  const index_t k_begin = static_cast<index_t>(slice) * slice_len;
  const index_t k_end = min_index(positions, k_begin + slice_len);
  const int tx = threadIdx.x % 16;
  const int ty = threadIdx.x / 16;

  float acc[kMicro][kMicro] = {};
  for (index_t k0 = k_begin; k0 < k_end; k0 += kGramDepth) {
    load_features<T, kNhwc>(f, channels, positions, ci, k0, k_end, row_tile);
    if (!diagonal) load_features<T, kNhwc>(f, channels, positions, cj, k0, k_end, col_tile);
    __syncthreads();
    const float (*cols)[kLd] = diagonal ? row_tile : col_tile;
#pragma unroll
    for (int kk = 0; kk < kGramDepth; ++kk) {
      float a[kMicro], c[kMicro];
#pragma unroll
      for (int m = 0; m < kMicro; ++m) {
        a[m] = row_tile[kk][ty + 16 * m];
        c[m] = cols[kk][tx + 16 * m];
      }
#pragma unroll
      for (int m = 0; m < kMicro; ++m)
#pragma unroll
        for (int q = 0; q < kMicro; ++q) acc[m][q] = fmaf(a[m], c[q], acc[m][q]);
    }
    __syncthreads();
  }

  if (num_slices == 1) {
    const float n = static_cast<float>(positions);
    float *g = gram + static_cast<index_t>(b) * channels * channels;
#pragma unroll
    for (int m = 0; m < kMicro; ++m)
#pragma unroll
      for (int q = 0; q < kMicro; ++q) {
        const int i = ci + ty + 16 * m;
        const int j = cj + tx + 16 * q;
        if (i < channels && j < channels && (!diagonal || i <= j)) {
          const float v = acc[m][q] / n;
          g[static_cast<index_t>(i) * channels + j] = v;
          g[static_cast<index_t>(j) * channels + i] = v;
        }
      }
  } else {
    float *out = partial + static_cast<index_t>(blockIdx.x) * kGramTile * kGramTile;
#pragma unroll
    for (int m = 0; m < kMicro; ++m)
#pragma unroll
      for (int q = 0; q < kMicro; ++q) out[(ty + 16 * m) * kGramTile + tx + 16 * q] = acc[m][q];
  }
}

template <typename T, bool kNhwc>
__device__ __forceinline__ void gram_backward(NS_GRAM_BACKWARD_PARAMS(T)) {
  __shared__ float sym_tile[kGramDepth][kLd];   // [j][c] = sym[c0 + c, j0 + j]
  __shared__ float feat_tile[kGramDepth][kLd];  // [j][n] = F[j0 + j, n0 + n]

  const int c_tiles = ceil_div(channels, kGramTile);
  const unsigned n_tiles = static_cast<unsigned>((positions + kGramTile - 1) / kGramTile);
  const index_t n0 = static_cast<index_t>(blockIdx.x % n_tiles) * kGramTile;
  const int rest = static_cast<int>(blockIdx.x / n_tiles);
  const int c0 = (rest % c_tiles) * kGramTile;
  const int b = rest / c_tiles;

  const float *s = sym + static_cast<index_t>(b) * channels * channels;
  const index_t offset = static_cast<index_t>(b) * channels * positions;
  const T *f = features + offset;
  T *df = grad + offset;
  // Output roles: the unit-stride dimension of the layout goes to tx, so stores coalesce.
  const int tx = threadIdx.x % 16;
  const int ty = threadIdx.x / 16;
  const int tc = kNhwc ? tx : ty;
  const int tn = kNhwc ? ty : tx;

  float acc[kMicro][kMicro] = {};
  for (int j0 = 0; j0 < channels; j0 += kGramDepth) {
#pragma unroll
    for (int r = 0; r < kPerThread; ++r) {
      const int e = threadIdx.x + r * kGramThreads;
      const int cc = e % kGramTile;
      const int jj = e / kGramTile;
      const int c = c0 + cc;
      const int j = j0 + jj;
      // sym is symmetric: read row j so that consecutive threads read consecutive c.
      sym_tile[jj][cc] =
          (c < channels && j < channels) ? s[static_cast<index_t>(j) * channels + c] : 0.f;
    }
#pragma unroll
    for (int r = 0; r < kPerThread; ++r) {
      const int e = threadIdx.x + r * kGramThreads;
      const int jj = kNhwc ? e % kGramDepth : e / kGramTile;
      const int nn = kNhwc ? e / kGramDepth : e % kGramTile;
      const int j = j0 + jj;
      const index_t n = n0 + nn;
      float v = 0.f;
      if (j < channels && n < positions)
        v = to_float(kNhwc ? f[n * channels + j] : f[j * positions + n]);
      feat_tile[jj][nn] = v;
    }
    __syncthreads();
#pragma unroll
    for (int jj = 0; jj < kGramDepth; ++jj) {
      float a[kMicro], c[kMicro];
#pragma unroll
      for (int m = 0; m < kMicro; ++m) {
        a[m] = sym_tile[jj][tc + 16 * m];
        c[m] = feat_tile[jj][tn + 16 * m];
      }
#pragma unroll
      for (int m = 0; m < kMicro; ++m)
#pragma unroll
        for (int q = 0; q < kMicro; ++q) acc[m][q] = fmaf(a[m], c[q], acc[m][q]);
    }
    __syncthreads();
  }

#pragma unroll
  for (int m = 0; m < kMicro; ++m)
#pragma unroll
    for (int q = 0; q < kMicro; ++q) {
      const int c = c0 + tc + 16 * m;
      const index_t n = n0 + tn + 16 * q;
      if (c < channels && n < positions)
        df[kNhwc ? n * channels + c : c * positions + n] = from_float<T>(acc[m][q]);
    }
}

}  // namespace
}  // namespace ns

NS_GRAM_KERNEL ns_gram_reduce(const float *__restrict__ partial, int batch, int channels,
                              long long positions, int num_slices, float *__restrict__ gram) {
  using ns::index_t;
  const index_t idx = static_cast<index_t>(blockIdx.x) * ns::kGramThreads + threadIdx.x;
  if (idx >= static_cast<index_t>(batch) * channels * channels) return;
  const int j = static_cast<int>(idx % channels);
  const int i = static_cast<int>((idx / channels) % channels);
  const int b = static_cast<int>(idx / (static_cast<index_t>(channels) * channels));
  // (i, j) and (j, i) read the same partials in the same order: G is exactly symmetric.
  const int lo = i < j ? i : j;
  const int hi = i < j ? j : i;
  const int tiles_1d = ns::ceil_div(channels, ns::kGramTile);
  const int tiles = tiles_1d * (tiles_1d + 1) / 2;
  const int ti = lo / ns::kGramTile;
  const int tj = hi / ns::kGramTile;
  const int tile = ti * tiles_1d - ti * (ti - 1) / 2 + (tj - ti);
  const float *p =
      partial +
      (static_cast<index_t>(b) * tiles + tile) * num_slices * ns::kGramTile * ns::kGramTile +
      (lo % ns::kGramTile) * ns::kGramTile + hi % ns::kGramTile;
  float sum = 0.f;
  for (int s = 0; s < num_slices; ++s)
    sum += p[static_cast<index_t>(s) * ns::kGramTile * ns::kGramTile];
  gram[idx] = sum / static_cast<float>(positions);
}

NS_GRAM_KERNEL ns_gram_symmetrize(const float *__restrict__ grad_gram, int batch, int channels,
                                  long long positions, float *__restrict__ sym) {
  using ns::index_t;
  const index_t idx = static_cast<index_t>(blockIdx.x) * ns::kGramThreads + threadIdx.x;
  const index_t plane = static_cast<index_t>(channels) * channels;
  if (idx >= batch * plane) return;
  const index_t base = idx - idx % plane;
  const index_t i = (idx % plane) / channels;
  const index_t j = idx % channels;
  const float lo = grad_gram[base + (i < j ? i : j) * channels + (i < j ? j : i)];
  const float hi = grad_gram[base + (i < j ? j : i) * channels + (i < j ? i : j)];
  sym[idx] = (lo + hi) / static_cast<float>(positions);
}

#define NS_GRAM_INSTANCE(SUFFIX, T, NHWC)                                                    \
  NS_GRAM_KERNEL ns_gram_partial_##SUFFIX(NS_GRAM_PARTIAL_PARAMS(T)) {                       \
    ns::gram_partial<T, NHWC>(features, channels, positions, num_slices, slice_len, partial, \
                              gram);                                                         \
  }                                                                                          \
  NS_GRAM_KERNEL ns_gram_backward_##SUFFIX(NS_GRAM_BACKWARD_PARAMS(T)) {                     \
    ns::gram_backward<T, NHWC>(sym, features, grad, channels, positions);                    \
  }

NS_GRAM_INSTANCE(f32_nchw, float, false)
NS_GRAM_INSTANCE(f32_nhwc, float, true)
NS_GRAM_INSTANCE(f16_nchw, ns::f16, false)
NS_GRAM_INSTANCE(f16_nhwc, ns::f16, true)
NS_GRAM_INSTANCE(bf16_nchw, ns::bf16, false)
NS_GRAM_INSTANCE(bf16_nhwc, ns::bf16, true)
