// Element types, conversions and packed loads shared by every kernel in cuda/.
//
// Kernels read and write float32, float16 or bfloat16 tensors and do all arithmetic in float32.
// The 16-bit types are plain bit containers converted with PTX `cvt` (f16) or bit shifts (bf16):
// NVRTC under CuPy cannot always find cuda_fp16.h / cuda_bf16.h, and no kernel needs their
// arithmetic. Rounding to 16 bits is round-to-nearest-even, as in torch. CuPy compiles with
// -ftz=true: float32 subnormals (below 1.2e-38) flush to zero.
#pragma once

namespace ns {

using index_t = long long;

struct f16 {
  unsigned short bits;
};
struct bf16 {
  unsigned short bits;
};

__device__ __forceinline__ float to_float(float v) { return v; }

__device__ __forceinline__ float to_float(f16 v) {
#ifdef NS_CPU_EMULATION  // tests/cudaemu runs these sources on the CPU, where PTX is not
  return ns_emu_half_to_float(v.bits);
#else
  float r;
  asm("cvt.f32.f16 %0, %1;" : "=f"(r) : "h"(v.bits));
  return r;
#endif
}

__device__ __forceinline__ float to_float(bf16 v) {
  return __uint_as_float(static_cast<unsigned int>(v.bits) << 16);
}

template <typename T>
__device__ __forceinline__ T from_float(float v);

template <>
__device__ __forceinline__ float from_float<float>(float v) {
  return v;
}

template <>
__device__ __forceinline__ f16 from_float<f16>(float v) {
  f16 r;
#ifdef NS_CPU_EMULATION
  r.bits = ns_emu_float_to_half(v);
#else
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r.bits) : "f"(v));
#endif
  return r;
}

template <>
__device__ __forceinline__ bf16 from_float<bf16>(float v) {
  unsigned int u = __float_as_uint(v);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{0x7fc0};  // canonical NaN, like torch
  u += 0x7fffu + ((u >> 16) & 1u);                           // round to nearest even
  return bf16{static_cast<unsigned short>(u >> 16)};
}

// The integer type that moves kBytes in one load or store.
template <int kBytes>
struct RawVec;
template <>
struct RawVec<2> {
  using type = unsigned short;
};
template <>
struct RawVec<4> {
  using type = unsigned int;
};
template <>
struct RawVec<8> {
  using type = uint2;
};
template <>
struct RawVec<16> {
  using type = uint4;
};

// Loads kVec consecutive elements as float. p must be aligned to kVec * sizeof(T) bytes; with
// kVec * sizeof(T) == 16 this is one 16-byte load per thread.
template <typename T, int kVec>
__device__ __forceinline__ void load_pack(const T *__restrict__ p, float (&out)[kVec]) {
  using Raw = typename RawVec<kVec *static_cast<int>(sizeof(T))>::type;
  union {
    Raw raw;
    T val[kVec];
  } u;
  u.raw = *reinterpret_cast<const Raw *>(p);
#pragma unroll
  for (int i = 0; i < kVec; ++i) out[i] = to_float(u.val[i]);
}

// Stores kVec floats rounded to T; same alignment rule as load_pack.
template <typename T, int kVec>
__device__ __forceinline__ void store_pack(T *__restrict__ p, const float (&in)[kVec]) {
  using Raw = typename RawVec<kVec *static_cast<int>(sizeof(T))>::type;
  union {
    Raw raw;
    T val[kVec];
  } u;
#pragma unroll
  for (int i = 0; i < kVec; ++i) u.val[i] = from_float<T>(in[i]);
  *reinterpret_cast<Raw *>(p) = u.raw;
}

__device__ __forceinline__ index_t min_index(index_t a, index_t b) { return a < b ? a : b; }

}  // namespace ns
