#include "property_set.h"

#include "registry.h"
#include "report.h"

namespace ofxhost {

int Property::dimension() const {
  switch (type) {
    case PropType::Pointer:
      return static_cast<int>(pointers.size());
    case PropType::String:
      return static_cast<int>(strings.size());
    case PropType::Double:
      return static_cast<int>(doubles.size());
    case PropType::Int:
      return static_cast<int>(ints.size());
  }
  return 0;
}

void Property::resize(int n) {
  switch (type) {
    case PropType::Pointer:
      pointers.resize(static_cast<size_t>(n), nullptr);
      break;
    case PropType::String:
      strings.resize(static_cast<size_t>(n));
      break;
    case PropType::Double:
      doubles.resize(static_cast<size_t>(n), 0.0);
      break;
    case PropType::Int:
      ints.resize(static_cast<size_t>(n), 0);
      break;
  }
}

PropertySet::PropertySet(std::string what, bool pluginWritable, bool open)
    : what_(std::move(what)), pluginWritable_(pluginWritable), open_(open) {
  Registry<PropertySet>::add(this);
}

PropertySet::~PropertySet() { Registry<PropertySet>::remove(this); }

PropertySet *PropertySet::fromHandle(OfxPropertySetHandle h) {
  return Registry<PropertySet>::find(h);
}

template <class T>
static void hostSet(std::map<std::string, Property> &props,
                    std::map<std::string, Property> &defaults, const std::string &name,
                    PropType type, std::vector<T> Property::*member, std::vector<T> v) {
  Property p;
  p.type = type;
  p.*member = std::move(v);
  defaults.emplace(name, p);  // keeps the first value only
  props[name] = std::move(p);
}

void PropertySet::setInt(const std::string &name, std::vector<int> v) {
  std::lock_guard<std::mutex> lock(mutex_);
  hostSet(props_, defaults_, name, PropType::Int, &Property::ints, std::move(v));
}
void PropertySet::setDouble(const std::string &name, std::vector<double> v) {
  std::lock_guard<std::mutex> lock(mutex_);
  hostSet(props_, defaults_, name, PropType::Double, &Property::doubles, std::move(v));
}
void PropertySet::setString(const std::string &name, std::vector<std::string> v) {
  std::lock_guard<std::mutex> lock(mutex_);
  hostSet(props_, defaults_, name, PropType::String, &Property::strings, std::move(v));
}
void PropertySet::setPointer(const std::string &name, std::vector<void *> v) {
  std::lock_guard<std::mutex> lock(mutex_);
  hostSet(props_, defaults_, name, PropType::Pointer, &Property::pointers, std::move(v));
}

bool PropertySet::has(const std::string &name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return props_.count(name) != 0;
}

int PropertySet::dimension(const std::string &name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = props_.find(name);
  return it == props_.end() ? 0 : it->second.dimension();
}

// Host-side reads convert between int and double: descriptors written by plugins are not always
// typed the way the host would like (an int default read as a number, for instance).
int PropertySet::getInt(const std::string &name, int index, int fallback) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = props_.find(name);
  if (it == props_.end() || index < 0 || index >= it->second.dimension()) return fallback;
  const Property &p = it->second;
  if (p.type == PropType::Int) return p.ints[static_cast<size_t>(index)];
  if (p.type == PropType::Double) return static_cast<int>(p.doubles[static_cast<size_t>(index)]);
  return fallback;
}

double PropertySet::getDouble(const std::string &name, int index, double fallback) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = props_.find(name);
  if (it == props_.end() || index < 0 || index >= it->second.dimension()) return fallback;
  const Property &p = it->second;
  if (p.type == PropType::Double) return p.doubles[static_cast<size_t>(index)];
  if (p.type == PropType::Int) return p.ints[static_cast<size_t>(index)];
  return fallback;
}

std::string PropertySet::getString(const std::string &name, int index,
                                   const std::string &fallback) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = props_.find(name);
  if (it == props_.end() || it->second.type != PropType::String || index < 0 ||
      index >= it->second.dimension()) {
    return fallback;
  }
  return it->second.strings[static_cast<size_t>(index)];
}

void *PropertySet::getPointer(const std::string &name, int index) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = props_.find(name);
  if (it == props_.end() || it->second.type != PropType::Pointer || index < 0 ||
      index >= it->second.dimension()) {
    return nullptr;
  }
  return it->second.pointers[static_cast<size_t>(index)];
}

std::vector<int> PropertySet::getInts(const std::string &name) const {
  std::vector<int> v;
  for (int i = 0, n = dimension(name); i < n; ++i) v.push_back(getInt(name, i));
  return v;
}

std::vector<double> PropertySet::getDoubles(const std::string &name) const {
  std::vector<double> v;
  for (int i = 0, n = dimension(name); i < n; ++i) v.push_back(getDouble(name, i));
  return v;
}

std::vector<std::string> PropertySet::getStrings(const std::string &name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = props_.find(name);
  if (it == props_.end() || it->second.type != PropType::String) return {};
  return it->second.strings;
}

void PropertySet::copyFrom(const PropertySet &other) {
  if (&other == this) return;
  std::scoped_lock lock(mutex_, other.mutex_);
  for (const auto &kv : other.props_) {
    props_[kv.first] = kv.second;
    defaults_.emplace(kv.first, kv.second);
  }
}

