#include "images.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace ofxhost {

size_t bytesPerChannel(Depth d) {
  switch (d) {
    case Depth::Byte:
      return 1;
    case Depth::Short:
      return 2;
    case Depth::Half:
      return 2;
    case Depth::Float:
      return 4;
  }
  return 0;
}

int channelCount(Components c) {
  switch (c) {
    case Components::RGBA:
      return 4;
    case Components::RGB:
      return 3;
    case Components::Alpha:
      return 1;
  }
  return 0;
}

const char *ofxName(Depth d) {
  switch (d) {
    case Depth::Byte:
      return kOfxBitDepthByte;
    case Depth::Short:
      return kOfxBitDepthShort;
    case Depth::Half:
      return kOfxBitDepthHalf;
    case Depth::Float:
      return kOfxBitDepthFloat;
  }
  return kOfxBitDepthNone;
}

const char *ofxName(Components c) {
  switch (c) {
    case Components::RGBA:
      return kOfxImageComponentRGBA;
    case Components::RGB:
      return kOfxImageComponentRGB;
    case Components::Alpha:
      return kOfxImageComponentAlpha;
  }
  return kOfxImageComponentNone;
}

bool depthFromOfx(const std::string &s, Depth *out) {
  for (Depth d : {Depth::Byte, Depth::Short, Depth::Half, Depth::Float}) {
    if (s == ofxName(d)) {
      *out = d;
      return true;
    }
  }
  return false;
}

bool componentsFromOfx(const std::string &s, Components *out) {
  for (Components c : {Components::RGBA, Components::RGB, Components::Alpha}) {
    if (s == ofxName(c)) {
      *out = c;
      return true;
    }
  }
  return false;
}

bool componentsFromCount(int channels, Components *out) {
  switch (channels) {
    case 4:
      *out = Components::RGBA;
      return true;
    case 3:
      *out = Components::RGB;
      return true;
    case 1:
      *out = Components::Alpha;
      return true;
    default:
      return false;
  }
}

uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t absx = x & 0x7FFFFFFFu;
  if (absx >= 0x7F800000u) {  // inf or NaN (keep NaN quiet)
    return static_cast<uint16_t>(sign | 0x7C00u |
                                 (absx > 0x7F800000u ? 0x200u | ((absx >> 13) & 0x3FFu) : 0));
  }
  if (absx >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // rounds to inf
  if (absx < 0x38800000u) {  // subnormal half (or zero): round the shifted mantissa to even
    if (absx < 0x33000000u) return static_cast<uint16_t>(sign);
    // value = mant * 2^(e-150) and the half subnormal unit is 2^-24: shift right by 126 - e.
    const uint32_t mant = (absx & 0x7FFFFFu) | 0x800000u;
    const int s = 126 - static_cast<int>(absx >> 23);
    uint32_t r = mant >> s;
    const uint32_t rem = mant & ((1u << s) - 1u);
    const uint32_t halfway = 1u << (s - 1);
    if (rem > halfway || (rem == halfway && (r & 1u))) ++r;
    return static_cast<uint16_t>(sign | r);
  }
  uint32_t r = ((absx - 0x38000000u) >> 13);  // rebias exponent 127 -> 15
  const uint32_t rem = absx & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
  return static_cast<uint16_t>(sign | r);
}

float halfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  uint32_t x;
  if (exp == 0x1F) {
    x = sign | 0x7F800000u | (mant << 13);
  } else if (exp != 0) {
    x = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {
    x = sign;
  } else {  // subnormal: normalise
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while (!(mant & 0x400u));
    x = sign | ((112u - static_cast<uint32_t>(e)) << 23) | ((mant & 0x3FFu) << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

void Array::allocate(Depth d, Components c, int w, int h) {
  depth = d;
  components = c;
  width = w;
  height = h;
  bytes.assign(rowBytes() * static_cast<size_t>(h), 0);
}

static double loadChannel(const uint8_t *p, Depth d) {
  switch (d) {
    case Depth::Byte:
      return *p / 255.0;
    case Depth::Short: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return v / 65535.0;
    }
    case Depth::Half: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return halfToFloat(v);
    }
    case Depth::Float: {
      float v;
      std::memcpy(&v, p, 4);
      return v;
    }
  }
  return 0.0;
}

static void storeChannel(uint8_t *p, Depth d, double v) {
  switch (d) {
    case Depth::Byte:
      *p = static_cast<uint8_t>(std::floor(std::clamp(v, 0.0, 1.0) * 255.0 + 0.5));
      break;
    case Depth::Short: {
      const auto s = static_cast<uint16_t>(std::floor(std::clamp(v, 0.0, 1.0) * 65535.0 + 0.5));
      std::memcpy(p, &s, 2);
      break;
    }
    case Depth::Half: {
      const uint16_t h = floatToHalf(static_cast<float>(v));
      std::memcpy(p, &h, 2);
      break;
    }
    case Depth::Float: {
      const auto f = static_cast<float>(v);
      std::memcpy(p, &f, 4);
      break;
    }
  }
}

double Array::load(int x, int y, int channel) const {
  const size_t off = static_cast<size_t>(y) * rowBytes() + static_cast<size_t>(x) * pixelBytes() +
                     static_cast<size_t>(channel) * bytesPerChannel(depth);
  return loadChannel(bytes.data() + off, depth);
}

void Array::store(int x, int y, int channel, double v) {
  const size_t off = static_cast<size_t>(y) * rowBytes() + static_cast<size_t>(x) * pixelBytes() +
                     static_cast<size_t>(channel) * bytesPerChannel(depth);
  storeChannel(bytes.data() + off, depth, v);
}

Array convert(const Array &in, Depth depth, Components components) {
  if (in.depth == depth && in.components == components) return in;
  Array out;
  out.allocate(depth, components, in.width, in.height);
  const int cin = channelCount(in.components);
  const int cout = channelCount(components);
  for (int y = 0; y < in.height; ++y) {
    for (int x = 0; x < in.width; ++x) {
      double px[4] = {0.0, 0.0, 0.0, 1.0};  // r, g, b, a
      if (cin == 1) {
        px[3] = in.load(x, y, 0);
        if (cout == 3) px[0] = px[1] = px[2] = px[3];
      } else {
        for (int c = 0; c < cin; ++c) px[c] = in.load(x, y, c);
      }
      if (cout == 1) {
        out.store(x, y, 0, px[3]);
      } else {
        for (int c = 0; c < cout; ++c) out.store(x, y, c, px[c]);
      }
    }
  }
  return out;
}

static int floorDiv(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

Array downsample(const Array &in, int x0, int y0, int factor) {
  if (factor == 1) return in;
  // Pixel bounds in bottom-up coordinates, then rows are flipped to the top-down array.
  Proxy proxy;
  proxy.factor = factor;
  const OfxRectI b = proxy.bounds(x0, y0, in.width, in.height);
  const int px1 = b.x1, py1 = b.y1, px2 = b.x2, py2 = b.y2;
  Array out;
  out.allocate(in.depth, in.components, px2 - px1, py2 - py1);
  const int nc = channelCount(in.components);
  for (int py = py1; py < py2; ++py) {
    for (int px = px1; px < px2; ++px) {
      const int cx1 = std::max(px * factor, x0), cx2 = std::min((px + 1) * factor, x0 + in.width);
      const int cy1 = std::max(py * factor, y0), cy2 = std::min((py + 1) * factor, y0 + in.height);
      const double n = static_cast<double>(cx2 - cx1) * (cy2 - cy1);
      for (int c = 0; c < nc; ++c) {
        double sum = 0.0;
        for (int cy = cy1; cy < cy2; ++cy) {
          const int row = in.height - 1 - (cy - y0);
          for (int cx = cx1; cx < cx2; ++cx) sum += in.load(cx - x0, row, c);
        }
        out.store(px - px1, out.height - 1 - (py - py1), c, sum / n);
      }
    }
  }
  return out;
}

namespace {

struct Tap {
  int index;
  double weight;
};

// Per output index along one axis: the input indices it covers and their share of it.
std::vector<std::vector<Tap>> areaTaps(int in, int out) {
  std::vector<std::vector<Tap>> taps(static_cast<size_t>(out));
  const double step = static_cast<double>(in) / out;
  for (int o = 0; o < out; ++o) {
    const double a = o * step, b = (o + 1) * step;
    const int last = std::min(in, static_cast<int>(std::ceil(b)));
    for (int i = static_cast<int>(std::floor(a)); i < last; ++i) {
      const double overlap = std::min<double>(b, i + 1) - std::max<double>(a, i);
      if (overlap > 0.0) taps[static_cast<size_t>(o)].push_back(Tap{i, overlap / step});
    }
  }
  return taps;
}

}  // namespace

Array resample(const Array &in, int width, int height) {
  if (width == in.width && height == in.height) return in;
  const auto tx = areaTaps(in.width, width), ty = areaTaps(in.height, height);
  Array out;
  out.allocate(in.depth, in.components, width, height);
  const int nc = channelCount(in.components);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < nc; ++c) {
        double sum = 0.0;
        for (const Tap &row : ty[static_cast<size_t>(y)]) {
          for (const Tap &col : tx[static_cast<size_t>(x)]) {
            sum += row.weight * col.weight * in.load(col.index, row.index, c);
          }
        }
        out.store(x, y, c, sum);
      }
    }
  }
  return out;
}

