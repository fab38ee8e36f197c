// Just enough of CUDA to run cuda/*.cu on the CPU, for tests on machines without a GPU.
//
// Force-included (g++ -include) before a kernel module's source; tests/cudaemu/emulator.py builds
// and calls it. Every CUDA thread of a block is a fiber with its own stack; blocks run
// one after another, so a function's statics stand in for its block's shared memory. A fiber
// runs until it reaches __syncthreads or a warp shuffle, which are barriers: it waits there until
// every live thread of its block (warp) has arrived, while the others run. A kernel that reads
// shared memory another thread has not written yet, reads another lane's value without a
// shuffle, or skips a barrier shows it here as wrong numbers. What the emulation cannot show:
// timing, races between threads that never meet at a barrier (the fibers do not run at the same
// time), the GPU memory model, -ftz, PTX. Exited threads drop out of later barriers, as on sm_70
// and newer.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#define NS_CPU_EMULATION 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

struct dim3 {
  unsigned x = 0, y = 0, z = 0;
};
struct uint2 {
  unsigned x, y;
};
struct uint4 {
  unsigned x, y, z, w;
};
struct float2 {
  float x, y;
};
struct float4 {
  float x, y, z, w;
};

inline float2 make_float2(float x, float y) { return float2{x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

// The running fiber's indices: the scheduler sets threadIdx before it resumes a fiber.
inline dim3 threadIdx;
inline dim3 blockIdx;
inline dim3 blockDim;
inline dim3 gridDim;

namespace ns_emu {

// A barrier among the live fibers of a group (the block, or one warp).
struct Barrier {
  unsigned live = 0;     // fibers of the group still in the kernel
  unsigned arrived = 0;  // of them, waiting in the current phase
  unsigned phase = 0;
  void release_if_complete() {
    if (arrived == live && arrived > 0) {
      arrived = 0;
      ++phase;
    }
  }
};

// Saves the callee-saved registers on the current stack, stores its pointer in *from, and resumes
// the stack `to` (x86-64 SysV; no signal mask or FPU state: the kernels change neither).
extern "C" void ns_emu_switch(void **from, void *to);
asm(R"(
    .text
    .globl ns_emu_switch
    .type ns_emu_switch, @function
ns_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size ns_emu_switch, .-ns_emu_switch
)");

inline Barrier block_barrier;
inline Barrier warp_barriers[32];
inline std::uint32_t lanes[32][32];
inline void *scheduler = nullptr;  // the launcher's stack while a fiber runs
inline void **current = nullptr;   // where the running fiber's stack pointer is kept

inline void yield() { ns_emu_switch(current, scheduler); }

inline void wait(Barrier &b) {
  const unsigned phase = b.phase;
  ++b.arrived;
  b.release_if_complete();
  while (b.phase == phase) yield();
}

}  // namespace ns_emu

inline void __syncthreads() { ns_emu::wait(ns_emu::block_barrier); }

inline float __fdividef(float a, float b) { return a / b; }

inline unsigned __float_as_uint(float v) {
  unsigned u;
  std::memcpy(&u, &v, 4);
  return u;
}

inline float __uint_as_float(unsigned u) {
  float v;
  std::memcpy(&v, &u, 4);
  return v;
}

template <typename T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned offset) {
  static_assert(sizeof(T) == 4, "32-bit shuffles only");
  if (mask != 0xffffffffu) __builtin_trap();  // the kernels shuffle whole warps only
  const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
  std::uint32_t bits;
  std::memcpy(&bits, &v, 4);
  ns_emu::lanes[warp][lane] = bits;
  ns_emu::wait(ns_emu::warp_barriers[warp]);
  const std::uint32_t got = lane + offset < 32 ? ns_emu::lanes[warp][lane + offset] : bits;
  ns_emu::wait(ns_emu::warp_barriers[warp]);  // nobody overwrites a lane before all have read
  T out;
  std::memcpy(&out, &got, 4);
  return out;
}

// IEEE half conversions, round to nearest even (as PTX cvt.rn.f16.f32).
inline float ns_emu_half_to_float(unsigned short bits) {
  _Float16 h;
  std::memcpy(&h, &bits, 2);
  return static_cast<float>(h);
}

inline unsigned short ns_emu_float_to_half(float v) {
  const _Float16 h = static_cast<_Float16>(v);
  unsigned short bits;
  std::memcpy(&bits, &h, 2);
  return bits;
}

// ---- the launcher (tests/cudaemu/emulator.py) ---------------------------------------------------

namespace ns_emu {

// Every kernel of cuda/ takes pointers and integers (the x86-64 SysV INTEGER class) and floats
// (SSE class). Called through this type, the integer-class arguments in their order fill the six
// integer registers and then the stack, the floats fill xmm0..7: exactly where the kernel's own
// signature, whatever the interleaving of the two classes, looks for them. The caller pops the
// stack, so unused trailing arguments are harmless. 16 integers, 8 floats: emulator.py's _INTS,
// _FLOATS.
constexpr std::size_t kStack = 128 * 1024;
using Entry = void (*)(std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                       std::uint64_t, float, float, float, float, float, float, float, float,
                       std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                       std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);

struct Call {
  Entry fn;
  const std::uint64_t *i;
  const float *f;
};
inline Call call;

struct Fiber {
  std::unique_ptr<char[]> stack{new char[kStack]};  // not zeroed: only touched pages are mapped
  void *sp = nullptr;
  bool done = false;
};

inline std::vector<Fiber> pool;  // kept between launches: the stacks stay mapped

// Where a new fiber starts (its first switch "returns" here): the kernel; then the thread leaves
// its block's and warp's barriers and switches back to the scheduler for good.
[[noreturn]] inline void start() {
  const unsigned thread = threadIdx.x;
  const std::uint64_t *i = call.i;
  const float *f = call.f;
  call.fn(i[0], i[1], i[2], i[3], i[4], i[5], f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], i[6],
          i[7], i[8], i[9], i[10], i[11], i[12], i[13], i[14], i[15]);
  for (Barrier *b : {&block_barrier, &warp_barriers[thread >> 5]}) {
    --b->live;
    b->release_if_complete();
  }
  Fiber &self = pool[thread];
  self.done = true;
  ns_emu_switch(&self.sp, scheduler);
  __builtin_unreachable();
}

// A stack that ns_emu_switch resumes into start(): six zero registers, then start's address as
// the return address, then a null one above it so that start sees the alignment of a call.
inline void *prepare(Fiber &fiber) {
  auto top = reinterpret_cast<std::uintptr_t>(fiber.stack.get() + kStack) & ~std::uintptr_t{15};
  auto *slot = reinterpret_cast<void **>(top);
  *--slot = nullptr;
  *--slot = reinterpret_cast<void *>(&start);
  for (int r = 0; r < 6; ++r) *--slot = nullptr;
  return slot;
}

}  // namespace ns_emu

