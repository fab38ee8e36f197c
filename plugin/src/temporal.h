// Temporal stability in the plugin: the frames the node asks the host for
// (kOfxImageEffectActionGetFramesNeeded) and, for a render, the Source and Mask images of the
// other frames of the window t-K..t+K with the parameters at their times. The engine consolidates
// them (docs/contract.md, "Temporal stability"); a frame's output depends on that window alone.
//
// The host's kOfxImageEffectPropTemporalClipAccess is read, never assumed: MLT 7.41 says 0 and its
// clipGetImage returns the current frame whatever time is asked, so a plugin that asked it for
// neighbours would blend the frame with itself. There the parameters are shown disabled with a
// note (describe.cpp) and a project that has them on renders frame by frame, with a log line.
#ifndef NEURALSTYLE_TEMPORAL_H
#define NEURALSTYLE_TEMPORAL_H

#include <memory>
#include <vector>

#include "clip_image.h"
#include "engine.h"
#include "instance.h"

namespace neuralstyle {

// The parameters that only a host with temporal clip access can honour.
bool is_temporal_param(int id);

// K at these parameter values (0: off, or the host cannot give other frames).
int temporal_radius(const ParamValues &params);

// t-K..t+K (for optimisation from the start of t-K's warm-start segment), clamped to the Source's
// frame range, for the Source and a connected Mask; the default (this frame alone) when Temporal
// stability is off.
OfxStatus get_frames_needed(Instance &instance, OfxPropertySetHandle in_args,
                            OfxPropertySetHandle out_args);

// Fetches the other frames of `call`'s window (call.params at call.time must be read) into
// call.neighbours, holding the host's images until destroyed. Frames outside the Source's frame
// range are left out (the window is cut at the shot's ends); a frame inside it that the host does
// not give throws ActionError.
class TemporalImages {
 public:
  TemporalImages(Instance &instance, engine::RenderCall &call, bool cuda);

 private:
  std::vector<std::unique_ptr<ClipImage>> held_;
};

}  // namespace neuralstyle

#endif
