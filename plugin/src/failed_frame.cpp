#include "failed_frame.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace neuralstyle {
namespace {

unsigned char *pixel(const ImageLayout &image, int x, int y) {
  const long offset = static_cast<long>(y - image.bounds.y1) * image.row_bytes +
                      static_cast<long>(x - image.bounds.x1) * channel_count(image.components) *
                          item_size(image.depth);
  return static_cast<unsigned char *>(image.data) + offset;
}

bool contains(const OfxRectI &r, int x, int y) {
  return x >= r.x1 && x < r.x2 && y >= r.y1 && y < r.y2;
}

// One channel at full value in `depth`, as bytes.
std::vector<unsigned char> one(PixelDepth depth) {
  switch (depth) {
    case PixelDepth::kByte:
      return {0xFF};
    case PixelDepth::kShort: {
      const std::uint16_t v = 0xFFFF;
      return {reinterpret_cast<const unsigned char *>(&v),
              reinterpret_cast<const unsigned char *>(&v) + 2};
    }
    case PixelDepth::kHalf: {
      const std::uint16_t v = 0x3C00;  // 1.0 in IEEE half
      return {reinterpret_cast<const unsigned char *>(&v),
              reinterpret_cast<const unsigned char *>(&v) + 2};
    }
    case PixelDepth::kFloat: {
      const float v = 1.0f;
      return {reinterpret_cast<const unsigned char *>(&v),
              reinterpret_cast<const unsigned char *>(&v) + 4};
    }
  }
  return {};
}

// Magenta in the output's components: (1, 0, 1, 1), (1, 0, 1), or an Alpha of 1.
std::vector<unsigned char> magenta(const ImageLayout &image) {
  static constexpr bool kOn[] = {true, false, true, true};
  const std::vector<unsigned char> full = one(image.depth);
  const std::vector<unsigned char> zero(full.size(), 0);
  const bool alpha_only = image.components == Components::kAlpha;
  std::vector<unsigned char> out;
  for (int c = 0; c < channel_count(image.components); ++c) {
    const std::vector<unsigned char> &value = alpha_only || kOn[c] ? full : zero;
    out.insert(out.end(), value.begin(), value.end());
  }
  return out;
}

}  // namespace

FailedFrameFill parse_failed_frame_fill(const std::string &value) {
  if (value == "source") return FailedFrameFill::kSource;
  if (value == "error") return FailedFrameFill::kErrorColour;
  return FailedFrameFill::kBlack;
}

void fill_failed_frame(const ImageLayout &dst, const OfxRectI &window, FailedFrameFill fill,
                       const ImageLayout *src) {
  if (!dst.data || dst.on_cuda_device || !layout_problem(dst).empty()) return;
  const OfxRectI area = intersect(window, dst.bounds);
  const std::size_t pixel_bytes =
      static_cast<std::size_t>(channel_count(dst.components) * item_size(dst.depth));
  const bool same_format = src && src->data && !src->on_cuda_device &&
                           layout_problem(*src).empty() && src->depth == dst.depth &&
                           src->components == dst.components;
  const std::vector<unsigned char> colour =
      fill == FailedFrameFill::kErrorColour ? magenta(dst) : std::vector<unsigned char>();
  for (int y = area.y1; y < area.y2; ++y) {
    for (int x = area.x1; x < area.x2; ++x) {
      unsigned char *out = pixel(dst, x, y);
      if (fill == FailedFrameFill::kErrorColour) {
        std::memcpy(out, colour.data(), pixel_bytes);
      } else if (fill == FailedFrameFill::kSource && same_format && contains(src->bounds, x, y)) {
        std::memcpy(out, pixel(*src, x, y), pixel_bytes);
      } else {
        std::memset(out, 0, pixel_bytes);
      }
    }
  }
}

}  // namespace neuralstyle
