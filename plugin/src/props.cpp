#include "props.h"

#include "suites.h"

namespace neuralstyle {
namespace {

const OfxPropertySuiteV1 &ps() { return *suites().property; }

}  // namespace

int get_int(OfxPropertySetHandle props, const char *name, int index, int fallback) {
  int value = fallback;
  return ps().propGetInt(props, name, index, &value) == kOfxStatOK ? value : fallback;
}

double get_double(OfxPropertySetHandle props, const char *name, int index, double fallback) {
  double value = fallback;
  return ps().propGetDouble(props, name, index, &value) == kOfxStatOK ? value : fallback;
}

std::string get_string(OfxPropertySetHandle props, const char *name, int index,
                       const std::string &fallback) {
  char *value = nullptr;
  if (ps().propGetString(props, name, index, &value) != kOfxStatOK || !value) return fallback;
  return value;
}

void *get_pointer(OfxPropertySetHandle props, const char *name, int index) {
  void *value = nullptr;
  return ps().propGetPointer(props, name, index, &value) == kOfxStatOK ? value : nullptr;
}

OfxRectI get_rect_i(OfxPropertySetHandle props, const char *name) {
  OfxRectI r{0, 0, 0, 0};
  if (ps().propGetIntN(props, name, 4, &r.x1) != kOfxStatOK) return OfxRectI{0, 0, 0, 0};
  return r;
}

OfxStatus set_int(OfxPropertySetHandle props, const char *name, int value, int index) {
  return ps().propSetInt(props, name, index, value);
}

OfxStatus set_double(OfxPropertySetHandle props, const char *name, double value, int index) {
  return ps().propSetDouble(props, name, index, value);
}

OfxStatus set_string(OfxPropertySetHandle props, const char *name, const char *value, int index) {
  return ps().propSetString(props, name, index, value);
}

OfxStatus set_pointer(OfxPropertySetHandle props, const char *name, void *value) {
  return ps().propSetPointer(props, name, 0, value);
}

OfxStatus set_strings(OfxPropertySetHandle props, const char *name,
                      std::initializer_list<const char *> values) {
  int index = 0;
  for (const char *value : values) {
    const OfxStatus status = ps().propSetString(props, name, index++, value);
    if (status != kOfxStatOK) return status;
  }
  return kOfxStatOK;
}

OfxStatus set_rect_d(OfxPropertySetHandle props, const char *name, const OfxRectD &rect) {
  return ps().propSetDoubleN(props, name, 4, &rect.x1);
}

OfxPropertySetHandle effect_props(OfxImageEffectHandle effect) {
  OfxPropertySetHandle props = nullptr;
  suites().effect->getPropertySet(effect, &props);
  return props;
}

}  // namespace neuralstyle
