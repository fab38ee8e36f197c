#include "interpreter.h"

#include <dlfcn.h>
#include <pybind11/pybind11.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

namespace py = pybind11;

namespace neuralstyle {
namespace {

// "3.11" from "3.11.7 (main, ...)": up to the end of the minor number.
std::string major_minor(const char *version) {
  const std::string v = version ? version : "";
  const auto first = v.find('.');
  const auto second =
      first == std::string::npos ? first : v.find_first_not_of("0123456789", first + 1);
  return v.substr(0, second);
}

// "3.11.7" from "3.11.7 (main, ...)".
std::string release_of(const char *version) {
  const std::string v = version ? version : "";
  return v.substr(0, v.find(' '));
}

bool is_file(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The prefix whose lib/pythonX.Y holds the standard library of the libpython we are linked to.
// Without it, Python would search upwards from the host's executable and could take another
// installation's standard library (a system /usr/lib/python3.11 next to a pyenv libpython).
std::string home_of_linked_libpython() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void *>(&Py_InitializeFromConfig), &info) || !info.dli_fname) {
    return "";
  }
  const std::string landmark = "/lib/python" + std::to_string(PY_MAJOR_VERSION) + "." +
                               std::to_string(PY_MINOR_VERSION) + "/os.py";
  std::string dir = info.dli_fname;
  for (auto slash = dir.rfind('/'); slash != std::string::npos && slash > 0;
       slash = dir.rfind('/')) {
    dir.resize(slash);
    if (is_file(dir + landmark)) return dir;
  }
  return "";
}

std::string status_message(const char *what, const PyStatus &status) {
  std::string message = std::string(what) + " failed";
  if (status.func) message += std::string(" in ") + status.func;
  if (status.err_msg) message += std::string(": ") + status.err_msg;
  return message;
}

}  // namespace

bool python_version_matches(const char *running, int major, int minor) {
  return major_minor(running) == std::to_string(major) + "." + std::to_string(minor);
}

std::string python_version_mismatch(const char *running, int major, int minor) {
  return "host runs Python " + major_minor(running) + "; this build of Neural Style needs " +
         std::to_string(major) + "." + std::to_string(minor);
}

std::vector<std::string> python_search_dirs(const std::string &paths_file, const char *env_value) {
  std::vector<std::string> lines;
  if (env_value) {
    std::string rest = env_value;
    for (std::size_t colon; (colon = rest.find(':')) != std::string::npos;
         rest.erase(0, colon + 1)) {
      lines.push_back(rest.substr(0, colon));
    }
    lines.push_back(rest);
  } else {
    std::ifstream file(paths_file);
    for (std::string line; std::getline(file, line);) lines.push_back(line);
  }
  std::vector<std::string> dirs;
  for (std::string &line : lines) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    bool seen = false;
    for (const std::string &d : dirs) seen = seen || d == line;
    if (!seen) dirs.push_back(line);
  }
  return dirs;
}

Interpreter &Interpreter::process() {
  // Never destroyed: it outlives every static that might still take the GIL at exit.
  static Interpreter *interpreter = new Interpreter();
  return *interpreter;
}

bool Interpreter::ensure() {
  std::call_once(once_, [this] {
    try {
      if (Py_IsInitialized()) {
        adopt();
      } else {
        start_own();
      }
    } catch (const std::exception &e) {
      error_ = std::string("could not start Python: ") + e.what();
    } catch (...) {
      error_ = "could not start Python";
    }
  });
  return error_.empty();
}

std::string Interpreter::summary() const {
  switch (origin_) {
    case Origin::kAdopted:
      return "adopted the host's Python " + version_;
    case Origin::kOwned:
      return "started its own Python " + version_;
    case Origin::kNone:
      break;
  }
  return error_.empty() ? "has not started Python" : error_;
}

void Interpreter::adopt() {
  // With another libpython in the host's global scope, these calls bind to the host's copy; that is
  // how a version mismatch is seen, and nothing else of Python is touched then.
  const char *running = Py_GetVersion();
  if (!python_version_matches(running, PY_MAJOR_VERSION, PY_MINOR_VERSION)) {
    error_ = python_version_mismatch(running, PY_MAJOR_VERSION, PY_MINOR_VERSION);
    return;
  }
  version_ = release_of(running);
  origin_ = Origin::kAdopted;
}

void Interpreter::start_own() {
  // The host dlopened us RTLD_LOCAL, so libpython's symbols are invisible to the C extensions
  // Python loads (numpy, torch): promote the already loaded library to the global scope.
  if (!dlopen(NEURALSTYLE_LIBPYTHON_SONAME, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD)) {
    const char *why = dlerror();
    error_ = std::string("could not make " NEURALSTYLE_LIBPYTHON_SONAME " global: ") +
             (why ? why : "not loaded");
    return;
  }

  // Leave the host's process state alone: its locale, stdio and signal handlers.
  PyPreConfig preconfig;
  PyPreConfig_InitPythonConfig(&preconfig);
  preconfig.configure_locale = 0;
  preconfig.utf8_mode = 1;
  PyStatus status = Py_PreInitialize(&preconfig);
  if (PyStatus_Exception(status)) {
    error_ = status_message("Python pre-initialisation", status);
    return;
  }

  struct sigaction host_sigint{};
  sigaction(SIGINT, nullptr, &host_sigint);

  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.install_signal_handlers = 0;  // never steal the host's SIGINT
  config.parse_argv = 0;
  config.configure_c_stdio = 0;
  // Like a venv: no base or user site-packages; python_paths.txt names the packages we use.
  config.site_import = 0;
  status = PyStatus_Ok();
  const char *python_home = std::getenv("PYTHONHOME");
  if (!python_home || !*python_home) {
    const std::string home = home_of_linked_libpython();
    if (!home.empty()) status = PyConfig_SetBytesString(&config, &config.home, home.c_str());
  }
  if (!PyStatus_Exception(status)) status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status)) {
    error_ = status_message("Python initialisation", status);
    return;
  }
  version_ = release_of(Py_GetVersion());
  origin_ = Origin::kOwned;
  // Importing `signal` installs Python's SIGINT handler over a default one, install_signal_handlers
  // or not (3.11); torch imports it. Import it now and give SIGINT back to the host, so Ctrl-C
  // still stops the host instead of becoming a KeyboardInterrupt inside a render.
  Py_XDECREF(PyImport_ImportModule("signal"));
  PyErr_Clear();
  sigaction(SIGINT, &host_sigint, nullptr);
  // Free the GIL for whichever host thread calls next; the thread state stays with this thread.
  PyEval_SaveThread();
}

void Interpreter::add_site_dirs(const std::vector<std::string> &dirs) {
  py::module_ sys = py::module_::import("sys");
  py::module_ site = py::module_::import("site");
  for (const std::string &dir : dirs) {
    if (sys.attr("path").attr("__contains__")(dir).cast<bool>()) continue;
    site.attr("addsitedir")(dir);
  }
}

}  // namespace neuralstyle
