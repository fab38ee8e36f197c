#include "clips.h"

#include <cmath>
#include <string>

#include "action_error.h"
#include "image_layout.h"
#include "props.h"
#include "suites.h"

namespace neuralstyle {

OfxPropertySetHandle clip_props(OfxImageClipHandle clip) {
  OfxPropertySetHandle props = nullptr;
  if (clip) suites().effect->clipGetPropertySet(clip, &props);
  return props;
}

namespace {

// What the upstream delivers, before any mapping the host did for us.
std::string unmapped(OfxPropertySetHandle clip, const char *unmapped_name, const char *name) {
  std::string value = get_string(clip, unmapped_name);
  return value.empty() ? get_string(clip, name) : value;
}

bool source_rod(const ClipHandles &clips, OfxPropertySetHandle in_args, OfxRectD *rod) {
  const OfxTime time = get_double(in_args, kOfxPropTime);
  return suites().effect->clipGetRegionOfDefinition(clips.source, time, rod) == kOfxStatOK;
}

bool within(double a, double b, double slack) { return std::fabs(a - b) <= slack; }

// Rule 2 of source_frame_size: the region is the image's own bounds, at a render scale not 1.
bool in_proxy_pixels(const OfxRectD &rod, const OfxRectI &bounds, const double scale[2]) {
  const bool scaled = scale[0] > 0.0 && scale[1] > 0.0 && (scale[0] != 1.0 || scale[1] != 1.0);
  return scaled && within(rod.x1, bounds.x1, 0.5) && within(rod.y1, bounds.y1, 0.5) &&
         within(rod.x2, bounds.x2, 0.5) && within(rod.y2, bounds.y2, 0.5);
}

}  // namespace

void source_frame_size(const ClipHandles &clips, OfxTime time, const double render_scale[2],
                       const OfxRectI &bounds, int size[2]) {
  size[0] = size[1] = 0;
  OfxRectD rod{0, 0, 0, 0};
  if (suites().effect->clipGetRegionOfDefinition(clips.source, time, &rod) != kOfxStatOK) return;
  double aspect = get_double(clip_props(clips.source), kOfxImagePropPixelAspectRatio, 0, 1.0);
  if (!(aspect > 0.0)) aspect = 1.0;
  rod.x1 /= aspect;
  rod.x2 /= aspect;
  double width = rod.x2 - rod.x1, height = rod.y2 - rod.y1;
  const double image_width = bounds.x2 - bounds.x1, image_height = bounds.y2 - bounds.y1;
  const bool canonical = within(width * render_scale[0], image_width, 1.0) &&
                         within(height * render_scale[1], image_height, 1.0);
  if (!canonical && in_proxy_pixels(rod, bounds, render_scale)) {
    width = image_width / render_scale[0];
    height = image_height / render_scale[1];
  }
  height = std::round(height);
  width = std::round(width);
  if (height >= 1.0 && width >= 1.0 && height < 1e6 && width < 1e6) {
    size[0] = static_cast<int>(height);
    size[1] = static_cast<int>(width);
  }
}

ClipHandles fetch_clip_handles(OfxImageEffectHandle effect) {
  ClipHandles clips;
  const OfxImageEffectSuiteV1 &fx = *suites().effect;
  if (fx.clipGetHandle(effect, kClipSource, &clips.source, nullptr) != kOfxStatOK ||
      fx.clipGetHandle(effect, kClipOutput, &clips.output, nullptr) != kOfxStatOK) {
    throw ActionError(kOfxStatErrBadHandle, "the host gave no Source or Output clip");
  }
  if (fx.clipGetHandle(effect, kClipMask, &clips.mask, nullptr) != kOfxStatOK) clips.mask = nullptr;
  return clips;
}

bool is_connected(OfxImageClipHandle clip) {
  return clip && get_int(clip_props(clip), kOfxImageClipPropConnected) != 0;
}

OfxStatus get_clip_preferences(const ClipHandles &clips, OfxPropertySetHandle out_args) {
  OfxPropertySetHandle source = clip_props(clips.source);
  if (!source) return kOfxStatReplyDefault;
  std::string depth =
      unmapped(source, kOfxImageClipPropUnmappedPixelDepth, kOfxImageEffectPropPixelDepth);
  if (!parse_pixel_depth(depth)) depth = kOfxBitDepthFloat;
  std::string components =
      unmapped(source, kOfxImageClipPropUnmappedComponents, kOfxImageEffectPropComponents);
  if (!parse_components(components)) components = kOfxImageComponentRGBA;

  const std::string source_name = kClipSource;
  const std::string output_name = kClipOutput;
  for (const std::string &clip : {source_name, output_name}) {
    set_string(out_args, (kOfxImageClipPropDepthPrefix + clip).c_str(), depth.c_str());
    set_string(out_args, (kOfxImageClipPropComponentsPrefix + clip).c_str(), components.c_str());
  }
  if (is_connected(clips.mask)) {
    const std::string mask_name = std::string(kClipMask);
    const std::string mask_components =
        unmapped(clip_props(clips.mask), kOfxImageClipPropUnmappedComponents,
                 kOfxImageEffectPropComponents) == kOfxImageComponentAlpha
            ? kOfxImageComponentAlpha
            : kOfxImageComponentRGBA;
    set_string(out_args, (kOfxImageClipPropDepthPrefix + mask_name).c_str(), depth.c_str());
    set_string(out_args, (kOfxImageClipPropComponentsPrefix + mask_name).c_str(),
               mask_components.c_str());
  }
  const std::string premultiplication =
      get_string(source, kOfxImageEffectPropPreMultiplication, 0, kOfxImageOpaque);
  set_string(out_args, kOfxImageEffectPropPreMultiplication, premultiplication.c_str());
  return kOfxStatOK;
}

OfxStatus get_region_of_definition(const ClipHandles &clips, OfxPropertySetHandle in_args,
                                   OfxPropertySetHandle out_args) {
  OfxRectD rod{0, 0, 0, 0};
  if (!source_rod(clips, in_args, &rod)) return kOfxStatReplyDefault;
  set_rect_d(out_args, kOfxImageEffectPropRegionOfDefinition, rod);
  return kOfxStatOK;
}

OfxStatus get_regions_of_interest(const ClipHandles &clips, OfxPropertySetHandle in_args,
                                  OfxPropertySetHandle out_args) {
  OfxRectD rod{0, 0, 0, 0};
  if (!source_rod(clips, in_args, &rod)) return kOfxStatReplyDefault;
  set_rect_d(out_args, (std::string(kOfxImageClipPropRoIPrefix) + kClipSource).c_str(), rod);
  // Only a connected Mask has an RoI property for us to set.
  if (is_connected(clips.mask)) {
    set_rect_d(out_args, (std::string(kOfxImageClipPropRoIPrefix) + kClipMask).c_str(), rod);
  }
  return kOfxStatOK;
}

}  // namespace neuralstyle
