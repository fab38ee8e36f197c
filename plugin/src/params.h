// The node's parameters: script names (what hosts save in projects: never rename them), the choice
// options, and reading the values at a time. Their description lives in describe.cpp.
#ifndef NEURALSTYLE_PARAMS_H
#define NEURALSTYLE_PARAMS_H

#include <string>

#include "ofx_abi.h"

namespace neuralstyle {

inline constexpr const char *kParamStyle = "style";
inline constexpr const char *kParamSecondStyle = "secondStyle";
inline constexpr const char *kParamStyleBlend = "styleBlend";
inline constexpr const char *kParamStrength = "strength";
inline constexpr const char *kParamDevice = "device";

// Second style: option 0 is "None", option i + 1 is style i.
inline constexpr const char *kNoSecondStyleLabel = "None";

struct DeviceOption {
  const char *label;  // what the menu shows
  const char *value;  // what the engine gets
};
inline constexpr DeviceOption kDeviceOptions[] = {
    {"Auto", "auto"}, {"CPU", "cpu"}, {"CUDA", "cuda"}};

struct ParamHandles {
  OfxParamHandle style = nullptr;
  OfxParamHandle second_style = nullptr;
  OfxParamHandle style_blend = nullptr;
  OfxParamHandle strength = nullptr;
  OfxParamHandle device = nullptr;
};

// The contract's `params`: plain values, already evaluated at one time.
struct ParamValues {
  std::string style;
  std::string second_style;  // "" for none
  double style_blend = 0.5;
  double strength = 1.0;
  std::string device = "auto";
};

// Throws ActionError when the host does not know one of our params.
ParamHandles fetch_param_handles(OfxImageEffectHandle effect);

// paramGetValueAtTime only: render and identity actions must not read paramGetValue, and animated
// values must be the ones at `time`. Throws ActionError for a failed read or an unknown option.
ParamValues read_params(const ParamHandles &handles, OfxTime time);

}  // namespace neuralstyle

#endif
