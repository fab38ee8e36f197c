#include "image_view.h"

#include <pybind11/numpy.h>

#include <cstdint>
#include <string>

#include "action_error.h"
#include "props.h"

namespace py = pybind11;

namespace neuralstyle {
namespace {

py::tuple rect_tuple(const OfxRectI &r) { return py::make_tuple(r.x1, r.y1, r.x2, r.y2); }

py::array cpu_pixels(const ImageLayout &image, const ArrayGeometry &g, bool writeable) {
  const py::dtype dtype(typestr(image.depth));
  const std::vector<py::ssize_t> shape(g.shape.begin(), g.shape.end());
  if (shape[0] == 0 || shape[1] == 0) return py::array(dtype, shape);  // nothing to view
  const std::vector<py::ssize_t> strides(g.strides.begin(), g.strides.end());
  // A base object stops numpy from copying. It owns nothing and has no destructor, so an array the
  // engine kept by mistake holds no pointer into this binary after the host unloads it.
  const py::capsule base(image.data, "neuralstyle.host_pixels");
  py::array pixels(dtype, shape, strides, image.data, base);
  if (!writeable) pixels.attr("setflags")(py::arg("write") = false);
  return pixels;
}

py::object cuda_pixels(const ImageLayout &image, const ArrayGeometry &g, bool writeable) {
  py::dict interface;
  interface["shape"] = py::make_tuple(g.shape[0], g.shape[1], g.shape[2]);
  interface["typestr"] = typestr(image.depth);
  interface["data"] = py::make_tuple(reinterpret_cast<std::uintptr_t>(image.data), !writeable);
  interface["strides"] = py::none();  // packed
  interface["version"] = 3;
  // No "stream" key: the engine gets the host's stream as render(cuda_stream=...) and runs on it.
  return py::module_::import("types").attr("SimpleNamespace")(py::arg("__cuda_array_interface__") =
                                                                  interface);
}

}  // namespace

ImageLayout read_image(OfxPropertySetHandle image, bool on_cuda_device, const char *clip) {
  ImageLayout layout;
  const std::string depth = get_string(image, kOfxImageEffectPropPixelDepth);
  const std::string components = get_string(image, kOfxImageEffectPropComponents);
  const auto parsed_depth = parse_pixel_depth(depth);
  if (!parsed_depth) {
    throw ActionError(kOfxStatErrUnsupported,
                      std::string("Neural Style renders byte, short, half or float images; the ") +
                          clip + " clip gives '" + depth + "'");
  }
  const auto parsed_components = parse_components(components);
  if (!parsed_components) {
    throw ActionError(kOfxStatErrUnsupported,
                      std::string("Neural Style renders RGBA, RGB or Alpha images; the ") + clip +
                          " clip gives '" + components + "'");
  }
  layout.data = get_pointer(image, kOfxImagePropData);
  layout.bounds = get_rect_i(image, kOfxImagePropBounds);
  layout.row_bytes = get_int(image, kOfxImagePropRowBytes);
  layout.depth = *parsed_depth;
  layout.components = *parsed_components;
  layout.premultiplication =
      parse_premultiplication(get_string(image, kOfxImageEffectPropPreMultiplication));
  layout.on_cuda_device = on_cuda_device;
  const std::string problem = layout_problem(layout);
  if (!problem.empty()) {
    throw ActionError(kOfxStatFailed, std::string("the ") + clip + " image: " + problem);
  }
  return layout;
}

py::dict image_dict(const ImageLayout &image, bool writeable) {
  const ArrayGeometry g = array_geometry(image);
  py::dict d;
  d["pixels"] =
      image.on_cuda_device ? cuda_pixels(image, g, writeable) : cpu_pixels(image, g, writeable);
  d["bounds"] = rect_tuple(image.bounds);
  d["components"] = components_name(image.components);
  d["premultiplication"] = premultiplication_name(image.premultiplication);
  return d;
}

}  // namespace neuralstyle
