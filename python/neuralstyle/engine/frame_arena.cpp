// The engine's frame arena: torch's CPU allocator, wrapped so that large blocks asked for while
// a frame renders (on a thread inside ns_arena_enter/ns_arena_exit) are kept when freed and
// handed out again to later requests.
//
// Why (neuralstyle/engine/frame_arena.py has the numbers): a frame asks for the same few hundred
// megabytes of activations every time. glibc maps each block over 32 MB fresh from the kernel
// and unmaps it when freed, so every frame faults in, and the kernel zeroes, those pages again.
// onnxruntime keeps an arena; so do we, but only for our own frames' tensors: the rest of the
// process (a host, a program calling the API) keeps glibc's behaviour.
//
// Best fit with splitting and coalescing (as onnxruntime's and TensorFlow's BFC arenas): memory
// comes from the system in regions, one per request no free piece could serve; a request takes
// the smallest free piece that fits and leaves the rest free; a freed piece merges with free
// neighbours of its region. A network on one frame size asks for the same sizes in the same
// order every frame, so from the second frame on every request is served from the regions. A
// method whose sizes are many (an encoder's layers, a style image beside the frame) reuses the
// same memory across sizes instead of keeping a block per size. A miss means the sizes changed
// (a new resolution, another method): every whole free region the frame has not touched is given
// back then, so a frame never holds an older size's memory beside its own.
//
// Built against the torch it runs in (frame_arena.py compiles it beside the compiled networks).

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <c10/util/Exception.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

namespace {

// Smaller blocks come from glibc's heap without a fresh mapping: not worth keeping. Nor is a
// remainder smaller than this worth splitting off.
constexpr size_t kSmallest = size_t{1} << 20;
// torch's CPU alignment (c10's gAlignment): pieces split off a region start on it too.
constexpr size_t kAlignment = 64;

struct Piece {
  char *data;
  size_t size;
  bool used;
  Piece *prev;  // the neighbours in its region, by address
  Piece *next;
  uint64_t *touched;  // the region's last frame that took a piece of it
  std::multimap<size_t, Piece *>::iterator where;  // in free_, while free
};

class FrameArena final : public c10::Allocator {
 public:
  explicit FrameArena(c10::Allocator *base) : base_(base) {}

