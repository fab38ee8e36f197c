// Where clip images come from. Input clips read .npy frames from a file pattern, convert them to
// the clip's preferred format, bring them to the render scale (Proxy) and lay them out the way the
// run asked (row order, padding, offset bounds), optionally as CUDA device copies. The output clip
// hands out the buffer of the render in progress, and only for the time being rendered.
#ifndef OFXHOST_FRAME_FEED_H
#define OFXHOST_FRAME_FEED_H

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cuda_buffers.h"
#include "effect.h"
#include "images.h"

namespace ofxhost {

// Expands the first printf-style integer conversion (%d, %04d) of pattern; no conversion: as is.
std::string framePath(const std::string &pattern, int frame);

class FileFeed : public ClipFeed {
 public:
  FileFeed(std::string pattern, Layout layout, int offsetX, int offsetY, Proxy proxy,
           CudaRuntime *cuda);
  ~FileFeed() override;
  void setFormat(Depth depth, Components components);
  bool imageAt(double time, FeedImage *out) override;
  const HostBuffer *cached(int frame);  // what the plugin was given for that frame, if anything
  void clear();                         // frees the frames of the finished render
  std::string lastError();

 private:
  struct Entry {
    std::unique_ptr<HostBuffer> buffer;
    void *device = nullptr;
    RenderScale scale;
  };
  std::string pattern_;
  Layout layout_;
  int offsetX_, offsetY_;
  Proxy proxy_;
  CudaRuntime *cuda_;
  Depth depth_ = Depth::Float;
  Components components_ = Components::RGBA;
  std::mutex mutex_;  // plugins may fetch images from their worker threads
  std::map<int, Entry> cache_;
  std::string lastError_;
};

class OutputFeed : public ClipFeed {
 public:
  void begin(double time, HostBuffer *buffer, void *device, RenderScale renderScale);
  void end();
  bool imageAt(double time, FeedImage *out) override;

 private:
  std::mutex mutex_;
  HostBuffer *buffer_ = nullptr;
  void *device_ = nullptr;
  double time_ = 0.0;
  RenderScale scale_;
};

}  // namespace ofxhost

#endif
