// plugin/src/failed_frame.h: what a failed render leaves in the Output, inside the render window
// only, whatever the row order, padding, bounds or depth.
#include <cstdint>
#include <cstring>
#include <vector>

#include "check.h"
#include "failed_frame.h"

using namespace neuralstyle;

namespace {

// A top-down (negative row bytes) float RGBA buffer with padding, bounds offset by (x0, y0).
struct Buffer {
  Buffer(int x0, int y0, int w, int h, float value) : pixels((w * 4 + 3) * h, value) {
    layout.bounds = {x0, y0, x0 + w, y0 + h};
    layout.row_bytes = -static_cast<long>((w * 4 + 3) * sizeof(float));
    layout.data = pixels.data() + (h - 1) * (w * 4 + 3);  // the lower-left pixel, top-down rows
    layout.depth = PixelDepth::kFloat;
    layout.components = Components::kRGBA;
  }
  const float *at(int x, int y) const {
    const auto *base = static_cast<const unsigned char *>(layout.data);
    return reinterpret_cast<const float *>(base + (y - layout.bounds.y1) * layout.row_bytes +
                                           (x - layout.bounds.x1) * 4 * sizeof(float));
  }
  std::vector<float> pixels;
  ImageLayout layout;
};

void black_fills_the_window_only() {
  Buffer dst(10, 20, 8, 6, 7.0f);
  fill_failed_frame(dst.layout, {12, 21, 15, 30}, FailedFrameFill::kBlack, nullptr);
  CHECK_EQ(dst.at(12, 21)[0], 0.0f);
  CHECK_EQ(dst.at(14, 25)[3], 0.0f);
  CHECK_EQ(dst.at(11, 21)[0], 7.0f);  // left of the window
  CHECK_EQ(dst.at(15, 21)[0], 7.0f);  // right of it
  CHECK_EQ(dst.at(12, 20)[0], 7.0f);  // below it
}

void source_is_copied_where_it_has_pixels() {
  Buffer dst(0, 0, 6, 4, 7.0f);
  Buffer src(2, 0, 6, 4, 0.25f);  // starts two columns in
  fill_failed_frame(dst.layout, {0, 0, 6, 4}, FailedFrameFill::kSource, &src.layout);
  CHECK_EQ(dst.at(3, 2)[1], 0.25f);
  CHECK_EQ(dst.at(1, 2)[1], 0.0f);       // outside the Source: black
  src.layout.depth = PixelDepth::kHalf;  // another format: black, never reinterpreted bytes
  fill_failed_frame(dst.layout, {0, 0, 6, 4}, FailedFrameFill::kSource, &src.layout);
  CHECK_EQ(dst.at(3, 2)[1], 0.0f);
}

void error_colour_is_opaque_magenta_in_every_depth() {
  Buffer dst(0, 0, 2, 2, 7.0f);
  fill_failed_frame(dst.layout, {0, 0, 2, 2}, FailedFrameFill::kErrorColour, nullptr);
  const float *p = dst.at(1, 1);
  CHECK(p[0] == 1.0f && p[1] == 0.0f && p[2] == 1.0f && p[3] == 1.0f);

  std::uint16_t half[3] = {1, 1, 1};
  ImageLayout rgb_half;
  rgb_half.data = half;
  rgb_half.bounds = {0, 0, 1, 1};
  rgb_half.row_bytes = sizeof(half);
  rgb_half.depth = PixelDepth::kHalf;
  rgb_half.components = Components::kRGB;
  fill_failed_frame(rgb_half, {0, 0, 1, 1}, FailedFrameFill::kErrorColour, nullptr);
  CHECK(half[0] == 0x3C00 && half[1] == 0 && half[2] == 0x3C00);

  unsigned char alpha = 3;
  ImageLayout mask;
  mask.data = &alpha;
  mask.bounds = {0, 0, 1, 1};
  mask.row_bytes = 1;
  mask.depth = PixelDepth::kByte;
  mask.components = Components::kAlpha;
  fill_failed_frame(mask, {0, 0, 1, 1}, FailedFrameFill::kErrorColour, nullptr);
  CHECK_EQ(static_cast<int>(alpha), 255);
}

void cuda_buffers_are_left_to_the_host() {
  Buffer dst(0, 0, 2, 2, 7.0f);
  dst.layout.on_cuda_device = true;
  fill_failed_frame(dst.layout, {0, 0, 2, 2}, FailedFrameFill::kBlack, nullptr);
  CHECK_EQ(dst.at(0, 0)[0], 7.0f);
}

void values_parse() {
  CHECK(parse_failed_frame_fill("source") == FailedFrameFill::kSource);
  CHECK(parse_failed_frame_fill("error") == FailedFrameFill::kErrorColour);
  CHECK(parse_failed_frame_fill("black") == FailedFrameFill::kBlack);
  CHECK(parse_failed_frame_fill("?") == FailedFrameFill::kBlack);
}

}  // namespace

int main() {
  black_fills_the_window_only();
  source_is_copied_where_it_has_pixels();
  error_colour_is_opaque_magenta_in_every_depth();
  cuda_buffers_are_left_to_the_host();
  values_parse();
  return check_exit_code();
}
