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

// The clip's property set, or null.
OfxPropertySetHandle clip_props(OfxImageClipHandle clip);

// Throws ActionError when the host lacks Source or Output.
ClipHandles fetch_clip_handles(OfxImageEffectHandle effect);

bool is_connected(OfxImageClipHandle clip);

// The output has the Source's depth, components and premultiplication; Source and Mask are asked
// in a form we render.
OfxStatus get_clip_preferences(const ClipHandles &clips, OfxPropertySetHandle out_args);

// (height, width) in pixels of the full frame (render scale 1) of which the Source image with
// `bounds` is the render at `render_scale` (x, y), or {0, 0} when the host does not say.
//
// The frame is the Source's region of definition (x divided by the pixel aspect ratio). The spec
// puts it in canonical coordinates, independent of the render scale (Natron, Nuke); MLT gives it
// in the pixels of the proxy image it hands over. Which one a host did is read off the image:
// 1. the image is the region times the render scale (a pixel of slack per side: hosts round):
//    canonical, the region is the frame;
// 2. otherwise, when the region is the image's own bounds (half a pixel per edge) and the scale
//    is not 1: proxy pixels, the frame is the bounds' width over the x scale and height over the
//    y scale (MLT rounds each side of a proxy on its own: 641x359 at 0.5 is 320x178, render
//    scale (0.4992, 0.4958));
// 3. otherwise (a crop or tile upstream): the region, as the spec says; the engine then finds
//    the image is not that frame and takes the image's size over the render scale.
// Rule 1 goes first, so a host that follows the spec is always read the spec's way; proxy pixels
// pass rule 1 only at a scale so near 1 that the two readings are at most a pixel apart.
void source_frame_size(const ClipHandles &clips, OfxTime time, const double render_scale[2],
                       const OfxRectI &bounds, int size[2]);

// The Source's region of definition.
OfxStatus get_region_of_definition(const ClipHandles &clips, OfxPropertySetHandle in_args,
                                   OfxPropertySetHandle out_args);

// The Source's whole region of definition, for Source and Mask, whatever window is rendered.
OfxStatus get_regions_of_interest(const ClipHandles &clips, OfxPropertySetHandle in_args,
                                  OfxPropertySetHandle out_args);

}  // namespace neuralstyle

#endif
