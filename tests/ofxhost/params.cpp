#include "params.h"

#include <cfloat>
#include <climits>
#include <cmath>
#include <iterator>
#include <sstream>

#include "ofx_names.h"
#include "registry.h"

namespace ofxhost {

static const ParamType kTypes[] = {
    {kOfxParamTypeDouble, ParamKind::Double, 1},
    {kOfxParamTypeDouble2D, ParamKind::Double, 2},
    {kOfxParamTypeDouble3D, ParamKind::Double, 3},
    {kOfxParamTypeRGB, ParamKind::Double, 3},
    {kOfxParamTypeRGBA, ParamKind::Double, 4},
    {kOfxParamTypeInteger, ParamKind::Int, 1},
    {kOfxParamTypeInteger2D, ParamKind::Int, 2},
    {kOfxParamTypeInteger3D, ParamKind::Int, 3},
    {kOfxParamTypeBoolean, ParamKind::Bool, 1},
    {kOfxParamTypeChoice, ParamKind::Choice, 1},
    {kOfxParamTypeString, ParamKind::String, 1},
    {kOfxParamTypeCustom, ParamKind::String, 1},
    {kOfxParamTypeGroup, ParamKind::Group, 0},
    {kOfxParamTypePage, ParamKind::Page, 0},
    {kOfxParamTypePushButton, ParamKind::PushButton, 0},
};

const ParamType *findParamType(const std::string &ofxName) {
  for (const auto &t : kTypes) {
    if (ofxName == t.ofxName) return &t;
  }
  return nullptr;
}

static const char *kindName(ParamKind k) {
  switch (k) {
    case ParamKind::Double:
      return "double";
    case ParamKind::Int:
      return "int";
    case ParamKind::Bool:
      return "bool";
    case ParamKind::Choice:
      return "choice";
    case ParamKind::String:
      return "string";
    case ParamKind::Group:
      return "group";
    case ParamKind::Page:
      return "page";
    case ParamKind::PushButton:
      return "push_button";
  }
  return "?";
}

Param::Param(Effect *owner, const ParamType *type, const std::string &name, bool instance)
    : owner_(owner), type_(type), name_(name), props_("param " + name) {
  Registry<Param>::add(this);
  if (instance) return;  // instances copy their descriptor's properties
  PropertySet &p = props_;
  p.setString(kOfxPropType, kOfxTypeParameter);
  p.setString(kOfxPropName, name);
  p.setString(kOfxPropLabel, name);
  p.setString(kOfxPropShortLabel, name);
  p.setString(kOfxPropLongLabel, name);
  p.setString(kOfxParamPropType, type->ofxName);
  p.setString(kOfxParamPropScriptName, name);
  p.setString(kOfxParamPropHint, "");
  p.setString(kOfxParamPropParent, "");
  p.setInt(kOfxParamPropEnabled, 1);
  p.setInt(kOfxParamPropSecret, 0);
  p.setInt(kOfxParamPropCanUndo, 1);
  p.setInt(kOfxParamPropEvaluateOnChange, 1);
  p.setInt(kOfxParamPropPersistant, 1);
  p.setInt(kOfxParamPropPluginMayWrite, 0);
  p.setString(kOfxParamPropCacheInvalidation, kOfxParamInvalidateValueChange);
  p.setPointer(kOfxParamPropDataPtr, nullptr);
  p.setPointer(kOfxParamPropInteractV1, nullptr);
  const int n = type->dimension;
  switch (type->kind) {
    case ParamKind::Double:
      p.setDouble(kOfxParamPropDefault, std::vector<double>(static_cast<size_t>(n), 0.0));
      p.setDouble(kOfxParamPropMin, std::vector<double>(static_cast<size_t>(n), -DBL_MAX));
      p.setDouble(kOfxParamPropMax, std::vector<double>(static_cast<size_t>(n), DBL_MAX));
      p.setDouble(kOfxParamPropDisplayMin, std::vector<double>(static_cast<size_t>(n), -DBL_MAX));
      p.setDouble(kOfxParamPropDisplayMax, std::vector<double>(static_cast<size_t>(n), DBL_MAX));
      p.setDouble(kOfxParamPropIncrement, 1.0);
      p.setInt(kOfxParamPropDigits, 2);
      p.setString(kOfxParamPropDoubleType, kOfxParamDoubleTypePlain);
      break;
    case ParamKind::Int:
      p.setInt(kOfxParamPropDefault, std::vector<int>(static_cast<size_t>(n), 0));
      p.setInt(kOfxParamPropMin, std::vector<int>(static_cast<size_t>(n), INT_MIN));
      p.setInt(kOfxParamPropMax, std::vector<int>(static_cast<size_t>(n), INT_MAX));
      p.setInt(kOfxParamPropDisplayMin, std::vector<int>(static_cast<size_t>(n), INT_MIN));
      p.setInt(kOfxParamPropDisplayMax, std::vector<int>(static_cast<size_t>(n), INT_MAX));
      break;
    case ParamKind::Bool:
      p.setInt(kOfxParamPropDefault, 0);
      break;
    case ParamKind::Choice:
      p.setInt(kOfxParamPropDefault, 0);
      p.setString(kOfxParamPropChoiceOption, std::vector<std::string>{});
      break;
    case ParamKind::String:
      p.setString(kOfxParamPropDefault, "");
      p.setString(kOfxParamPropStringMode, kOfxParamStringIsSingleLine);
      p.setInt(kOfxParamPropStringFilePathExists, 1);
      break;
    case ParamKind::Group:
      p.setInt(kOfxParamPropGroupOpen, 1);
      break;
    case ParamKind::Page:
      p.setString(kOfxParamPropPageChild, std::vector<std::string>{});
      break;
    case ParamKind::PushButton:
      break;
  }
  if (hasValue()) {
    p.setInt(kOfxParamPropAnimates, 1);
    p.setInt(kOfxParamPropIsAnimating, 0);
    p.setInt(kOfxParamPropIsAutoKeying, 0);
  }
}

Param::~Param() { Registry<Param>::remove(this); }

Param *Param::fromHandle(OfxParamHandle h) { return Registry<Param>::find(h); }

bool Param::hasValue() const {
  return type_->kind != ParamKind::Group && type_->kind != ParamKind::Page &&
         type_->kind != ParamKind::PushButton;
}

ParamValue Param::defaultValue() {
  ParamValue v;
  if (type_->kind == ParamKind::String) {
    v.text = props_.getString(kOfxParamPropDefault);
  } else if (type_->kind == ParamKind::Double) {
    v.numbers = props_.getDoubles(kOfxParamPropDefault);
  } else {
    for (int i : props_.getInts(kOfxParamPropDefault)) v.numbers.push_back(i);
  }
  v.numbers.resize(static_cast<size_t>(type_->dimension), 0.0);
  return v;
}

void Param::initFrom(Param &descriptor) {
  props_.copyFrom(descriptor.props_);
  props_.setString(kOfxPropType, kOfxTypeParameterInstance);
  constant_ = defaultValue();
}

ParamValue Param::valueAt(double time) const {
  if (keys_.empty()) return constant_;
  auto after = keys_.lower_bound(time);
  if (after == keys_.end()) return std::prev(after)->second;
  if (after->first == time || after == keys_.begin()) return after->second;
  auto before = std::prev(after);
  if (!linear()) return before->second;
  const double a = (time - before->first) / (after->first - before->first);
  ParamValue v = before->second;
  for (size_t i = 0; i < v.numbers.size(); ++i) {
    v.numbers[i] =
        before->second.numbers[i] + a * (after->second.numbers[i] - before->second.numbers[i]);
  }
  return v;
}

const std::string &Param::textAt(double time) const {
  if (keys_.empty()) return constant_.text;
  auto after = keys_.upper_bound(time);  // first key after time
  if (after == keys_.begin()) return after->second.text;
  return std::prev(after)->second.text;
}

double Param::derivative(double time, int dim) const {
  if (!linear() || keys_.size() < 2) return 0.0;
  auto after = keys_.upper_bound(time);
  if (after == keys_.begin() || after == keys_.end()) return 0.0;  // constant outside the keys
  auto before = std::prev(after);
  const auto d = static_cast<size_t>(dim);
  return (after->second.numbers[d] - before->second.numbers[d]) / (after->first - before->first);
}

double Param::integral(double t1, double t2, int dim) const {
  const auto d = static_cast<size_t>(dim);
  if (t2 < t1) return -integral(t2, t1, dim);
  // Piecewise linear (or constant): the trapezoid rule is exact between breakpoints.
  std::vector<double> points{t1};
  for (const auto &k : keys_) {
    if (k.first > t1 && k.first < t2) points.push_back(k.first);
  }
  points.push_back(t2);
  double sum = 0.0;
  for (size_t i = 1; i < points.size(); ++i) {
    const double a = points[i - 1], b = points[i];
    if (linear()) {
      sum += 0.5 * (b - a) * (valueAt(a).numbers[d] + valueAt(b).numbers[d]);
    } else {
      sum += (b - a) * valueAt(a).numbers[d];
    }
  }
  return sum;
}

void Param::setValue(const ParamValue &v) { constant_ = v; }

void Param::setKey(double time, const ParamValue &v) {
  keys_[time] = v;
  props_.setInt(kOfxParamPropIsAnimating, 1);
}

bool Param::deleteKey(double time) {
  const bool erased = keys_.erase(time) != 0;
  if (keys_.empty()) props_.setInt(kOfxParamPropIsAnimating, 0);
  return erased;
}

void Param::deleteAllKeys() {
  if (!keys_.empty()) constant_ = keys_.begin()->second;  // hosts keep the value, drop the curve
  keys_.clear();
  props_.setInt(kOfxParamPropIsAnimating, 0);
}

void Param::copyFrom(const Param &other, double offset, const OfxRangeD *range) {
  constant_ = other.constant_;
  if (!range) keys_.clear();
  for (const auto &k : other.keys_) {
    if (range && (k.first < range->min || k.first > range->max)) continue;
    keys_[k.first + offset] = k.second;
  }
  props_.setInt(kOfxParamPropIsAnimating, keys_.empty() ? 0 : 1);
}

static bool parseDouble(const std::string &s, double *out) {
  try {
    size_t used = 0;
    *out = std::stod(s, &used);
    return used == s.size();
  } catch (...) {
    return false;
  }
}

static bool parseInt(const std::string &s, int *out) {
  try {
    size_t used = 0;
    *out = std::stoi(s, &used);
    return used == s.size();
  } catch (...) {
    return false;
  }
}

bool Param::parse(const std::string &text, ParamValue *out, std::string *error) const {
  *out = ParamValue();
  switch (type_->kind) {
    case ParamKind::String:
      out->text = text;
      return true;
    case ParamKind::Bool: {
      static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
      for (const char *s : yes) {
        if (text == s) out->numbers = {1.0};
      }
      for (const char *s : no) {
        if (text == s) out->numbers = {0.0};
      }
      if (out->numbers.empty())
        *error = name_ + ": expected a boolean (0/1/true/false), got '" + text + "'";
      return !out->numbers.empty();
    }
    case ParamKind::Choice: {
      const auto options = props_.getStrings(kOfxParamPropChoiceOption);
      for (size_t i = 0; i < options.size(); ++i) {
        if (options[i] == text) {
          out->numbers = {static_cast<double>(i)};
          return true;
        }
      }
      int index = 0;
      if (parseInt(text, &index) && index >= 0 && static_cast<size_t>(index) < options.size()) {
        out->numbers = {static_cast<double>(index)};
        return true;
      }
      std::string list;
      for (const auto &o : options) list += (list.empty() ? "" : ", ") + o;
      *error = name_ + ": '" + text +
               "' is neither an option label nor an index (options: " + list + ")";
      return false;
    }
    case ParamKind::Double:
    case ParamKind::Int: {
      std::stringstream ss(text);
      std::string item;
      while (std::getline(ss, item, ',')) {
        double d = 0.0;
        int i = 0;
        const bool ok =
            type_->kind == ParamKind::Double ? parseDouble(item, &d) : parseInt(item, &i);
        if (!ok) {
          *error = name_ + ": '" + text + "' is not " +
                   (type_->kind == ParamKind::Double ? "a number" : "an integer") + " list of " +
                   std::to_string(type_->dimension);
          return false;
        }
        out->numbers.push_back(type_->kind == ParamKind::Double ? d : i);
      }
      if (static_cast<int>(out->numbers.size()) != type_->dimension) {
        *error = name_ + ": expected " + std::to_string(type_->dimension) +
                 " comma-separated values, got '" + text + "'";
        return false;
      }
      return true;
    }
    default:
      *error = name_ + ": has no value";
      return false;
  }
}

static Json numbers(const std::vector<double> &v, bool integer) {
  auto one = [&](double x) { return integer ? Json(static_cast<long long>(x)) : Json(x); };
  if (v.size() == 1) return one(v[0]);
  Json a = Json::array();
  for (double x : v) a.push(one(x));
  return a;
}

Json Param::valueJson(double time) const {
  if (!hasValue()) return Json();
  if (type_->kind == ParamKind::String) return Json(textAt(time));
  return numbers(valueAt(time).numbers, type_->kind != ParamKind::Double);
}

Json Param::describe() const {
  Json j = Json::object();
  j["type"] = type_->ofxName;
  j["kind"] = kindName(type_->kind);
  j["dimension"] = type_->dimension;
  j["label"] = props_.getString(kOfxPropLabel);
  j["hint"] = props_.getString(kOfxParamPropHint);
  j["parent"] = props_.getString(kOfxParamPropParent);
  if (hasValue()) {
    const bool integer = type_->kind != ParamKind::Double;
    if (type_->kind == ParamKind::String) {
      j["default"] = props_.getString(kOfxParamPropDefault);
    } else {
      j["default"] = numbers(props_.getDoubles(kOfxParamPropDefault), integer);
    }
    if (type_->kind == ParamKind::Double || type_->kind == ParamKind::Int) {
      j["min"] = numbers(props_.getDoubles(kOfxParamPropMin), integer);
      j["max"] = numbers(props_.getDoubles(kOfxParamPropMax), integer);
      j["display_min"] = numbers(props_.getDoubles(kOfxParamPropDisplayMin), integer);
      j["display_max"] = numbers(props_.getDoubles(kOfxParamPropDisplayMax), integer);
    }
    if (type_->kind == ParamKind::Choice) {
      Json options = Json::array();
      for (const auto &o : props_.getStrings(kOfxParamPropChoiceOption)) options.push(o);
      j["options"] = std::move(options);
    }
    j["animates"] = props_.getInt(kOfxParamPropAnimates) != 0;
  }
  j["props"] = props_.toJson();
  return j;
}

ParamSet::ParamSet(Effect *owner, const std::string &what)
    : owner_(owner), props_("param set of " + what) {
  Registry<ParamSet>::add(this);
}

ParamSet::~ParamSet() { Registry<ParamSet>::remove(this); }

ParamSet *ParamSet::fromHandle(OfxParamSetHandle h) { return Registry<ParamSet>::find(h); }

Param *ParamSet::find(const std::string &name) const {
  for (const auto &p : params_) {
    if (p->name() == name) return p.get();
  }
  return nullptr;
}

Param *ParamSet::define(const std::string &ofxType, const std::string &name, OfxStatus *status) {
  const ParamType *type = findParamType(ofxType);
  if (!type) {
    *status = kOfxStatErrUnknown;
    return nullptr;
  }
  if (find(name)) {
    *status = kOfxStatErrExists;
    return nullptr;
  }
  params_.push_back(std::make_unique<Param>(owner_, type, name, false));
  *status = kOfxStatOK;
  return params_.back().get();
}

void ParamSet::instantiateFrom(ParamSet &descriptors) {
  props_.copyFrom(descriptors.props_);
  for (const auto &d : descriptors.params_) {
    params_.push_back(std::make_unique<Param>(owner_, &d->type(), d->name(), true));
    params_.back()->initFrom(*d);
  }
}

}  // namespace ofxhost
