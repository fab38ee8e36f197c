// .npy files (numpy's format, versions 1-3): C-order (H, W) or (H, W, C) images with C in {1, 3, 4}
// and dtype uint8, uint16, float16 or float32, little-endian. Rows are top-down, as numpy shows
// them.
#ifndef OFXHOST_NPY_H
#define OFXHOST_NPY_H

#include <string>

#include "images.h"

namespace ofxhost {

// Returns false and sets *error (naming the file) when the file is missing or not such an image.
bool readNpy(const std::string &path, Array *out, std::string *error);
// Writes (H, W, C) atomically: a temporary file in the same directory, then rename.
bool writeNpy(const std::string &path, const Array &a, std::string *error);

}  // namespace ofxhost

#endif
