// OFX 1.5 CUDA render, as DaVinci Resolve does it: images are packed device buffers
// (cudaMalloc, rows bottom-up, row bytes = width * pixel bytes) and the render runs on a host-made
// cudaStream_t. libcudart is dlopened at run time (no CUDA headers or link), so the host builds and
// runs without CUDA; --cuda reports "unavailable" (exit 77) when there is no runtime or device.
#ifndef OFXHOST_CUDA_BUFFERS_H
#define OFXHOST_CUDA_BUFFERS_H

#include <string>

#include "images.h"
#include "json.h"

namespace ofxhost {

class CudaRuntime {
 public:
  // Tries $OFXHOST_CUDART, libcudart.so, libcudart.so.13, libcudart.so.12; needs one device.
  bool open(std::string *error);
  // A packed device copy of buf (OFX orientation); nullptr + *error on failure.
  void *upload(const HostBuffer &buf, std::string *error);
  // A packed device buffer the size of buf, filled with its poison byte.
  void *allocatePoisoned(const HostBuffer &buf, std::string *error);
  bool download(const void *device, HostBuffer &buf, std::string *error);
  void release(void *device);
  void *createStream(std::string *error);  // a cudaStream_t
  void destroyStream(void *stream);
  bool synchronize(void *stream, std::string *error);  // the stream, or the device when null
  Json describe() const;

 private:
  bool check(int code, const char *what, std::string *error);

  std::string library_;
  int devices_ = 0;
  int (*getDeviceCount_)(int *) = nullptr;
  int (*setDevice_)(int) = nullptr;
  int (*malloc_)(void **, size_t) = nullptr;
  int (*free_)(void *) = nullptr;
  int (*memcpy_)(void *, const void *, size_t, int) = nullptr;
  int (*memset_)(void *, int, size_t) = nullptr;
  int (*streamCreate_)(void **) = nullptr;
  int (*streamDestroy_)(void *) = nullptr;
  int (*streamSynchronize_)(void *) = nullptr;
  int (*deviceSynchronize_)() = nullptr;
  const char *(*errorString_)(int) = nullptr;
};

}  // namespace ofxhost

#endif
