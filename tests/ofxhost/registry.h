// Live-object registries: a handle from the plugin is trusted only if the host made it and it is
// still alive, so a stale or foreign handle gives kOfxStatErrBadHandle instead of a crash.
#ifndef OFXHOST_REGISTRY_H
#define OFXHOST_REGISTRY_H

#include <mutex>
#include <unordered_set>

namespace ofxhost {

template <class T>
class Registry {
 public:
  static void add(T *p) {
    std::lock_guard<std::mutex> lock(mutex());
    live().insert(p);
  }
  static void remove(T *p) {
    std::lock_guard<std::mutex> lock(mutex());
    live().erase(p);
  }
  static T *find(const void *p) {
    if (!p) return nullptr;
    std::lock_guard<std::mutex> lock(mutex());
    auto it = live().find(static_cast<T *>(const_cast<void *>(p)));
    return it == live().end() ? nullptr : *it;
  }

 private:
  static std::mutex &mutex() {
    static std::mutex m;
    return m;
  }
  static std::unordered_set<T *> &live() {
    static std::unordered_set<T *> s;
    return s;
  }
};

}  // namespace ofxhost

#endif
