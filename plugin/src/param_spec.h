// What a parameter is, as the generated table (generated/params_table.h) lists it. The table is
// written from python/neuralstyle/params/table.py at build time: change parameters there.
#ifndef NEURALSTYLE_PARAM_SPEC_H
#define NEURALSTYLE_PARAM_SPEC_H

namespace neuralstyle {

// A menu entry of a choice parameter: hosts save its position, the engine gets the value.
struct ChoiceOption {
  const char *label;  // what the menu shows
  const char *value;  // what the engine gets
};

enum class ParamKind { kDouble, kInteger, kChoice, kFilePath };

struct ParamSpec {
  const char *script_name;  // what hosts save in projects: never rename
  const char *engine_key;   // its key in the engine's params dict; nullptr: the plugin reads it
  const char *label;
  const char *hint;
  ParamKind kind;
  bool animates;
  double default_value;  // a number's default; a choice's default option
  double min, max;       // numbers: the hard range
  double display_min, display_max;
  double increment;  // doubles: the slider step; 0: the host's
  int digits;        // doubles: shown digits; 0: the host's
  const ChoiceOption *options;
  int option_count;
};

}  // namespace neuralstyle

#endif
