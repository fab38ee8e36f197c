// Parameters: descriptors (defined in DescribeInContext) and instances (values and keyframes).
// Interpolation between keys: linear for double-valued types, step (the last key at or before the
// time) for integer, boolean, choice and string types; constant before the first and after the
// last key. The host does not clamp to kOfxParamPropMin/Max: range checks are the plugin's job.
#ifndef OFXHOST_PARAMS_H
#define OFXHOST_PARAMS_H

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "property_set.h"

namespace ofxhost {

class Effect;

enum class ParamKind { Double, Int, Bool, Choice, String, Group, Page, PushButton };

struct ParamType {
  const char *ofxName;
  ParamKind kind;
  int dimension;  // values per time: 1 for most, 2/3/4 for 2D/3D/RGB/RGBA
};
const ParamType *findParamType(const std::string &ofxName);

struct ParamValue {
  std::vector<double> numbers;  // doubles and ints alike (exact for int ranges)
  std::string text;
};

class Param {
 public:
  Param(Effect *owner, const ParamType *type, const std::string &name, bool instance);
  ~Param();
  Param(const Param &) = delete;
  Param &operator=(const Param &) = delete;

  OfxParamHandle handle() { return reinterpret_cast<OfxParamHandle>(this); }
  static Param *fromHandle(OfxParamHandle h);

  const std::string &name() const { return name_; }
  const ParamType &type() const { return *type_; }
  bool hasValue() const;  // false for groups, pages, push buttons
  bool numeric() const { return type_->kind != ParamKind::String; }
  Effect *owner() const { return owner_; }
  PropertySet &props() { return props_; }

  // Instances start at the descriptor's default.
  void initFrom(Param &descriptor);
  ParamValue valueAt(double time) const;
  const std::string &textAt(double time) const;  // stable storage, for char** getters
  double derivative(double time, int dim) const;
  double integral(double t1, double t2, int dim) const;
  void setValue(const ParamValue &v);  // the constant value (no keys)
  void setKey(double time, const ParamValue &v);
  const std::map<double, ParamValue> &keys() const { return keys_; }
  bool deleteKey(double time);
  void deleteAllKeys();
  void copyFrom(const Param &other, double offset, const OfxRangeD *range);
  // Parses a CLI value: numbers ("0.5", "1,2" for 2D), bools (0/1/true/false), choices (option
  // label or index), strings as given. Returns false with *error set when the text does not fit.
  bool parse(const std::string &text, ParamValue *out, std::string *error) const;
  Json describe() const;  // type, default, range, options, animates, all props
  Json valueJson(double time) const;

 private:
  ParamValue defaultValue();
  bool linear() const { return type_->kind == ParamKind::Double; }

  Effect *owner_;
  const ParamType *type_;
  std::string name_;
  PropertySet props_;
  ParamValue constant_;
  std::map<double, ParamValue> keys_;
};

class ParamSet {
 public:
  explicit ParamSet(Effect *owner, const std::string &what);
  ~ParamSet();
  ParamSet(const ParamSet &) = delete;
  ParamSet &operator=(const ParamSet &) = delete;

  OfxParamSetHandle handle() { return reinterpret_cast<OfxParamSetHandle>(this); }
  static ParamSet *fromHandle(OfxParamSetHandle h);

  Effect *owner() const { return owner_; }
  PropertySet &props() { return props_; }
  Param *find(const std::string &name) const;
  // nullptr + *status when the type is unknown or the name is taken.
  Param *define(const std::string &ofxType, const std::string &name, OfxStatus *status);
  void instantiateFrom(ParamSet &descriptors);
  const std::vector<std::unique_ptr<Param>> &all() const { return params_; }

 private:
  Effect *owner_;
  PropertySet props_;
  std::vector<std::unique_ptr<Param>> params_;
};

}  // namespace ofxhost

#endif
