// A minimal JSON document: what the host writes (logs, descriptor dumps). Writing only, no parser.
#ifndef OFXHOST_JSON_H
#define OFXHOST_JSON_H

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace ofxhost {

class Json {
 public:
  enum class Kind { Null, Bool, Int, Double, String, Array, Object };

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool v) : kind_(Kind::Bool), int_(v) {}
  Json(int v) : kind_(Kind::Int), int_(v) {}
  Json(unsigned v) : kind_(Kind::Int), int_(v) {}
  Json(long v) : kind_(Kind::Int), int_(v) {}
  Json(long long v) : kind_(Kind::Int), int_(v) {}
  Json(unsigned long v) : kind_(Kind::Int), int_(static_cast<int64_t>(v)) {}
  Json(double v) : kind_(Kind::Double), double_(v) {}
  Json(const char *v) : kind_(v ? Kind::String : Kind::Null), string_(v ? v : "") {}
  Json(std::string v) : kind_(Kind::String), string_(std::move(v)) {}
  // Pointers are logged as integers so tests can compare them with numpy's data addresses.
  static Json pointer(const void *p) {
    return Json(static_cast<long long>(reinterpret_cast<uintptr_t>(p)));
  }
  static Json list(std::initializer_list<int> v) {
    Json j = array();
    for (int x : v) j.push(x);
    return j;
  }
  static Json list(std::initializer_list<double> v) {
    Json j = array();
    for (double x : v) j.push(x);
    return j;
  }
  static Json array() {
    Json j;
    j.kind_ = Kind::Array;
    return j;
  }
  static Json object() {
    Json j;
    j.kind_ = Kind::Object;
    return j;
  }

  Kind kind() const { return kind_; }
  // Object access: inserts the key (keeping insertion order) and turns a null into an object.
  Json &operator[](const std::string &key);
  // Array append: turns a null into an array.
  Json &push(Json value);
  size_t size() const;

  std::string dump(int indent = 1) const;

 private:
  void write(std::string &out, int indent, int depth) const;

  Kind kind_ = Kind::Null;
  int64_t int_ = 0;
  double double_ = 0.0;
  std::string string_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

}  // namespace ofxhost

#endif
