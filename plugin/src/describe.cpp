#include "describe.h"

#include <cstddef>
#include <string>

#include "clips.h"
#include "params.h"
#include "props.h"
#include "suites.h"
#include "temporal.h"

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

// One parameter of the generated table, as its kind needs it. Choices, files and integers do not
// animate: a style or a method is picked, not keyed (blends and strengths are keyed instead).
// Where the host gives effects no other frames (temporal.h), said on the temporal parameters.
constexpr const char *kNoTemporalHere =
    " This host gives effects no other frames (its OpenFX temporal clip access is off), so "
    "Temporal stability is off here.";

OfxStatus define_param(OfxParamSetHandle set, const ParamSpec &spec, bool disabled) {
  static constexpr const char *kTypes[] = {kOfxParamTypeDouble, kOfxParamTypeInteger,
                                           kOfxParamTypeChoice, kOfxParamTypeString};
  OfxPropertySetHandle p = nullptr;
  const char *type = kTypes[static_cast<int>(spec.kind)];
  if (suites().param->paramDefine(set, type, spec.script_name, &p) != kOfxStatOK || !p) {
    return kOfxStatFailed;
  }
  set_string(p, kOfxPropLabel, spec.label);
  set_string(p, kOfxParamPropScriptName, spec.script_name);
  set_string(p, kOfxParamPropHint,
             disabled ? (std::string(spec.hint) + kNoTemporalHere).c_str() : spec.hint);
  if (disabled) set_int(p, kOfxParamPropEnabled, 0);
  set_int(p, kOfxParamPropAnimates, spec.animates ? 1 : 0);
  switch (spec.kind) {
    case ParamKind::kDouble:
      set_string(p, kOfxParamPropDoubleType, kOfxParamDoubleTypePlain);
      set_double(p, kOfxParamPropDefault, spec.default_value);
      set_double(p, kOfxParamPropMin, spec.min);
      set_double(p, kOfxParamPropMax, spec.max);
      set_double(p, kOfxParamPropDisplayMin, spec.display_min);
      set_double(p, kOfxParamPropDisplayMax, spec.display_max);
      if (spec.increment > 0) set_double(p, kOfxParamPropIncrement, spec.increment);
      if (spec.digits > 0) set_int(p, kOfxParamPropDigits, spec.digits);
      break;
    case ParamKind::kInteger:
      set_int(p, kOfxParamPropDefault, static_cast<int>(spec.default_value));
      set_int(p, kOfxParamPropMin, static_cast<int>(spec.min));
      set_int(p, kOfxParamPropMax, static_cast<int>(spec.max));
      break;
    case ParamKind::kChoice:
      for (int i = 0; i < spec.option_count; ++i) {
        set_string(p, kOfxParamPropChoiceOption, spec.options[i].label, i);
      }
      set_int(p, kOfxParamPropDefault, static_cast<int>(spec.default_value));
      break;
    case ParamKind::kFilePath:
      set_string(p, kOfxParamPropStringMode, kOfxParamStringIsFilePath);
      set_int(p, kOfxParamPropStringFilePathExists, 1);
      set_string(p, kOfxParamPropDefault, "");
      break;
  }
  return kOfxStatOK;
}

OfxStatus define_params(OfxImageEffectHandle descriptor) {
  OfxParamSetHandle set = nullptr;
  if (suites().effect->getParamSet(descriptor, &set) != kOfxStatOK) return kOfxStatFailed;
  for (int id = 0; id < kParamCount; ++id) {
    const bool disabled = is_temporal_param(id) && !suites().temporal_clip_access;
    const OfxStatus status = define_param(set, kParams[id], disabled);
    if (status != kOfxStatOK) return status;
  }
  return kOfxStatOK;
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
