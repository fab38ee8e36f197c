#include "params.h"

#include <string>

#include "action_error.h"
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

std::string option_at(OfxParamHandle h, OfxTime time, const ParamSpec &spec) {
  const int option = value_at<int>(h, time, spec.script_name);
  if (option < 0 || option >= spec.option_count) {
    throw ActionError(kOfxStatErrValue, std::string("parameter '") + spec.script_name +
                                            "' has option " + std::to_string(option) +
                                            "; this build has " +
                                            std::to_string(spec.option_count));
  }
  return spec.options[option].value;
}

std::string string_at(OfxParamHandle h, OfxTime time, const char *name) {
  // The host owns the characters; a null string is an empty one.
  const char *value = value_at<char *>(h, time, name);
  return value ? std::string(value) : std::string();
}

ParamValue value_of(const ParamSpec &spec, OfxParamHandle h, OfxTime time) {
  switch (spec.kind) {
    case ParamKind::kDouble:
      return value_at<double>(h, time, spec.script_name);
    case ParamKind::kInteger:
      return value_at<int>(h, time, spec.script_name);
    case ParamKind::kChoice:
      return option_at(h, time, spec);
    case ParamKind::kFilePath:
      return string_at(h, time, spec.script_name);
  }
  throw ActionError(kOfxStatErrUnknown,
                    std::string("parameter '") + spec.script_name + "' has an unknown kind");
}

}  // namespace

ParamHandles fetch_param_handles(OfxImageEffectHandle effect) {
  OfxParamSetHandle set = nullptr;
  if (suites().effect->getParamSet(effect, &set) != kOfxStatOK) {
    throw ActionError(kOfxStatErrBadHandle, "the host gave no parameter set");
  }
  ParamHandles h;
  for (int i = 0; i < kParamCount; ++i) h.handles[i] = handle(set, kParams[i].script_name);
  return h;
}

ParamValues read_params(const ParamHandles &h, OfxTime time) {
  ParamValues v;
  for (int i = 0; i < kParamCount; ++i) v.values[i] = value_of(kParams[i], h.handles[i], time);
  return v;
}

}  // namespace neuralstyle
