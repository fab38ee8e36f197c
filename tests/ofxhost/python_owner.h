// "Host owns Python" (what Natron and Nuke do): before any plugin is loaded, dlopen the libpython
// the build found with RTLD_NOW | RTLD_GLOBAL, initialise it without signal handlers, mark it, and
// release the GIL so plugins take it with PyGILState_Ensure from any thread. Everything goes
// through dlsym: the host binary does not link libpython, so without --python own it is a
// Python-free host like Resolve or MLT. The interpreter is never finalised (torch does not survive
// that).
#ifndef OFXHOST_PYTHON_OWNER_H
#define OFXHOST_PYTHON_OWNER_H

#include <string>

#include "json.h"

namespace ofxhost {

class PythonOwner {
 public:
  // library: the path baked in at build time (OFXHOST_LIBPYTHON), or the env var of the same name.
  static std::string defaultLibrary();
  bool start(const std::string &library, std::string *error);
  // Runs a line with the GIL held; false when it raised (the traceback goes to stderr).
  bool run(const std::string &code);
  Json describe() const;

 private:
  std::string library_;
  std::string version_;
  void *handle_ = nullptr;
  int (*gilEnsure_)() = nullptr;  // PyGILState_STATE is an enum: int-sized
  void (*gilRelease_)(int) = nullptr;
  int (*runString_)(const char *) = nullptr;
};

// Whether some libpython is mapped into the process now (after a run: did the plugin load one?).
std::string loadedLibpython();

}  // namespace ofxhost

#endif