Json PropertySet::toJson() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Json out = Json::object();
  for (const auto &kv : props_) {
    Json values = Json::array();
    const Property &p = kv.second;
    switch (p.type) {
      case PropType::Pointer:
        for (void *v : p.pointers) values.push(Json::pointer(v));
        break;
      case PropType::String:
        for (const auto &v : p.strings) values.push(v);
        break;
      case PropType::Double:
        for (double v : p.doubles) values.push(v);
        break;
      case PropType::Int:
        for (int v : p.ints) values.push(v);
        break;
    }
    out[kv.first] = std::move(values);
  }
  return out;
}

// ---- plugin side ------------------------------------------------------------------------------

OfxStatus PropertySet::writable(const char *name, PropType type, Property **out) {
  if (!name) return kOfxStatErrUnknown;
  if (!pluginWritable_) {
    warn("plugin wrote property " + std::string(name) + " on read-only " + what_);
    return kOfxStatErrValue;
  }
  auto it = props_.find(name);
  if (it == props_.end()) {
    if (!open_) return kOfxStatErrUnknown;
    Property p;
    p.type = type;
    it = props_.emplace(name, std::move(p)).first;
  }
  if (it->second.type != type) {
    warn("plugin wrote property " + std::string(name) + " with the wrong type on " + what_);
    return kOfxStatErrValue;
  }
  *out = &it->second;
  return kOfxStatOK;
}

void PropertySet::assign(Property &p, int index, const void *value) {
  const auto i = static_cast<size_t>(index);
  switch (p.type) {
    case PropType::Pointer:
      p.pointers[i] = *static_cast<void *const *>(value);
      break;
    case PropType::String: {
      const char *s = *static_cast<const char *const *>(value);
      p.strings[i] = s ? s : "";
      break;
    }
    case PropType::Double:
      p.doubles[i] = *static_cast<const double *>(value);
      break;
    case PropType::Int:
      p.ints[i] = *static_cast<const int *>(value);
      break;
  }
}

OfxStatus PropertySet::pluginSet(const char *name, int index, PropType type, const void *value) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (index < 0) return kOfxStatErrBadIndex;
  Property *p = nullptr;
  if (OfxStatus st = writable(name, type, &p)) return st;
  if (index >= p->dimension()) p->resize(index + 1);  // variable-dimension properties grow
  assign(*p, index, value);
  return kOfxStatOK;
}

static size_t sizeOf(PropType t) {
  switch (t) {
    case PropType::Pointer:
      return sizeof(void *);
    case PropType::String:
      return sizeof(char *);
    case PropType::Double:
      return sizeof(double);
    case PropType::Int:
      return sizeof(int);
  }
  return 0;
}

OfxStatus PropertySet::pluginSetN(const char *name, int count, PropType type, const void *values) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (count < 0 || (count > 0 && !values)) return kOfxStatErrBadIndex;
  Property *p = nullptr;
  if (OfxStatus st = writable(name, type, &p)) return st;
  p->resize(count);
  for (int i = 0; i < count; ++i) {
    assign(*p, i, static_cast<const char *>(values) + static_cast<size_t>(i) * sizeOf(type));
  }
  return kOfxStatOK;
}

OfxStatus PropertySet::pluginGet(const char *name, int index, PropType type, void *value) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!name || !value) return kOfxStatErrUnknown;
  auto it = props_.find(name);
  if (it == props_.end()) return kOfxStatErrUnknown;
  const Property &p = it->second;
  if (p.type != type) return kOfxStatErrValue;
  if (index < 0 || index >= p.dimension()) return kOfxStatErrBadIndex;
  const auto i = static_cast<size_t>(index);
  switch (type) {
    case PropType::Pointer:
      *static_cast<void **>(value) = p.pointers[i];
      break;
    // Points into the host's storage: valid until the property is next written, as in real hosts.
    case PropType::String:
      *static_cast<const char **>(value) = p.strings[i].c_str();
      break;
    case PropType::Double:
      *static_cast<double *>(value) = p.doubles[i];
      break;
    case PropType::Int:
      *static_cast<int *>(value) = p.ints[i];
      break;
  }
  return kOfxStatOK;
}

OfxStatus PropertySet::pluginGetN(const char *name, int count, PropType type, void *values) const {
  for (int i = 0; i < count; ++i) {
    if (OfxStatus st = pluginGet(
            name, i, type, static_cast<char *>(values) + static_cast<size_t>(i) * sizeOf(type))) {
      return st;
    }
  }
  return kOfxStatOK;
}

OfxStatus PropertySet::pluginReset(const char *name) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!name) return kOfxStatErrUnknown;
  auto it = props_.find(name);
  if (it == props_.end()) return kOfxStatErrUnknown;
  auto def = defaults_.find(name);
  if (def != defaults_.end()) it->second = def->second;
  return kOfxStatOK;
}

OfxStatus PropertySet::pluginDimension(const char *name, int *count) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!name || !count) return kOfxStatErrUnknown;
  auto it = props_.find(name);
  if (it == props_.end()) return kOfxStatErrUnknown;
  *count = it->second.dimension();
  return kOfxStatOK;
}

}  // namespace ofxhost
