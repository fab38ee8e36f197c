#include "image_layout.h"

#include <algorithm>
#include <cstdlib>

namespace neuralstyle {

std::optional<PixelDepth> parse_pixel_depth(const std::string &ofx) {
  if (ofx == kOfxBitDepthByte) return PixelDepth::kByte;
  if (ofx == kOfxBitDepthShort) return PixelDepth::kShort;
  if (ofx == kOfxBitDepthHalf) return PixelDepth::kHalf;
  if (ofx == kOfxBitDepthFloat) return PixelDepth::kFloat;
  return std::nullopt;
}

std::optional<Components> parse_components(const std::string &ofx) {
  if (ofx == kOfxImageComponentRGBA) return Components::kRGBA;
  if (ofx == kOfxImageComponentRGB) return Components::kRGB;
  if (ofx == kOfxImageComponentAlpha) return Components::kAlpha;
  return std::nullopt;
}

Premultiplication parse_premultiplication(const std::string &ofx) {
  if (ofx == kOfxImagePreMultiplied) return Premultiplication::kPremultiplied;
  if (ofx == kOfxImageUnPreMultiplied) return Premultiplication::kUnpremultiplied;
  return Premultiplication::kOpaque;
}

int item_size(PixelDepth depth) {
  switch (depth) {
    case PixelDepth::kByte:
      return 1;
    case PixelDepth::kShort:
    case PixelDepth::kHalf:
      return 2;
    case PixelDepth::kFloat:
      return 4;
  }
  return 0;
}

int channel_count(Components components) {
  switch (components) {
    case Components::kRGBA:
      return 4;
    case Components::kRGB:
      return 3;
    case Components::kAlpha:
      return 1;
  }
  return 0;
}

const char *typestr(PixelDepth depth) {
  switch (depth) {
    case PixelDepth::kByte:
      return "|u1";
    case PixelDepth::kShort:
      return "<u2";
    case PixelDepth::kHalf:
      return "<f2";
    case PixelDepth::kFloat:
      return "<f4";
  }
  return "";
}

const char *components_name(Components components) {
  switch (components) {
    case Components::kRGBA:
      return "RGBA";
    case Components::kRGB:
      return "RGB";
    case Components::kAlpha:
      return "Alpha";
  }
  return "";
}

const char *premultiplication_name(Premultiplication premultiplication) {
  switch (premultiplication) {
    case Premultiplication::kOpaque:
      return "opaque";
    case Premultiplication::kPremultiplied:
      return "premultiplied";
    case Premultiplication::kUnpremultiplied:
      return "unpremultiplied";
  }
  return "";
}

ArrayGeometry array_geometry(const ImageLayout &image) {
  const long height = std::max(0, image.bounds.y2 - image.bounds.y1);
  const long width = std::max(0, image.bounds.x2 - image.bounds.x1);
  const long channels = channel_count(image.components);
  const long item = item_size(image.depth);
  const long pixel = channels * item;
  const long row = image.on_cuda_device ? width * pixel : image.row_bytes;
  return ArrayGeometry{{height, width, channels}, {row, pixel, item}};
}

std::string layout_problem(const ImageLayout &image) {
  const ArrayGeometry g = array_geometry(image);
  if (g.shape[0] == 0 || g.shape[1] == 0) return "";  // nothing to address
  if (!image.data) return "the image has no pixel data";
  if (!image.on_cuda_device && std::labs(image.row_bytes) < g.shape[1] * g.strides[1]) {
    return "row bytes " + std::to_string(image.row_bytes) + " are shorter than a row of " +
           std::to_string(g.shape[1]) + " pixels of " + std::to_string(g.strides[1]) + " bytes";
  }
  return "";
}

OfxRectI intersect(const OfxRectI &window, const OfxRectI &bounds) {
  OfxRectI r{std::max(window.x1, bounds.x1), std::max(window.y1, bounds.y1),
             std::min(window.x2, bounds.x2), std::min(window.y2, bounds.y2)};
  if (r.x2 <= r.x1 || r.y2 <= r.y1) return OfxRectI{0, 0, 0, 0};
  return r;
}

}  // namespace neuralstyle
