#include "describe.h"

#include <cstddef>
#include <string>

#include "clips.h"
#include "params.h"
#include "props.h"
#include "styles.h"
#include "suites.h"

namespace neuralstyle {
namespace {

void set_list(OfxPropertySetHandle props, const char *name, const std::vector<const char *> &list) {
  for (int i = 0; i < static_cast<int>(list.size()); ++i) set_string(props, name, list[i], i);
}

OfxStatus define_clip(OfxImageEffectHandle descriptor, const char *name,
                      const std::vector<const char *> &components, bool optional, bool is_mask,
                      const Capabilities &caps) {
  OfxPropertySetHandle clip = nullptr;
  const OfxStatus status = suites().effect->clipDefine(descriptor, name, &clip);
  if (status != kOfxStatOK) return status;
  set_list(clip, kOfxImageEffectPropSupportedComponents, components);
  set_int(clip, kOfxImageEffectPropSupportsTiles, caps.supports_tiles);
  set_int(clip, kOfxImageEffectPropTemporalClipAccess, caps.temporal_clip_access);
  if (optional) set_int(clip, kOfxImageClipPropOptional, 1);
  if (is_mask) set_int(clip, kOfxImageClipPropIsMask, 1);
  return kOfxStatOK;
}

OfxPropertySetHandle define_param(OfxParamSetHandle set, const char *type, const char *name,
                                  const char *label, const char *hint) {
  OfxPropertySetHandle props = nullptr;
  if (suites().param->paramDefine(set, type, name, &props) != kOfxStatOK) return nullptr;
  set_string(props, kOfxPropLabel, label);
  set_string(props, kOfxParamPropScriptName, name);
  set_string(props, kOfxParamPropHint, hint);
  return props;
}

// An animatable double with a hard range and a slider range: the host interpolates its keys, we
// read them at the render time. Null when the host refused it.
OfxPropertySetHandle define_double(OfxParamSetHandle set, const char *name, const char *label,
                                   const char *hint, double default_value, double min, double max,
                                   double display_max) {
  OfxPropertySetHandle p = define_param(set, kOfxParamTypeDouble, name, label, hint);
  if (!p) return nullptr;
  set_string(p, kOfxParamPropDoubleType, kOfxParamDoubleTypePlain);
  set_double(p, kOfxParamPropDefault, default_value);
  set_double(p, kOfxParamPropMin, min);
  set_double(p, kOfxParamPropMax, max);
  set_double(p, kOfxParamPropDisplayMin, min);
  set_double(p, kOfxParamPropDisplayMax, display_max);
  set_int(p, kOfxParamPropAnimates, 1);
  return p;
}

// A [0, 1] slider.
OfxStatus define_unit_double(OfxParamSetHandle set, const char *name, const char *label,
                             const char *hint, double default_value) {
  OfxPropertySetHandle p = define_double(set, name, label, hint, default_value, 0.0, 1.0, 1.0);
  if (!p) return kOfxStatFailed;
  set_double(p, kOfxParamPropIncrement, 0.01);
  set_int(p, kOfxParamPropDigits, 3);
  return kOfxStatOK;
}

template <std::size_t N>
OfxStatus define_choice(OfxParamSetHandle set, const char *name, const char *label,
                        const char *hint, const ChoiceOption (&options)[N], int default_option) {
  OfxPropertySetHandle p = define_param(set, kOfxParamTypeChoice, name, label, hint);
  if (!p) return kOfxStatFailed;
  for (std::size_t i = 0; i < N; ++i) {
    set_string(p, kOfxParamPropChoiceOption, options[i].label, static_cast<int>(i));
  }
  set_int(p, kOfxParamPropDefault, default_option);
  set_int(p, kOfxParamPropAnimates, 0);
  return kOfxStatOK;
}

OfxStatus define_file(OfxParamSetHandle set, const char *name, const char *label,
                      const char *hint) {
  OfxPropertySetHandle p = define_param(set, kOfxParamTypeString, name, label, hint);
  if (!p) return kOfxStatFailed;
  set_string(p, kOfxParamPropStringMode, kOfxParamStringIsFilePath);
  set_int(p, kOfxParamPropStringFilePathExists, 1);
  set_string(p, kOfxParamPropDefault, "");
  set_int(p, kOfxParamPropAnimates, 0);
  return kOfxStatOK;
}

// Style images, and the controls every method takes (optimisation-only ones say so).
OfxStatus define_control_params(OfxParamSetHandle set) {
  OfxStatus status = define_file(set, kParamStyleFile, "Style file",
                                 "Any image as the style (methods AdaIN and optimisation): a "
                                 "painting, a photograph, a texture. PNG, JPEG, TIFF, EXR...");
  if (status != kOfxStatOK) return status;
  status = define_file(set, kParamSecondStyleFile, "Second style file",
                       "A second style image, mixed in by Style blend (statistics or Gram "
                       "matrices are mixed, not pixels), or painted outside the mask when the "
                       "Mask chooses the style. Empty: none.");
  if (status != kOfxStatOK) return status;
  status = define_choice(set, kParamMaskMode, "Mask mode",
                         "What the Mask clip does. Limits the effect: 0 keeps the Source, soft "
                         "values blend. Chooses the style: 1 paints with the style, 0 with the "
                         "second style.",
                         kMaskModeOptions, 0);
  if (status != kOfxStatOK) return status;
  status = define_choice(set, kParamPreserveColour, "Preserve colour",
                         "Keep the Source's colours and take only the style's texture. Luminance "
                         "only: stylise the brightness. Match colour histogram: recolour the "
                         "style image to the Source's palette first (not for built-in styles).",
                         kPreserveColourOptions, 0);
  if (status != kOfxStatOK) return status;
  if (!define_double(set, kParamStrokeScale, "Stroke scale",
                     "Size of the brush strokes on the full-resolution frame, relative to the "
                     "style's own (2: twice as large). Proxy renders keep it.",
                     1.0, kStrokeScaleMin, kStrokeScaleMax, 4.0)) {
    return kOfxStatFailed;
  }
  status = define_choice(set, kParamQuality, "Quality",
                         "Optimisation only: how long each frame is optimised (Draft 60, Standard "
                         "200, High 500 steps per pyramid level). Large frames take minutes.",
                         kQualityOptions, 1);
  if (status != kOfxStatOK) return status;
  OfxPropertySetHandle p =
      define_param(set, kOfxParamTypeInteger, kParamSeed, "Seed",
                   "Optimisation only: the seed of the noise start image. The same seed gives "
                   "the same frame on every render node.");
  if (!p) return kOfxStatFailed;
  set_int(p, kOfxParamPropDefault, 0);
  set_int(p, kOfxParamPropMin, 0);
  set_int(p, kOfxParamPropAnimates, 0);
  status = define_choice(set, kParamInit, "Start from",
                         "Optimisation only: start from the Source (keeps its structure best) or "
                         "from noise (seeded).",
                         kInitOptions, 0);
  if (status != kOfxStatOK) return status;
  const bool ok =
      define_double(set, kParamStyleWeight, "Style weight",
                    "Optimisation only: weight of the style against the content; higher is "
                    "more stylised.",
                    kStyleWeightDefault, 0.0, kStyleWeightMax, 300.0);
  return ok ? kOfxStatOK : kOfxStatFailed;
}

std::string styles_hint(const char *lead) {
  std::string hint = lead;
  for (const StyleInfo &style : kStyles) {
    hint += std::string("\n") + style.name + ": " + style.description;
  }
  return hint;
}

OfxStatus define_params(OfxImageEffectHandle descriptor) {
  OfxParamSetHandle set = nullptr;
  if (suites().effect->getParamSet(descriptor, &set) != kOfxStatOK) return kOfxStatFailed;

  OfxStatus status = define_choice(
      set, kParamMethod, "Method",
      "Built-in styles: 26 styles, fast. Any image: fast (AdaIN): any Style file in one pass. Any "
      "image: best (optimisation): Gatys et al., slow (minutes per frame), reports progress.",
      kMethodOptions, 0);
  if (status != kOfxStatOK) return status;

  const std::string style_hint = styles_hint("The built-in style to paint the Source in.");
  OfxPropertySetHandle p =
      define_param(set, kOfxParamTypeChoice, kParamStyle, "Style", style_hint.c_str());
  if (!p) return kOfxStatFailed;
  for (int i = 0; i < kStyleCount; ++i)
    set_string(p, kOfxParamPropChoiceOption, kStyles[i].name, i);
  set_int(p, kOfxParamPropDefault, 0);
  set_int(p, kOfxParamPropAnimates, 0);  // a style is picked, not keyed: blends are keyed instead

  p = define_param(set, kOfxParamTypeChoice, kParamSecondStyle, "Second style",
                   "A second built-in style mixed with the first by Style blend (the networks mix, "
                   "not the pixels). None: the first style alone.");
  if (!p) return kOfxStatFailed;
  set_string(p, kOfxParamPropChoiceOption, kNoSecondStyleLabel, 0);
  for (int i = 0; i < kStyleCount; ++i) {
    set_string(p, kOfxParamPropChoiceOption, kStyles[i].name, i + 1);
  }
  set_int(p, kOfxParamPropDefault, 0);
  set_int(p, kOfxParamPropAnimates, 0);

  status = define_unit_double(
      set, kParamStyleBlend, "Style blend",
      "Weight of the second style: 0 is the first style alone, 1 the second alone.", 0.5);
  if (status != kOfxStatOK) return status;

  status = define_unit_double(set, kParamStrength, "Strength",
                              "How much of the stylised image replaces the Source: 0 returns the "
                              "Source unchanged, 1 the full style.",
                              1.0);
  if (status != kOfxStatOK) return status;
  status = define_control_params(set);
  if (status != kOfxStatOK) return status;
  return define_choice(set, kParamDevice, "Device",
                       "Where the network runs. Auto: the GPU when there is one, else the CPU.",
                       kDeviceOptions, 0);
}

}  // namespace

OfxStatus describe(OfxImageEffectHandle descriptor, const Identity &identity,
                   const Capabilities &caps) {
  OfxPropertySetHandle p = effect_props(descriptor);
  if (!p) return kOfxStatErrBadHandle;
  set_string(p, kOfxPropLabel, identity.label);
  set_string(p, kOfxImageEffectPluginPropGrouping, identity.grouping);
  set_string(p, kOfxPropPluginDescription, identity.description);
  set_int(p, kOfxPropVersion, static_cast<int>(identity.version_major), 0);
  set_int(p, kOfxPropVersion, static_cast<int>(identity.version_minor), 1);
  const std::string version =
      std::to_string(identity.version_major) + "." + std::to_string(identity.version_minor);
  set_string(p, kOfxPropVersionLabel, version.c_str());

  set_list(p, kOfxImageEffectPropSupportedContexts, caps.contexts);
  set_list(p, kOfxImageEffectPropSupportedPixelDepths, caps.pixel_depths);
  set_int(p, kOfxImageEffectPropSupportsTiles, caps.supports_tiles);
  set_int(p, kOfxImageEffectPluginPropHostFrameThreading, caps.host_frame_threading);
  set_int(p, kOfxImageEffectPluginPropFieldRenderTwiceAlways, caps.field_render_twice_always);
  set_string(p, kOfxImageEffectPluginRenderThreadSafety, caps.render_thread_safety);
  set_int(p, kOfxImageEffectPropSupportsMultiResolution, caps.supports_multi_resolution);
  set_int(p, kOfxImageEffectPropTemporalClipAccess, caps.temporal_clip_access);
  set_int(p, kOfxImageEffectPropSupportsMultipleClipDepths, 0);
  set_int(p, kOfxImageEffectPluginPropSingleInstance, 0);
  // GPU flags are newer than many hosts: a host that does not know them may refuse the set.
  set_string(p, kOfxImageEffectPropOpenGLRenderSupported, caps.opengl_render_supported);
  set_string(p, kOfxImageEffectPropCudaRenderSupported, caps.cuda_render_supported);
  set_string(p, kOfxImageEffectPropCudaStreamSupported, caps.cuda_stream_supported);
  return kOfxStatOK;
}

OfxStatus describe_in_context(OfxImageEffectHandle descriptor, OfxPropertySetHandle in_args,
                              const Capabilities &caps) {
  const std::string context = get_string(in_args, kOfxImageEffectPropContext);
  bool known = false;
  for (const char *c : caps.contexts) known = known || context == c;
  if (!known) return kOfxStatErrUnsupported;

  OfxStatus status = define_clip(descriptor, kClipSource, caps.components, false, false, caps);
  if (status == kOfxStatOK) {
    status = define_clip(descriptor, kClipMask, caps.mask_components, true, true, caps);
  }
  if (status == kOfxStatOK) {
    status = define_clip(descriptor, kClipOutput, caps.components, false, false, caps);
  }
  if (status != kOfxStatOK) return status;
  return define_params(descriptor);
}

}  // namespace neuralstyle
