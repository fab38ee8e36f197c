// The contract's image dicts over host memory (plugin/src/image_view.h): zero-copy (same data
// pointer), OFX orientation, negative row bytes kept, dtypes, writeability, the CUDA interface.
// main owns the only interpreter, started through the plugin's Interpreter.
#include <pybind11/eval.h>
#include <pybind11/numpy.h>

#include <cstdint>
#include <vector>

#include "check.h"
#include "image_view.h"
#include "interpreter.h"

namespace py = pybind11;
using namespace neuralstyle;

namespace {

constexpr int kWidth = 5;
constexpr int kHeight = 3;

// pixel (x, y), y counted from the bottom, channel c
float value_at(int x, int y, int c) { return static_cast<float>(y * 1000 + x * 10 + c); }

bool py_true(const char *expression, const py::dict &scope) {
  return py::eval(expression, py::globals(), scope).cast<bool>();
}

// Top-down memory, as MLT lays it out: the bottom row (OFX data) is the last row in memory.
void negative_row_bytes_view_the_host_memory() {
  std::vector<float> memory(kWidth * kHeight * 4);
  for (int row = 0; row < kHeight; ++row) {
    for (int x = 0; x < kWidth; ++x) {
      for (int c = 0; c < 4; ++c)
        memory[(row * kWidth + x) * 4 + c] = value_at(x, kHeight - 1 - row, c);
    }
  }
  ImageLayout image;
  image.data = &memory[(kHeight - 1) * kWidth * 4];
  image.bounds = {100, 200, 100 + kWidth, 200 + kHeight};
  image.row_bytes = -kWidth * 16;
  image.depth = PixelDepth::kFloat;
  image.components = Components::kRGBA;
  image.premultiplication = Premultiplication::kPremultiplied;

  py::dict scope;
  scope["np"] = py::module_::import("numpy");
  scope["src"] = image_dict(image, false);
  scope["dst"] = image_dict(image, true);
  scope["ptr"] = reinterpret_cast<std::uintptr_t>(image.data);
  CHECK(py_true("src['pixels'].__array_interface__['data'][0] == ptr", scope));
  CHECK(py_true("src['pixels'].shape == (3, 5, 4)", scope));
  CHECK(py_true("src['pixels'].strides == (-80, 16, 4)", scope));
  CHECK(py_true("src['pixels'].dtype == np.float32", scope));
  CHECK(py_true("not src['pixels'].flags.owndata", scope));
  CHECK(py_true("not src['pixels'].flags.writeable", scope));
  CHECK(py_true("dst['pixels'].flags.writeable", scope));
  // Row 0 is the bottom row: [y, x, c] holds value_at(x, y, c).
  CHECK(
      py_true("np.array_equal(src['pixels'], np.fromfunction("
              "lambda y, x, c: y * 1000 + x * 10 + c, (3, 5, 4)))",
              scope));
  CHECK(py_true("src['bounds'] == (100, 200, 105, 203)", scope));
  CHECK(py_true("src['components'] == 'RGBA'", scope));
  CHECK(py_true("src['premultiplication'] == 'premultiplied'", scope));

  // The engine's writes land in the host's memory.
  py::exec("dst['pixels'][0, 1, 2] = -7.0\ndst['pixels'][2, 4, 3] = -9.0", py::globals(), scope);
  CHECK_EQ(static_cast<float *>(image.data)[1 * 4 + 2], -7.0f);
  CHECK_EQ(memory[4 * 4 + 3], -9.0f);  // top row (y = 2) is first in memory
}

void depths_give_dtypes() {
  std::vector<std::uint8_t> memory(64);
  const struct {
    PixelDepth depth;
    Components components;
    const char *dtype;
    int channels;
  } cases[] = {{PixelDepth::kByte, Components::kRGBA, "uint8", 4},
               {PixelDepth::kShort, Components::kRGB, "uint16", 3},
               {PixelDepth::kHalf, Components::kAlpha, "float16", 1},
               {PixelDepth::kFloat, Components::kRGB, "float32", 3}};
  for (const auto &c : cases) {
    ImageLayout image;
    image.data = memory.data();
    image.bounds = {0, 0, 2, 2};
    image.depth = c.depth;
    image.components = c.components;
    image.row_bytes = 2 * channel_count(c.components) * item_size(c.depth);
    py::dict scope;
    scope["d"] = image_dict(image, false);
    scope["dtype"] = c.dtype;
    scope["channels"] = c.channels;
    CHECK(py_true("str(d['pixels'].dtype) == dtype", scope));
    CHECK(py_true("d['pixels'].shape == (2, 2, channels)", scope));
  }
}

void empty_images_have_zero_rows() {
  ImageLayout image;
  image.bounds = {10, 10, 10, 20};
  py::dict scope;
  scope["d"] = image_dict(image, false);
  CHECK(py_true("d['pixels'].shape == (10, 0, 4)", scope));
}

void cuda_buffers_expose_the_interface() {
  ImageLayout image;
  image.data = reinterpret_cast<void *>(std::uintptr_t{0x7f0000001000});
  image.bounds = {0, 0, 1920, 1080};
  image.depth = PixelDepth::kFloat;
  image.components = Components::kRGBA;
  image.on_cuda_device = true;
  py::dict scope;
  scope["src"] = image_dict(image, false);
  scope["dst"] = image_dict(image, true);
  scope["ptr"] = reinterpret_cast<std::uintptr_t>(image.data);
  CHECK(
      py_true("src['pixels'].__cuda_array_interface__ == {'shape': (1080, 1920, 4), "
              "'typestr': '<f4', 'data': (ptr, True), 'strides': None, 'version': 3}",
              scope));
  CHECK(py_true("dst['pixels'].__cuda_array_interface__['data'] == (ptr, False)", scope));
}

}  // namespace

int main() {
  Interpreter &python = Interpreter::process();
  if (!python.ensure()) {
    std::cerr << python.error() << "\n";
    return 1;
  }
  py::gil_scoped_acquire gil;
  Interpreter::add_site_dirs({NEURALSTYLE_TEST_SITE_DIR});
  negative_row_bytes_view_the_host_memory();
  depths_give_dtypes();
  empty_images_have_zero_rows();
  cuda_buffers_expose_the_interface();
  return check_exit_code();
}
