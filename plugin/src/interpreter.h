// The one Python interpreter of the process (DESIGN.md decision 3): adopt the host's when it runs
// the Python version this plugin was built for, otherwise start our own, once, and never finalise
// it (torch does not survive re-initialisation). Life cycle tested by
// tests/cpp/test_interpreter.cpp.
//
// After ensure() succeeds the GIL is free: every caller, on any thread, takes it with
// pybind11::gil_scoped_acquire (PyGILState_Ensure underneath, as PYBIND11_SIMPLE_GIL_MANAGEMENT is
// set), which works the same whether the host or we started Python.
#ifndef NEURALSTYLE_INTERPRETER_H
#define NEURALSTYLE_INTERPRETER_H

#include <mutex>
#include <string>
#include <vector>

namespace neuralstyle {

// True when `running` (Py_GetVersion(): "3.11.7 (main, ...") is version major.minor.
bool python_version_matches(const char *running, int major, int minor);

// What the node says when the host's Python is another version.
std::string python_version_mismatch(const char *running, int major, int minor);

// The directories the engine's packages live in: NEURALSTYLE_PYTHONPATH (':'-separated; pass its
// value, or null when unset) replaces the lines of `paths_file`
// (Contents/Resources/python_paths.txt). Surrounding blanks, blank lines and duplicates are
// dropped; a missing file gives no directories.
std::vector<std::string> python_search_dirs(const std::string &paths_file, const char *env_value);

class Interpreter {
 public:
  enum class Origin { kNone, kAdopted, kOwned };

  // The process-wide interpreter the plugin uses.
  static Interpreter &process();

  // The first call adopts a running Python or starts ours; later calls only return the outcome.
  // Thread-safe, never throws. True when Python is usable.
  bool ensure();

  Origin origin() const { return origin_; }
  const std::string &version() const { return version_; }  // "3.11.7"
  // Why Python is unusable (version mismatch, failed start); empty when usable.
  const std::string &error() const { return error_; }
  // "adopted the host's Python 3.11.7" / "started its own Python 3.11.7" / the error.
  std::string summary() const;

  // Needs the GIL. site.addsitedir for each directory not yet on sys.path, so the .pth files of an
  // editable install are honoured.
  static void add_site_dirs(const std::vector<std::string> &dirs);

 private:
  void adopt();
  void start_own();

  std::once_flag once_;
  Origin origin_ = Origin::kNone;
  std::string version_;
  std::string error_;
};

}  // namespace neuralstyle

#endif
