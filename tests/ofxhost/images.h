// Pixels on the host side: packed top-down arrays (what .npy files hold) and OFX image buffers
// (bottom-up rows, data pointer at the lower-left pixel of the bounds, signed row bytes, padding).
#ifndef OFXHOST_IMAGES_H
#define OFXHOST_IMAGES_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ofx_abi.h"

namespace ofxhost {

enum class Depth { Byte, Short, Half, Float };
enum class Components { RGBA, RGB, Alpha };

size_t bytesPerChannel(Depth d);
int channelCount(Components c);
const char *ofxName(Depth d);       // kOfxBitDepth*
const char *ofxName(Components c);  // kOfxImageComponent*
bool depthFromOfx(const std::string &s, Depth *out);
bool componentsFromOfx(const std::string &s, Components *out);
bool componentsFromCount(int channels, Components *out);

uint16_t floatToHalf(float f);  // round to nearest even, like numpy
float halfToFloat(uint16_t h);

// A packed image, row 0 at the top (numpy's order): the contents of an .npy file.
struct Array {
  Depth depth = Depth::Float;
  Components components = Components::RGBA;
  int width = 0, height = 0;
  std::vector<uint8_t> bytes;

  size_t pixelBytes() const { return bytesPerChannel(depth) * channelCount(components); }
  size_t rowBytes() const { return pixelBytes() * static_cast<size_t>(width); }
  void allocate(Depth d, Components c, int w, int h);
  // Channel value normalised to [0,1] for integer depths; float depths as stored.
  double load(int x, int y, int channel) const;
  void store(int x, int y, int channel, double v);
};

// Changes depth (normalised, integers rounded and clamped) and components. Same format: exact copy.
// Missing alpha becomes 1 (opaque); RGB from Alpha is (a, a, a); RGBA from Alpha is (0, 0, 0, a).
Array convert(const Array &in, Depth depth, Components components);

// Box-filters a canonical-resolution image whose lower-left pixel sits at canonical (x0, y0) down
// to render scale 1/factor. The result covers pixel bounds floor(x0/f)..ceil((x0+w)/f); each pixel
// is the mean of the canonical pixels it covers (edge pixels average only the pixels that exist).
Array downsample(const Array &in, int x0, int y0, int factor);

// Area-resamples a whole image to width x height: each output pixel is the mean of the input area
// it covers, fractional pixels weighted by their overlap.
Array resample(const Array &in, int width, int height);

// kOfxImageEffectPropRenderScale: OFX gives x and y separately.
struct RenderScale {
  double x = 1.0, y = 1.0;
};

// How the host brings a canonical frame to the render scale.
// - factor (--render-scale, Natron-like): box filter by 1/factor, render scale (1/f, 1/f).
// - width x height (--proxy-size, MLT-like): the whole frame area-resampled to exactly that size,
//   so the render scale is size / frame on each axis. MLT rounds each side of a preview on its
//   own: a 641x359 profile at preview scale 0.5 is 320x178, render scale (0.4992, 0.4958).
struct Proxy {
  int factor = 1;
  int width = 0, height = 0;  // > 0: resample to this size (the frame's lower left at 0, 0)

  RenderScale scale(int frameWidth, int frameHeight) const;
  // Pixel bounds at the render scale of a frame whose lower-left pixel is canonical (x0, y0).
  OfxRectI bounds(int x0, int y0, int frameWidth, int frameHeight) const;
  Array apply(const Array &frame, int x0, int y0) const;
};

enum class RowOrder { BottomUp, TopDown };  // TopDown memory means negative kOfxImagePropRowBytes

struct Layout {
  RowOrder order = RowOrder::BottomUp;
  int padding = 0;  // extra bytes after each row
};

// An OFX image buffer. The pixel (x, y) of bounds lives at data() + (y - y1) * rowBytes() +
// (x - x1) * pixelBytes(), exactly what the plugin is told.
class HostBuffer {
 public:
  HostBuffer(Depth depth, Components components, OfxRectI bounds, Layout layout);
  HostBuffer(const HostBuffer &) = delete;
  HostBuffer &operator=(const HostBuffer &) = delete;

  Depth depth() const { return depth_; }
  Components components() const { return components_; }
  OfxRectI bounds() const { return bounds_; }
  int width() const { return bounds_.x2 - bounds_.x1; }
  int height() const { return bounds_.y2 - bounds_.y1; }
  size_t pixelBytes() const { return bytesPerChannel(depth_) * channelCount(components_); }
  ptrdiff_t rowBytes() const { return rowBytes_; }
  uint8_t *data() { return data_; }
  const uint8_t *data() const { return data_; }
  uint8_t *row(int y) { return data_ + static_cast<ptrdiff_t>(y - bounds_.y1) * rowBytes_; }
  const uint8_t *row(int y) const {
    return data_ + static_cast<ptrdiff_t>(y - bounds_.y1) * rowBytes_;
  }

  // Bytes that make unwritten pixels obvious: NaN for floats, 0xAB for integers.
  static uint8_t poisonByte(Depth d) {
    return (d == Depth::Half || d == Depth::Float) ? 0xFF : 0xAB;
  }
  void fillPoison();
  size_t countPoisonPixels() const;  // float depths only; integers can hold 0xAB legitimately

  // Copies a top-down array whose size equals the bounds.
  void fromArray(const Array &a);
  Array toArray() const;
  // Copies the intersection with src (same format), zero elsewhere: the host-side identity.
  void copyFrom(const HostBuffer &src);

 private:
  Depth depth_;
  Components components_;
  OfxRectI bounds_;
  ptrdiff_t rowBytes_ = 0;
  struct Free {
    void operator()(uint8_t *p) const;
  };
  std::unique_ptr<uint8_t, Free> storage_;
  uint8_t *data_ = nullptr;
  size_t storageBytes_ = 0;
};

}  // namespace ofxhost

#endif