RenderScale Proxy::scale(int frameWidth, int frameHeight) const {
  if (width > 0) return RenderScale{double(width) / frameWidth, double(height) / frameHeight};
  return RenderScale{1.0 / factor, 1.0 / factor};
}

OfxRectI Proxy::bounds(int x0, int y0, int frameWidth, int frameHeight) const {
  if (width > 0) return OfxRectI{0, 0, width, height};
  return OfxRectI{floorDiv(x0, factor), floorDiv(y0, factor), -floorDiv(-(x0 + frameWidth), factor),
                  -floorDiv(-(y0 + frameHeight), factor)};
}

Array Proxy::apply(const Array &frame, int x0, int y0) const {
  return width > 0 ? resample(frame, width, height) : downsample(frame, x0, y0, factor);
}

void HostBuffer::Free::operator()(uint8_t *p) const { std::free(p); }

HostBuffer::HostBuffer(Depth depth, Components components, OfxRectI bounds, Layout layout)
    : depth_(depth), components_(components), bounds_(bounds) {
  const size_t stride = pixelBytes() * static_cast<size_t>(std::max(0, width())) +
                        static_cast<size_t>(std::max(0, layout.padding));
  const size_t rows = static_cast<size_t>(std::max(0, height()));
  storageBytes_ = std::max<size_t>(64, (stride * rows + 63) / 64 * 64);
  storage_.reset(static_cast<uint8_t *>(std::aligned_alloc(64, storageBytes_)));
  if (!storage_) throw std::bad_alloc();
  if (layout.order == RowOrder::BottomUp || rows == 0) {
    data_ = storage_.get();
    rowBytes_ = static_cast<ptrdiff_t>(stride);
  } else {  // MLT style: memory top-down, so the lower-left pixel is in the last row in memory
    data_ = storage_.get() + stride * (rows - 1);
    rowBytes_ = -static_cast<ptrdiff_t>(stride);
  }
  std::memset(storage_.get(), 0, storageBytes_);
}

void HostBuffer::fillPoison() { std::memset(storage_.get(), poisonByte(depth_), storageBytes_); }

size_t HostBuffer::countPoisonPixels() const {
  if (depth_ != Depth::Half && depth_ != Depth::Float) return 0;
  size_t n = 0;
  const size_t pb = pixelBytes();
  for (int y = bounds_.y1; y < bounds_.y2; ++y) {
    const uint8_t *r = row(y);
    for (int x = 0; x < width(); ++x) {
      const uint8_t *p = r + static_cast<size_t>(x) * pb;
      bool all = true;
      for (size_t b = 0; b < pb && all; ++b) all = p[b] == 0xFF;
      n += all;
    }
  }
  return n;
}

void HostBuffer::fromArray(const Array &a) {
  if (a.width != width() || a.height != height() || a.depth != depth_ ||
      a.components != components_) {
    throw std::logic_error("HostBuffer::fromArray: format or size mismatch");
  }
  const size_t rb = a.rowBytes();
  for (int y = 0; y < a.height; ++y) {  // array row 0 is the top row
    std::memcpy(row(bounds_.y2 - 1 - y), a.bytes.data() + static_cast<size_t>(y) * rb, rb);
  }
}

Array HostBuffer::toArray() const {
  Array a;
  a.allocate(depth_, components_, width(), height());
  const size_t rb = a.rowBytes();
  for (int y = 0; y < a.height; ++y) {
    std::memcpy(a.bytes.data() + static_cast<size_t>(y) * rb, row(bounds_.y2 - 1 - y), rb);
  }
  return a;
}

void HostBuffer::copyFrom(const HostBuffer &src) {
  const size_t pb = pixelBytes();
  const OfxRectI s = src.bounds();
  for (int y = bounds_.y1; y < bounds_.y2; ++y) {
    uint8_t *d = row(y);
    std::memset(d, 0, pb * static_cast<size_t>(width()));
    if (y < s.y1 || y >= s.y2) continue;
    const int x1 = std::max(bounds_.x1, s.x1), x2 = std::min(bounds_.x2, s.x2);
    if (x2 <= x1) continue;
    std::memcpy(d + static_cast<size_t>(x1 - bounds_.x1) * pb,
                src.row(y) + static_cast<size_t>(x1 - s.x1) * pb,
                static_cast<size_t>(x2 - x1) * pb);
  }
}

}  // namespace ofxhost
