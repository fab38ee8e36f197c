// The node's parameters: script names (what hosts save in projects: never rename them), the choice
// options, and reading the values at a time. Their description lives in describe.cpp.
#ifndef NEURALSTYLE_PARAMS_H
#define NEURALSTYLE_PARAMS_H

#include <cstddef>
#include <string>

#include "ofx_abi.h"

namespace neuralstyle {

inline constexpr const char *kParamStyle = "style";
inline constexpr const char *kParamSecondStyle = "secondStyle";
inline constexpr const char *kParamStyleBlend = "styleBlend";
inline constexpr const char *kParamStrength = "strength";
inline constexpr const char *kParamDevice = "device";
inline constexpr const char *kParamMethod = "method";
inline constexpr const char *kParamStyleFile = "styleFile";
inline constexpr const char *kParamSecondStyleFile = "secondStyleFile";
inline constexpr const char *kParamPreserveColour = "preserveColour";
inline constexpr const char *kParamStrokeScale = "strokeScale";
inline constexpr const char *kParamMaskMode = "maskMode";
inline constexpr const char *kParamSeed = "seed";
inline constexpr const char *kParamInit = "init";
inline constexpr const char *kParamQuality = "quality";
inline constexpr const char *kParamStyleWeight = "styleWeight";

// Second style: option 0 is "None", option i + 1 is style i.
inline constexpr const char *kNoSecondStyleLabel = "None";

// A menu entry of a choice parameter: hosts save the index, the engine gets the value.
struct ChoiceOption {
  const char *label;  // what the menu shows
  const char *value;  // what the engine gets
};
inline constexpr ChoiceOption kDeviceOptions[] = {
    {"Auto", "auto"}, {"CPU", "cpu"}, {"CUDA", "cuda"}};
inline constexpr ChoiceOption kMethodOptions[] = {{"Built-in styles", "builtin"},
                                                  {"Any image: fast (AdaIN)", "adain"},
                                                  {"Any image: best (optimisation)", "optimize"}};
inline constexpr ChoiceOption kPreserveColourOptions[] = {
    {"None", "none"}, {"Luminance only", "luminance"}, {"Match colour histogram", "histogram"}};
inline constexpr ChoiceOption kMaskModeOptions[] = {
    {"Limits the effect", "strength"},
    {"Chooses the style (inside: Style, outside: Second)", "styles"}};
inline constexpr ChoiceOption kInitOptions[] = {{"Source", "content"}, {"Noise", "noise"}};
inline constexpr ChoiceOption kQualityOptions[] = {
    {"Draft", "draft"}, {"Standard", "standard"}, {"High", "high"}};

// Ranges of the numeric parameters; the engine checks them again (engine/request.py).
inline constexpr double kStrokeScaleMin = 0.1, kStrokeScaleMax = 10.0;
inline constexpr double kStyleWeightMax = 1e6, kStyleWeightDefault = 30.0;

struct ParamHandles {
  OfxParamHandle style = nullptr;
  OfxParamHandle second_style = nullptr;
  OfxParamHandle style_blend = nullptr;
  OfxParamHandle strength = nullptr;
  OfxParamHandle device = nullptr;
  OfxParamHandle method = nullptr;
  OfxParamHandle style_file = nullptr;
  OfxParamHandle second_style_file = nullptr;
  OfxParamHandle preserve_colour = nullptr;
  OfxParamHandle stroke_scale = nullptr;
  OfxParamHandle mask_mode = nullptr;
  OfxParamHandle seed = nullptr;
  OfxParamHandle init = nullptr;
  OfxParamHandle quality = nullptr;
  OfxParamHandle style_weight = nullptr;
};

// The contract's `params`: plain values, already evaluated at one time.
struct ParamValues {
  std::string style;
  std::string second_style;  // "" for none
  double style_blend = 0.5;
  double strength = 1.0;
  std::string device = "auto";
  std::string method = "builtin";
  std::string style_file;         // "" for none
  std::string second_style_file;  // "" for none
  std::string preserve_colour = "none";
  double stroke_scale = 1.0;
  std::string mask_mode = "strength";
  int seed = 0;
  std::string init = "content";
  std::string quality = "standard";
  double style_weight = kStyleWeightDefault;
};

// Throws ActionError when the host does not know one of our params.
ParamHandles fetch_param_handles(OfxImageEffectHandle effect);

// paramGetValueAtTime only: render and identity actions must not read paramGetValue, and animated
// values must be the ones at `time`. Throws ActionError for a failed read or an unknown option.
ParamValues read_params(const ParamHandles &handles, OfxTime time);

}  // namespace neuralstyle

#endif
