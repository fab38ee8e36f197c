#include "frame_feed.h"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "npy.h"
#include "report.h"

namespace ofxhost {

std::string framePath(const std::string &pattern, int frame) {
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') continue;
    size_t j = i + 1;
    while (j < pattern.size() && std::isdigit(static_cast<unsigned char>(pattern[j]))) ++j;
    if (j < pattern.size() && pattern[j] == 'd') {
      const std::string spec = pattern.substr(i, j - i + 1);  // digits only: safe as a format
      char buf[32];
      std::snprintf(buf, sizeof buf, spec.c_str(), frame);
      return pattern.substr(0, i) + buf + pattern.substr(j + 1);
    }
  }
  return pattern;
}

FileFeed::FileFeed(std::string pattern, Layout layout, int offsetX, int offsetY, Proxy proxy,
                   CudaRuntime *cuda)
    : pattern_(std::move(pattern)),
      layout_(layout),
      offsetX_(offsetX),
      offsetY_(offsetY),
      proxy_(proxy),
      cuda_(cuda) {}

FileFeed::~FileFeed() { clear(); }

void FileFeed::setFormat(Depth depth, Components components) {
  std::lock_guard<std::mutex> lock(mutex_);
  depth_ = depth;
  components_ = components;
}

bool FileFeed::imageAt(double time, FeedImage *out) {
  const int frame = static_cast<int>(std::lround(time));  // sub-frame times get the nearest frame
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = cache_.find(frame);
  if (it == cache_.end()) {
    Array a;
    std::string error;
    if (!readNpy(framePath(pattern_, frame), &a, &error)) {
      lastError_ = error;
      warn("no image for the plugin: " + error);
      return false;
    }
    Entry e;
    const OfxRectI bounds = proxy_.bounds(offsetX_, offsetY_, a.width, a.height);
    e.scale = proxy_.scale(a.width, a.height);
    a = proxy_.apply(convert(a, depth_, components_), offsetX_, offsetY_);
    e.buffer = std::make_unique<HostBuffer>(depth_, components_, bounds, layout_);
    e.buffer->fromArray(a);
    if (cuda_) {
      e.device = cuda_->upload(*e.buffer, &error);
      if (!e.device) {
        lastError_ = error;
        warn(error);
        return false;
      }
    }
    it = cache_.emplace(frame, std::move(e)).first;
  }
  const Entry &e = it->second;
  out->buffer = e.buffer.get();
  out->bounds = e.buffer->bounds();
  out->renderScale = e.scale;
  if (e.device) {  // CUDA images are packed: row bytes are the row's pixels
    out->data = e.device;
    out->rowBytes = static_cast<ptrdiff_t>(e.buffer->pixelBytes()) * e.buffer->width();
  } else {
    out->data = const_cast<uint8_t *>(e.buffer->data());
    out->rowBytes = e.buffer->rowBytes();
  }
  return true;
}

const HostBuffer *FileFeed::cached(int frame) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = cache_.find(frame);
  return it == cache_.end() ? nullptr : it->second.buffer.get();
}

void FileFeed::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto &kv : cache_) {
    if (cuda_) cuda_->release(kv.second.device);
  }
  cache_.clear();
}

std::string FileFeed::lastError() {
  std::lock_guard<std::mutex> lock(mutex_);
  return lastError_;
}

void OutputFeed::begin(double time, HostBuffer *buffer, void *device, RenderScale renderScale) {
  std::lock_guard<std::mutex> lock(mutex_);
  time_ = time;
  buffer_ = buffer;
  device_ = device;
  scale_ = renderScale;
}

void OutputFeed::end() {
  std::lock_guard<std::mutex> lock(mutex_);
  buffer_ = nullptr;
  device_ = nullptr;
}

bool OutputFeed::imageAt(double time, FeedImage *out) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!buffer_ || std::fabs(time - time_) > 1e-6) return false;
  out->buffer = buffer_;
  out->bounds = buffer_->bounds();
  out->renderScale = scale_;
  if (device_) {
    out->data = device_;
    out->rowBytes = static_cast<ptrdiff_t>(buffer_->pixelBytes()) * buffer_->width();
  } else {
    out->data = buffer_->data();
    out->rowBytes = buffer_->rowBytes();
  }
  return true;
}

}  // namespace ofxhost
