#include "python_owner.h"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <cstring>

namespace ofxhost {

std::string PythonOwner::defaultLibrary() {
  if (const char *env = std::getenv("OFXHOST_LIBPYTHON")) return env;
#ifdef OFXHOST_LIBPYTHON
  return OFXHOST_LIBPYTHON;
#else
  return "";
#endif
}

template <class F>
static bool resolve(void *lib, const char *name, F *out, std::string *error) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  if (!*out) *error = std::string("libpython has no ") + name;
  return *out != nullptr;
}

bool PythonOwner::start(const std::string &library, std::string *error) {
  if (library.empty()) {
    *error =
        "no libpython known: configure with Python3 development files or set OFXHOST_LIBPYTHON";
    return false;
  }
  library_ = library;
  handle_ = dlopen(library.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!handle_) {
    const char *e = dlerror();
    *error = "cannot load " + library + ": " + (e ? e : "unknown error");
    return false;
  }
  void (*initialize)(int) = nullptr;
  int (*isInitialized)() = nullptr;
  void *(*saveThread)() = nullptr;
  const char *(*getVersion)() = nullptr;
  if (!resolve(handle_, "Py_InitializeEx", &initialize, error) ||
      !resolve(handle_, "Py_IsInitialized", &isInitialized, error) ||
      !resolve(handle_, "PyEval_SaveThread", &saveThread, error) ||
      !resolve(handle_, "PyGILState_Ensure", &gilEnsure_, error) ||
      !resolve(handle_, "PyGILState_Release", &gilRelease_, error) ||
      !resolve(handle_, "PyRun_SimpleString", &runString_, error) ||
      !resolve(handle_, "Py_GetVersion", &getVersion, error)) {
    return false;
  }
  initialize(0);  // 0: leave signal handlers to the host, as embedding applications do
  if (!isInitialized()) {
    *error = "Py_InitializeEx did not initialise Python";
    return false;
  }
  version_ = getVersion();
  if (runString_("import sys; sys.ofxhost_owner = True") != 0) {
    *error = "the marker line failed in the new interpreter";
    return false;
  }
  saveThread();  // the main thread gives up the GIL; plugins take it per call
  return true;
}

bool PythonOwner::run(const std::string &code) {
  if (!runString_) return false;
  const int state = gilEnsure_();
  const int rc = runString_(code.c_str());
  gilRelease_(state);
  return rc == 0;
}

Json PythonOwner::describe() const {
  Json j = Json::object();
  j["library"] = library_;
  j["version"] = version_;
  return j;
}

std::string loadedLibpython() {
  std::string found;
  dl_iterate_phdr(
      [](struct dl_phdr_info *info, size_t, void *data) {
        const char *name = info->dlpi_name;
        if (name && std::strstr(name, "libpython")) {
          *static_cast<std::string *>(data) = name;
          return 1;
        }
        return 0;
      },
      &found);
  return found;
}

}  // namespace ofxhost
