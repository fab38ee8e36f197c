// The object behind every OfxPropertySetHandle: named properties, each one typed (pointer, string,
// double, int) with any number of values. Plugins see it through the property suite; the host uses
// the typed helpers. Behaves like a real host: unknown names give kOfxStatErrUnknown, a wrong type
// kOfxStatErrValue, an index past the end kOfxStatErrBadIndex.
#ifndef OFXHOST_PROPERTY_SET_H
#define OFXHOST_PROPERTY_SET_H

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "json.h"
#include "ofx_abi.h"

namespace ofxhost {

enum class PropType { Pointer, String, Double, Int };

struct Property {
  PropType type = PropType::Int;
  std::vector<void *> pointers;
  std::vector<std::string> strings;
  std::vector<double> doubles;
  std::vector<int> ints;
  int dimension() const;
  void resize(int n);
};

class PropertySet {
 public:
  // what: a name for diagnostics ("host", "instance 0", "image Source@3").
  // pluginWritable: false for sets the plugin must only read (host, images, action inArgs).
  // open: whether plugin writes may create new properties (descriptors, outArgs).
  explicit PropertySet(std::string what, bool pluginWritable = true, bool open = true);
  virtual ~PropertySet();
  PropertySet(const PropertySet &) = delete;
  PropertySet &operator=(const PropertySet &) = delete;

  OfxPropertySetHandle handle() { return reinterpret_cast<OfxPropertySetHandle>(this); }
  static PropertySet *fromHandle(OfxPropertySetHandle h);  // nullptr unless a live set
  const std::string &what() const { return what_; }

  // Host side. Setting replaces every value (and the type).
  void setInt(const std::string &name, std::vector<int> v);
  void setDouble(const std::string &name, std::vector<double> v);
  void setString(const std::string &name, std::vector<std::string> v);
  void setPointer(const std::string &name, std::vector<void *> v);
  void setInt(const std::string &name, int v) { setInt(name, std::vector<int>{v}); }
  void setDouble(const std::string &name, double v) { setDouble(name, std::vector<double>{v}); }
  void setString(const std::string &name, const std::string &v) {
    setString(name, std::vector<std::string>{v});
  }
  void setPointer(const std::string &name, void *v) { setPointer(name, std::vector<void *>{v}); }
  bool has(const std::string &name) const;
  int dimension(const std::string &name) const;  // 0 when missing
  int getInt(const std::string &name, int index = 0, int fallback = 0) const;
  double getDouble(const std::string &name, int index = 0, double fallback = 0.0) const;
  std::string getString(const std::string &name, int index = 0,
                        const std::string &fallback = "") const;
  void *getPointer(const std::string &name, int index = 0) const;
  std::vector<int> getInts(const std::string &name) const;
  std::vector<double> getDoubles(const std::string &name) const;
  std::vector<std::string> getStrings(const std::string &name) const;
  // Copies every property of other (descriptor -> instance).
  void copyFrom(const PropertySet &other);
  // {"name": [values...]}; pointers as integers.
  Json toJson() const;

  // Plugin side, for the property suite.
  OfxStatus pluginSet(const char *name, int index, PropType type, const void *value);
  OfxStatus pluginSetN(const char *name, int count, PropType type, const void *values);
  OfxStatus pluginGet(const char *name, int index, PropType type, void *value) const;
  OfxStatus pluginGetN(const char *name, int count, PropType type, void *values) const;
  OfxStatus pluginReset(const char *name);
  OfxStatus pluginDimension(const char *name, int *count) const;

 private:
  OfxStatus writable(const char *name, PropType type, Property **out);
  static void assign(Property &p, int index, const void *value);

  uint32_t magic_;
  std::string what_;
  bool pluginWritable_;
  bool open_;
  mutable std::mutex mutex_;
  std::map<std::string, Property> props_;
  std::map<std::string, Property> defaults_;  // first host-set value, for propReset
};

}  // namespace ofxhost

#endif
