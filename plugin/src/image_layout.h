// The memory layout of an OFX image as array geometry: pure functions, no host and no Python, so
// the orientation and stride rules are unit tested on their own (tests/cpp/test_image_layout.cpp).
//
// OFX images are bottom-up: kOfxImagePropData is the lower-left pixel of kOfxImagePropBounds and
// row y starts at data + (y - y1) * rowBytes. rowBytes may be negative (top-down memory, MLT).
// The engine sees shape (H, W, C) with row 0 the bottom row and strides exactly as the host laid
// them out: (rowBytes, C * itemsize, itemsize). CUDA buffers (OFX 1.5) are packed; rowBytes do not
// apply to them.
#ifndef NEURALSTYLE_IMAGE_LAYOUT_H
#define NEURALSTYLE_IMAGE_LAYOUT_H

#include <array>
#include <cstddef>
#include <optional>
#include <string>

#include "ofx_abi.h"

namespace neuralstyle {

enum class PixelDepth { kByte, kShort, kHalf, kFloat };
enum class Components { kRGBA, kRGB, kAlpha };
enum class Premultiplication { kOpaque, kPremultiplied, kUnpremultiplied };

// From the OFX property strings; nullopt for anything we do not render.
std::optional<PixelDepth> parse_pixel_depth(const std::string &ofx);
std::optional<Components> parse_components(const std::string &ofx);
// Unknown or missing premultiplication reads as opaque, what hosts assume for RGB.
Premultiplication parse_premultiplication(const std::string &ofx);

int item_size(PixelDepth depth);
int channel_count(Components components);
// The array-interface typestr: "|u1", "<u2", "<f2", "<f4".
const char *typestr(PixelDepth depth);
// The contract's names: "RGBA" / "RGB" / "Alpha", "opaque" / "premultiplied" / "unpremultiplied".
const char *components_name(Components components);
const char *premultiplication_name(Premultiplication premultiplication);

struct ImageLayout {
  void *data = nullptr;  // lower-left pixel of bounds
  OfxRectI bounds{0, 0, 0, 0};
  long row_bytes = 0;  // CPU only; may be negative
  PixelDepth depth = PixelDepth::kFloat;
  Components components = Components::kRGBA;
  Premultiplication premultiplication = Premultiplication::kOpaque;
  bool on_cuda_device = false;
};

struct ArrayGeometry {
  std::array<long, 3> shape;    // (H, W, C)
  std::array<long, 3> strides;  // bytes; packed for CUDA buffers
};

ArrayGeometry array_geometry(const ImageLayout &image);

// Empty when the layout can be viewed safely, else what is wrong (one line, for the node).
std::string layout_problem(const ImageLayout &image);

// The part of `window` inside `bounds` (empty rect when they do not overlap).
OfxRectI intersect(const OfxRectI &window, const OfxRectI &bounds);

}  // namespace neuralstyle

#endif