// Runs a kernel over `grid` blocks of `threads` threads, one block after the other.
extern "C" void ns_emu_launch(void *kernel, unsigned grid, unsigned threads,
                              const std::uint64_t *ints, const float *floats) {
  using namespace ns_emu;
  call = Call{reinterpret_cast<Entry>(kernel), ints, floats};
  gridDim = dim3{grid, 1, 1};
  blockDim = dim3{threads, 1, 1};
  if (pool.size() < threads) pool.resize(threads);
  std::vector<Fiber> &block = pool;
  for (unsigned b = 0; b < grid; ++b) {
    blockIdx = dim3{b, 0, 0};
    block_barrier = Barrier{threads};
    for (unsigned w = 0; w < 32; ++w) {
      const unsigned first = w * 32;
      warp_barriers[w] = Barrier{first < threads ? std::min(threads - first, 32u) : 0u};
    }
    for (unsigned t = 0; t < threads; ++t) {
      block[t].done = false;
      block[t].sp = prepare(block[t]);
    }
    // Round robin until every fiber has returned; each runs until its next barrier.
    for (unsigned running = threads; running > 0;) {
      for (unsigned t = 0; t < threads; ++t) {
        Fiber &fiber = block[t];
        if (fiber.done) continue;
        threadIdx = dim3{t, 0, 0};
        current = &fiber.sp;
        ns_emu_switch(&scheduler, fiber.sp);
        if (fiber.done) --running;
      }
    }
  }
}
