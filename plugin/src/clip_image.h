// A clip's image for the length of an action: the host gets it back however the action ends.
#ifndef NEURALSTYLE_CLIP_IMAGE_H
#define NEURALSTYLE_CLIP_IMAGE_H

#include "ofx_abi.h"
#include "suites.h"

namespace neuralstyle {

class ClipImage {
 public:
  ClipImage(OfxImageClipHandle clip, OfxTime time) {
    if (suites().effect->clipGetImage(clip, time, nullptr, &props_) != kOfxStatOK) props_ = nullptr;
  }
  ~ClipImage() {
    if (props_) suites().effect->clipReleaseImage(props_);
  }
  ClipImage(const ClipImage &) = delete;
  ClipImage &operator=(const ClipImage &) = delete;

  // Null when the host had no image.
  OfxPropertySetHandle props() const { return props_; }

 private:
  OfxPropertySetHandle props_ = nullptr;
};

}  // namespace neuralstyle

#endif
