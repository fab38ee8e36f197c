// The node's parameters: handles and values at a time, for every entry of the generated table
// (generated/params_table.h, from python/neuralstyle/params/table.py). Describe is in describe.cpp.
#ifndef NEURALSTYLE_PARAMS_H
#define NEURALSTYLE_PARAMS_H

#include <array>
#include <string>
#include <variant>

#include "ofx_abi.h"
#include "params_table.h"

namespace neuralstyle {

struct ParamHandles {
  std::array<OfxParamHandle, kParamCount> handles{};
};

// A double, an integer, or a string: a choice's option value or a file path.
using ParamValue = std::variant<double, int, std::string>;

// The contract's `params`: plain values, already evaluated at one time, in table order.
struct ParamValues {
  std::array<ParamValue, kParamCount> values;

  const std::string &text(ParamId id) const { return std::get<std::string>(values[id]); }
};

// Throws ActionError when the host does not know one of our params.
ParamHandles fetch_param_handles(OfxImageEffectHandle effect);

// paramGetValueAtTime only: render and identity actions must not read paramGetValue, and animated
// values must be the ones at `time`. Throws ActionError for a failed read or an unknown option.
ParamValues read_params(const ParamHandles &handles, OfxTime time);

}  // namespace neuralstyle

#endif
