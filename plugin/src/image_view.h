// An OFX image as the engine sees it (docs/contract.md, "Images"): read the image's properties into
// an ImageLayout, and turn a layout into the contract's dict over the host's memory, without a
// copy.
#ifndef NEURALSTYLE_IMAGE_VIEW_H
#define NEURALSTYLE_IMAGE_VIEW_H

#include <pybind11/pybind11.h>

#include "image_layout.h"
#include "ofx_abi.h"

namespace neuralstyle {

// Throws ActionError(kOfxStatErrUnsupported) for a depth or components we do not render, and
// ActionError(kOfxStatFailed) for a layout that cannot be viewed. `clip` names it in messages.
ImageLayout read_image(OfxPropertySetHandle image, bool on_cuda_device, const char *clip);

// Needs the GIL. {"pixels", "bounds", "components", "premultiplication"}. CPU: pixels is a numpy
// view of the host memory (read-only unless `writeable`); CUDA: an object with
// __cuda_array_interface__ v3. Both are valid only while the host image is.
pybind11::dict image_dict(const ImageLayout &image, bool writeable);

}  // namespace neuralstyle

#endif