  c10::DataPtr allocate(size_t n) override {
    if (depth_ == 0 || n < kSmallest) {
      return base_->allocate(n);
    }
    void *data = take((n + kAlignment - 1) / kAlignment * kAlignment);
    return {data, data, &FrameArena::give_back, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &FrameArena::give_back; }

  void copy_data(void *dest, const void *src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }

  void enter() {
    if (depth_++ == 0) {
      frame_epoch_ = ++epoch_;
    }
  }

  void exit() {
    if (depth_ > 0) {
      --depth_;
    }
  }

  void lock() { mutex_.lock(); }

  void unlock() { mutex_.unlock(); }

  size_t release() {
    std::lock_guard<std::mutex> hold(mutex_);
    return free_regions([](uint64_t) { return true; });
  }

  size_t kept_bytes() {
    std::lock_guard<std::mutex> hold(mutex_);
    size_t total = 0;
    for (const auto &entry : free_) {
      total += entry.first;
    }
    return total;
  }

  static void give_back(void *data) {
    FrameArena &arena = *instance;
    std::lock_guard<std::mutex> hold(arena.mutex_);
    auto it = arena.used_.find(data);
    if (it == arena.used_.end()) {  // not ours (raw_deleter of a block the base allocator gave)
      c10::free_cpu(data);
      return;
    }
    Piece *piece = it->second;
    arena.used_.erase(it);
    piece->used = false;
    if (Piece *next = piece->next; next != nullptr && !next->used) {
      arena.free_.erase(next->where);
      absorb(piece, next);
    }
    if (Piece *prev = piece->prev; prev != nullptr && !prev->used) {
      arena.free_.erase(prev->where);
      absorb(prev, piece);
      piece = prev;
    }
    piece->where = arena.free_.emplace(piece->size, piece);
  }

  static FrameArena *instance;

 private:
  void *take(size_t n) {
    std::lock_guard<std::mutex> hold(mutex_);
    auto it = free_.lower_bound(n);
    Piece *piece;
    if (it == free_.end()) {
      // Nothing fits: the sizes changed. Regions this frame has not touched are an older size's.
      const uint64_t frame = frame_epoch_;
      free_regions([frame](uint64_t touched) { return touched < frame; });
      piece =
          new Piece{static_cast<char *>(fresh(n)), n, true, nullptr, nullptr, new uint64_t{0}, {}};
    } else {
      piece = it->second;
      free_.erase(it);
      piece->used = true;
      if (piece->size - n >= kSmallest) {
        Piece *rest = new Piece{piece->data + n, piece->size - n, false, piece,
                                piece->next,     piece->touched,  {}};
        if (piece->next != nullptr) {
          piece->next->prev = rest;
        }
        piece->next = rest;
        piece->size = n;
        rest->where = free_.emplace(rest->size, rest);
      }
    }
    *piece->touched = frame_epoch_;
    used_.emplace(piece->data, piece);
    return piece->data;
  }

  // A new region; where the system has no memory for it, the kept regions may be what is
  // missing: give them all back and try once more (c10::alloc_cpu throws c10::Error, which
  // torch reports as out of memory, when that fails too).
  void *fresh(size_t n) {
    try {
      return c10::alloc_cpu(n);
    } catch (const c10::Error &) {
      free_regions([](uint64_t) { return true; });
      return c10::alloc_cpu(n);
    }
  }

  // Append ``second`` (right after ``first`` in their region; neither in free_) to ``first``.
  static void absorb(Piece *first, Piece *second) {
    first->size += second->size;
    first->next = second->next;
    if (second->next != nullptr) {
      second->next->prev = first;
    }
    delete second;
  }

  // Give back every region that is one free piece and whose last frame ``stale`` accepts.
  template <typename Pred>
  size_t free_regions(Pred stale) {
    size_t freed = 0;
    for (auto it = free_.begin(); it != free_.end();) {
      Piece *piece = it->second;
      if (piece->prev == nullptr && piece->next == nullptr && stale(*piece->touched)) {
        c10::free_cpu(piece->data);
        freed += piece->size;
        it = free_.erase(it);
        delete piece->touched;
        delete piece;
      } else {
        ++it;
      }
    }
    return freed;
  }

  c10::Allocator *base_;
  std::mutex mutex_;
  std::multimap<size_t, Piece *> free_;
  std::unordered_map<void *, Piece *> used_;
  std::atomic<uint64_t> epoch_{0};
  static thread_local int depth_;
  static thread_local uint64_t frame_epoch_;
};

FrameArena *FrameArena::instance = nullptr;
thread_local int FrameArena::depth_ = 0;
thread_local uint64_t FrameArena::frame_epoch_ = 0;

std::mutex install_mutex;

}  // namespace

extern "C" {

// Wrap torch's CPU allocator (once per process; the arena lives as long as the process, since
// tensors it gave out may). Returns 1 when it is torch's CPU allocator.
int ns_arena_install() {
  std::lock_guard<std::mutex> hold(install_mutex);
  if (FrameArena::instance == nullptr) {
    FrameArena::instance = new FrameArena(c10::GetCPUAllocator());
    // A process forked while another thread held the arena's lock would inherit it held and
    // hang at its first large allocation: fork waits for the lock and releases it on both sides.
    pthread_atfork([] { FrameArena::instance->lock(); }, [] { FrameArena::instance->unlock(); },
                   [] { FrameArena::instance->unlock(); });
    c10::SetCPUAllocator(FrameArena::instance, /*priority=*/1);
  }
  return c10::GetCPUAllocator() == FrameArena::instance ? 1 : 0;
}

void ns_arena_enter() { FrameArena::instance->enter(); }

void ns_arena_exit() { FrameArena::instance->exit(); }

// Give back every region that holds no tensor; returns the bytes given back.
size_t ns_arena_release() { return FrameArena::instance->release(); }

// The free bytes the arena holds.
size_t ns_arena_kept_bytes() { return FrameArena::instance->kept_bytes(); }

}  // extern "C"
