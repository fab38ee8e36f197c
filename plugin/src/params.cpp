#include "params.h"

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
  return h;
}

ParamValues read_params(const ParamHandles &h, OfxTime time) {
  constexpr int kDeviceCount = sizeof(kDeviceOptions) / sizeof(kDeviceOptions[0]);
  ParamValues v;
  v.style = kStyles[option_at(h.style, time, kParamStyle, kStyleCount)].name;
  const int second = option_at(h.second_style, time, kParamSecondStyle, kStyleCount + 1);
  v.second_style = second == 0 ? "" : kStyles[second - 1].name;
  v.style_blend = value_at<double>(h.style_blend, time, kParamStyleBlend);
  v.strength = value_at<double>(h.strength, time, kParamStrength);
  v.device = kDeviceOptions[option_at(h.device, time, kParamDevice, kDeviceCount)].value;
  return v;
}

}  // namespace neuralstyle
