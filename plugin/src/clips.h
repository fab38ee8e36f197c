// The node's clips and what it negotiates about them: clip preferences, region of definition,
// regions of interest. The CNN sees whole frames, so the regions are whole-frame.
#ifndef NEURALSTYLE_CLIPS_H
#define NEURALSTYLE_CLIPS_H

#include "ofx_abi.h"

namespace neuralstyle {

inline constexpr const char *kClipSource = kOfxImageEffectSimpleSourceClipName;
inline constexpr const char *kClipMask = "Mask";
inline constexpr const char *kClipOutput = kOfxImageEffectOutputClipName;

struct ClipHandles {
  OfxImageClipHandle source = nullptr;
  OfxImageClipHandle mask = nullptr;
  OfxImageClipHandle output = nullptr;
};

// Throws ActionError when the host lacks Source or Output.
ClipHandles fetch_clip_handles(OfxImageEffectHandle effect);

bool is_connected(OfxImageClipHandle clip);

// The output has the Source's depth, components and premultiplication; Source and Mask are asked
// in a form we render.
OfxStatus get_clip_preferences(const ClipHandles &clips, OfxPropertySetHandle out_args);

// (height, width) in pixels of the Source's region of definition at full resolution (render
// scale 1), or {0, 0} when the host does not say. Regions of definition are in canonical
// coordinates: render-scale independent, x scaled by the pixel aspect ratio.
void source_frame_size(const ClipHandles &clips, OfxTime time, int size[2]);

// The Source's region of definition.
OfxStatus get_region_of_definition(const ClipHandles &clips, OfxPropertySetHandle in_args,
                                   OfxPropertySetHandle out_args);

// The Source's whole region of definition, for Source and Mask, whatever window is rendered.
OfxStatus get_regions_of_interest(const ClipHandles &clips, OfxPropertySetHandle in_args,
                                  OfxPropertySetHandle out_args);

}  // namespace neuralstyle

#endif
