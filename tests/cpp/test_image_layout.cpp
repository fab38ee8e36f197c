// The pure layout rules of plugin/src/image_layout.h: orientation, strides, depths, bounds.
#include <string>

#include "check.h"
#include "image_layout.h"

using namespace neuralstyle;

namespace {

ImageLayout rgba_float(OfxRectI bounds, long row_bytes) {
  static float storage[1];
  ImageLayout image;
  image.data = storage;
  image.bounds = bounds;
  image.row_bytes = row_bytes;
  image.depth = PixelDepth::kFloat;
  image.components = Components::kRGBA;
  return image;
}

void depths_map_to_dtypes() {
  CHECK(parse_pixel_depth(kOfxBitDepthByte) == PixelDepth::kByte);
  CHECK(parse_pixel_depth(kOfxBitDepthShort) == PixelDepth::kShort);
  CHECK(parse_pixel_depth(kOfxBitDepthHalf) == PixelDepth::kHalf);
  CHECK(parse_pixel_depth(kOfxBitDepthFloat) == PixelDepth::kFloat);
  CHECK(!parse_pixel_depth(kOfxBitDepthNone));
  CHECK(!parse_pixel_depth("OfxBitDepthDouble"));
  CHECK_EQ(std::string(typestr(PixelDepth::kByte)), "|u1");
  CHECK_EQ(std::string(typestr(PixelDepth::kShort)), "<u2");
  CHECK_EQ(std::string(typestr(PixelDepth::kHalf)), "<f2");
  CHECK_EQ(std::string(typestr(PixelDepth::kFloat)), "<f4");
  CHECK_EQ(item_size(PixelDepth::kByte), 1);
  CHECK_EQ(item_size(PixelDepth::kShort), 2);
  CHECK_EQ(item_size(PixelDepth::kHalf), 2);
  CHECK_EQ(item_size(PixelDepth::kFloat), 4);
}

void components_and_premultiplication() {
  CHECK(parse_components(kOfxImageComponentRGBA) == Components::kRGBA);
  CHECK(parse_components(kOfxImageComponentRGB) == Components::kRGB);
  CHECK(parse_components(kOfxImageComponentAlpha) == Components::kAlpha);
  CHECK(!parse_components(kOfxImageComponentNone));
  CHECK(!parse_components("uk.co.thefoundry.OfxImageComponentMotionVectors"));
  CHECK_EQ(channel_count(Components::kRGBA), 4);
  CHECK_EQ(channel_count(Components::kRGB), 3);
  CHECK_EQ(channel_count(Components::kAlpha), 1);
  CHECK_EQ(std::string(components_name(Components::kAlpha)), "Alpha");
  CHECK(parse_premultiplication(kOfxImagePreMultiplied) == Premultiplication::kPremultiplied);
  CHECK(parse_premultiplication(kOfxImageUnPreMultiplied) == Premultiplication::kUnpremultiplied);
  CHECK(parse_premultiplication(kOfxImageOpaque) == Premultiplication::kOpaque);
  CHECK(parse_premultiplication("") == Premultiplication::kOpaque);
  CHECK_EQ(std::string(premultiplication_name(Premultiplication::kPremultiplied)), "premultiplied");
}

void positive_row_bytes_with_padding() {
  // 5 x 3 RGBA float, each row padded to 96 bytes.
  const ArrayGeometry g = array_geometry(rgba_float({0, 0, 5, 3}, 96));
  CHECK_EQ(g.shape[0], 3);
  CHECK_EQ(g.shape[1], 5);
  CHECK_EQ(g.shape[2], 4);
  CHECK_EQ(g.strides[0], 96);
  CHECK_EQ(g.strides[1], 16);
  CHECK_EQ(g.strides[2], 4);
}

void negative_row_bytes_are_kept() {
  // Top-down memory (MLT): data is the bottom row, which is the last row in memory.
  const ArrayGeometry g = array_geometry(rgba_float({0, 0, 5, 3}, -80));
  CHECK_EQ(g.strides[0], -80);
  CHECK_EQ(g.strides[1], 16);
  CHECK(layout_problem(rgba_float({0, 0, 5, 3}, -80)).empty());
}

void offset_bounds_give_the_size_not_the_origin() {
  const ImageLayout image = rgba_float({-10, 20, 30, 45}, 40 * 16);
  const ArrayGeometry g = array_geometry(image);
  CHECK_EQ(g.shape[0], 25);
  CHECK_EQ(g.shape[1], 40);
  CHECK(layout_problem(image).empty());
}

void short_rows_are_refused() {
  CHECK(!layout_problem(rgba_float({0, 0, 5, 3}, 79)).empty());
  CHECK(!layout_problem(rgba_float({0, 0, 5, 3}, -79)).empty());
  ImageLayout no_data = rgba_float({0, 0, 5, 3}, 80);
  no_data.data = nullptr;
  CHECK(!layout_problem(no_data).empty());
  // An empty image addresses nothing, so it needs no data.
  no_data.bounds = {4, 4, 4, 9};
  CHECK(layout_problem(no_data).empty());
}

void cuda_buffers_are_packed() {
  ImageLayout image = rgba_float({0, 0, 5, 3}, -999);
  image.on_cuda_device = true;
  image.depth = PixelDepth::kHalf;
  image.components = Components::kRGB;
  const ArrayGeometry g = array_geometry(image);
  CHECK_EQ(g.strides[0], 5 * 3 * 2);
  CHECK_EQ(g.strides[1], 6);
  CHECK_EQ(g.strides[2], 2);
  CHECK(layout_problem(image).empty());
}

void windows_are_clipped_to_bounds() {
  const OfxRectI r = intersect({-5, 2, 50, 8}, {0, 0, 40, 30});
  CHECK_EQ(r.x1, 0);
  CHECK_EQ(r.y1, 2);
  CHECK_EQ(r.x2, 40);
  CHECK_EQ(r.y2, 8);
  const OfxRectI none = intersect({50, 50, 60, 60}, {0, 0, 40, 30});
  CHECK(none.x2 <= none.x1);
}

}  // namespace

int main() {
  depths_map_to_dtypes();
  components_and_premultiplication();
  positive_row_bytes_with_padding();
  negative_row_bytes_are_kept();
  offset_bounds_give_the_size_not_the_origin();
  short_rows_are_refused();
  cuda_buffers_are_packed();
  windows_are_clipped_to_bounds();
  return check_exit_code();
}
