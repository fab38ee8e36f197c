// What the Output holds after a failed render. Hosts that honour the failed status discard the
// buffer (Natron, Nuke); MLT and its editors (Kdenlive, Shotcut) ignore it and show whatever the
// buffer holds, so the plugin fills it before answering the error: never a partial frame, never
// a previous frame's leftovers. The choice is the node's "Failed frame shows" parameter.
#ifndef NEURALSTYLE_FAILED_FRAME_H
#define NEURALSTYLE_FAILED_FRAME_H

#include <string>

#include "image_layout.h"

namespace neuralstyle {

enum class FailedFrameFill { kBlack, kSource, kErrorColour };

// The parameter's value ("source", "black", "error"); anything else reads as black.
FailedFrameFill parse_failed_frame_fill(const std::string &value);

// Fills `window` of `dst` (CPU memory; a CUDA buffer is left to the host): transparent black,
// the Source's pixels where `src` has them (black elsewhere, or everywhere when `src` is null or
// of another format), or opaque magenta (1, 0, 1, 1 in the output's depth; premultiplied alike).
void fill_failed_frame(const ImageLayout &dst, const OfxRectI &window, FailedFrameFill fill,
                       const ImageLayout *src);

}  // namespace neuralstyle

#endif
