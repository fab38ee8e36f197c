#include "cuda_buffers.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace ofxhost {

namespace {
constexpr int kHostToDevice = 1;  // cudaMemcpyKind values
constexpr int kDeviceToHost = 2;

template <class F>
bool resolve(void *lib, const char *name, F *out) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  return *out != nullptr;
}

size_t packedBytes(const HostBuffer &buf) {
  return buf.pixelBytes() * static_cast<size_t>(buf.width()) * static_cast<size_t>(buf.height());
}
}  // namespace

bool CudaRuntime::check(int code, const char *what, std::string *error) {
  if (code == 0) return true;
  *error = std::string(what) +
           " failed: " + (errorString_ ? errorString_(code) : "error " + std::to_string(code));
  return false;
}

bool CudaRuntime::open(std::string *error) {
  std::vector<std::string> candidates;
  if (const char *env = std::getenv("OFXHOST_CUDART")) candidates.emplace_back(env);
  candidates.insert(candidates.end(), {"libcudart.so", "libcudart.so.13", "libcudart.so.12"});
  void *lib = nullptr;
  for (const auto &c : candidates) {
    if ((lib = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL))) {
      library_ = c;
      break;
    }
  }
  if (!lib) {
    *error = "no CUDA runtime (tried $OFXHOST_CUDART, libcudart.so, .so.13, .so.12)";
    return false;
  }
  if (!resolve(lib, "cudaGetDeviceCount", &getDeviceCount_) ||
      !resolve(lib, "cudaSetDevice", &setDevice_) || !resolve(lib, "cudaMalloc", &malloc_) ||
      !resolve(lib, "cudaFree", &free_) || !resolve(lib, "cudaMemcpy", &memcpy_) ||
      !resolve(lib, "cudaMemset", &memset_) || !resolve(lib, "cudaStreamCreate", &streamCreate_) ||
      !resolve(lib, "cudaStreamDestroy", &streamDestroy_) ||
      !resolve(lib, "cudaStreamSynchronize", &streamSynchronize_) ||
      !resolve(lib, "cudaDeviceSynchronize", &deviceSynchronize_) ||
      !resolve(lib, "cudaGetErrorString", &errorString_)) {
    *error = library_ + " lacks a CUDA runtime function the host needs";
    return false;
  }
  if (getDeviceCount_(&devices_) != 0 || devices_ < 1) {
    *error = "no CUDA device";
    return false;
  }
  return check(setDevice_(0), "cudaSetDevice(0)", error);
}

void *CudaRuntime::upload(const HostBuffer &buf, std::string *error) {
  const size_t row = buf.pixelBytes() * static_cast<size_t>(buf.width());
  std::vector<uint8_t> packed(packedBytes(buf));
  for (int y = 0; y < buf.height(); ++y) {
    std::memcpy(packed.data() + static_cast<size_t>(y) * row, buf.row(buf.bounds().y1 + y), row);
  }
  void *device = nullptr;
  if (!check(malloc_(&device, std::max<size_t>(packed.size(), 1)), "cudaMalloc", error))
    return nullptr;
  if (!check(memcpy_(device, packed.data(), packed.size(), kHostToDevice), "cudaMemcpy to device",
             error)) {
    free_(device);
    return nullptr;
  }
  return device;
}

void *CudaRuntime::allocatePoisoned(const HostBuffer &buf, std::string *error) {
  void *device = nullptr;
  const size_t n = std::max<size_t>(packedBytes(buf), 1);
  if (!check(malloc_(&device, n), "cudaMalloc", error)) return nullptr;
  if (!check(memset_(device, HostBuffer::poisonByte(buf.depth()), n), "cudaMemset", error)) {
    free_(device);
    return nullptr;
  }
  return device;
}

bool CudaRuntime::download(const void *device, HostBuffer &buf, std::string *error) {
  const size_t row = buf.pixelBytes() * static_cast<size_t>(buf.width());
  std::vector<uint8_t> packed(packedBytes(buf));
  if (!check(memcpy_(packed.data(), device, packed.size(), kDeviceToHost), "cudaMemcpy to host",
             error)) {
    return false;
  }
  for (int y = 0; y < buf.height(); ++y) {
    std::memcpy(buf.row(buf.bounds().y1 + y), packed.data() + static_cast<size_t>(y) * row, row);
  }
  return true;
}

void CudaRuntime::release(void *device) {
  if (device) free_(device);
}

void *CudaRuntime::createStream(std::string *error) {
  void *stream = nullptr;
  return check(streamCreate_(&stream), "cudaStreamCreate", error) ? stream : nullptr;
}

void CudaRuntime::destroyStream(void *stream) {
  if (stream) streamDestroy_(stream);
}

bool CudaRuntime::synchronize(void *stream, std::string *error) {
  return stream ? check(streamSynchronize_(stream), "cudaStreamSynchronize", error)
                : check(deviceSynchronize_(), "cudaDeviceSynchronize", error);
}

Json CudaRuntime::describe() const {
  Json j = Json::object();
  j["library"] = library_;
  j["devices"] = devices_;
  return j;
}

}  // namespace ofxhost
