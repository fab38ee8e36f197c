#include "params.h"

#include <cstddef>
#include <string>

#include "action_error.h"
#include "styles.h"
#include "suites.h"

namespace neuralstyle {
namespace {

OfxParamHandle handle(OfxParamSetHandle set, const char *name) {
  OfxParamHandle h = nullptr;
  if (suites().param->paramGetHandle(set, name, &h, nullptr) != kOfxStatOK || !h) {
    throw ActionError(kOfxStatErrUnknown, std::string("the host has no parameter '") + name + "'");
  }
  return h;
}

template <typename T>
T value_at(OfxParamHandle h, OfxTime time, const char *name) {
  T value{};
  if (suites().param->paramGetValueAtTime(h, time, &value) != kOfxStatOK) {
    throw ActionError(kOfxStatFailed, std::string("could not read parameter '") + name +
                                          "' at time " + std::to_string(time));
  }
  return value;
}

int option_at(OfxParamHandle h, OfxTime time, const char *name, int count) {
  const int option = value_at<int>(h, time, name);
  if (option < 0 || option >= count) {
    throw ActionError(kOfxStatErrValue, std::string("parameter '") + name + "' has option " +
                                            std::to_string(option) + "; this build has " +
                                            std::to_string(count));
  }
  return option;
}

template <std::size_t N>
const char *choice_at(OfxParamHandle h, OfxTime time, const char *name,
                      const ChoiceOption (&options)[N]) {
  return options[option_at(h, time, name, static_cast<int>(N))].value;
}

std::string string_at(OfxParamHandle h, OfxTime time, const char *name) {
  char *value = nullptr;
  if (suites().param->paramGetValueAtTime(h, time, &value) != kOfxStatOK) {
    throw ActionError(kOfxStatFailed, std::string("could not read parameter '") + name +
                                          "' at time " + std::to_string(time));
  }
  return value ? std::string(value) : std::string();  // the host owns the characters
}

}  // namespace

ParamHandles fetch_param_handles(OfxImageEffectHandle effect) {
  OfxParamSetHandle set = nullptr;
  if (suites().effect->getParamSet(effect, &set) != kOfxStatOK) {
    throw ActionError(kOfxStatErrBadHandle, "the host gave no parameter set");
  }
  ParamHandles h;
  h.style = handle(set, kParamStyle);
  h.second_style = handle(set, kParamSecondStyle);
  h.style_blend = handle(set, kParamStyleBlend);
  h.strength = handle(set, kParamStrength);
  h.device = handle(set, kParamDevice);
  h.method = handle(set, kParamMethod);
  h.style_file = handle(set, kParamStyleFile);
  h.second_style_file = handle(set, kParamSecondStyleFile);
  h.preserve_colour = handle(set, kParamPreserveColour);
  h.stroke_scale = handle(set, kParamStrokeScale);
  h.mask_mode = handle(set, kParamMaskMode);
  h.seed = handle(set, kParamSeed);
  h.init = handle(set, kParamInit);
  h.quality = handle(set, kParamQuality);
  h.style_weight = handle(set, kParamStyleWeight);
  return h;
}

ParamValues read_params(const ParamHandles &h, OfxTime time) {
  ParamValues v;
  v.style = kStyles[option_at(h.style, time, kParamStyle, kStyleCount)].name;
  const int second = option_at(h.second_style, time, kParamSecondStyle, kStyleCount + 1);
  v.second_style = second == 0 ? "" : kStyles[second - 1].name;
  v.style_blend = value_at<double>(h.style_blend, time, kParamStyleBlend);
  v.strength = value_at<double>(h.strength, time, kParamStrength);
  v.device = choice_at(h.device, time, kParamDevice, kDeviceOptions);
  v.method = choice_at(h.method, time, kParamMethod, kMethodOptions);
  v.style_file = string_at(h.style_file, time, kParamStyleFile);
  v.second_style_file = string_at(h.second_style_file, time, kParamSecondStyleFile);
  v.preserve_colour =
      choice_at(h.preserve_colour, time, kParamPreserveColour, kPreserveColourOptions);
  v.stroke_scale = value_at<double>(h.stroke_scale, time, kParamStrokeScale);
  v.mask_mode = choice_at(h.mask_mode, time, kParamMaskMode, kMaskModeOptions);
  v.seed = value_at<int>(h.seed, time, kParamSeed);
  v.init = choice_at(h.init, time, kParamInit, kInitOptions);
  v.quality = choice_at(h.quality, time, kParamQuality, kQualityOptions);
  v.style_weight = value_at<double>(h.style_weight, time, kParamStyleWeight);
  return v;
}

}  // namespace neuralstyle
