// Typed access to OFX property sets. Getters return the fallback when the host lacks the property
// (hosts differ in what they set); setters report failure only where the caller needs to know.
#ifndef NEURALSTYLE_PROPS_H
#define NEURALSTYLE_PROPS_H

#include <initializer_list>
#include <string>

#include "ofx_abi.h"

namespace neuralstyle {

int get_int(OfxPropertySetHandle props, const char *name, int index = 0, int fallback = 0);
double get_double(OfxPropertySetHandle props, const char *name, int index = 0,
                  double fallback = 0.0);
std::string get_string(OfxPropertySetHandle props, const char *name, int index = 0,
                       const std::string &fallback = "");
void *get_pointer(OfxPropertySetHandle props, const char *name, int index = 0);
OfxRectI get_rect_i(OfxPropertySetHandle props, const char *name);

OfxStatus set_int(OfxPropertySetHandle props, const char *name, int value, int index = 0);
OfxStatus set_double(OfxPropertySetHandle props, const char *name, double value, int index = 0);
OfxStatus set_string(OfxPropertySetHandle props, const char *name, const char *value,
                     int index = 0);
OfxStatus set_pointer(OfxPropertySetHandle props, const char *name, void *value);
// Sets index 0..n-1, in order.
OfxStatus set_strings(OfxPropertySetHandle props, const char *name,
                      std::initializer_list<const char *> values);
OfxStatus set_rect_d(OfxPropertySetHandle props, const char *name, const OfxRectD &rect);

// The property set of an effect instance or descriptor.
OfxPropertySetHandle effect_props(OfxImageEffectHandle effect);

}  // namespace neuralstyle

#endif
