// The life cycle of the plugin's interpreter (plugin/src/interpreter.h), in a program whose main
// owns the only interpreter, as a host process does.
//   test_interpreter              the plugin starts Python (a host without Python: Resolve, MLT)
//   test_interpreter --host-owned the host started Python first and released the GIL (Natron)
#include <dlfcn.h>
#include <pybind11/eval.h>
#include <pybind11/pybind11.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "interpreter.h"

namespace py = pybind11;
using namespace neuralstyle;

namespace {

void version_check_is_pure() {
  CHECK(python_version_matches("3.11.7 (main, May  9 2026, 07:35:25) [GCC 12.2.0]", 3, 11));
  CHECK(python_version_matches("3.11.0a1", 3, 11));
  CHECK(python_version_matches("3.11", 3, 11));
  CHECK(!python_version_matches("3.10.11 (main, Apr  5 2023) [GCC 8.5.0]", 3, 11));
  CHECK(!python_version_matches("3.1.0", 3, 11));
  CHECK(!python_version_matches("3.111.0", 3, 11));
  CHECK(!python_version_matches("2.7.18", 3, 11));
  CHECK(!python_version_matches("", 3, 11));
  CHECK(!python_version_matches(nullptr, 3, 11));
  CHECK_EQ(python_version_mismatch("3.10.11 (main, Apr  5 2023)", 3, 11),
           std::string("host runs Python 3.10; this build of Neural Style needs 3.11"));
}

std::string make_temp_dir() {
  char pattern[] = "/tmp/neuralstyle_test_XXXXXX";
  const char *dir = mkdtemp(pattern);
  CHECK(dir != nullptr);
  return dir ? dir : "";
}

void search_dirs_come_from_the_file_or_the_environment() {
  const std::string dir = make_temp_dir();
  const std::string file = dir + "/python_paths.txt";
  std::ofstream(file) << "  /a/site-packages  \n\n/b\n/a/site-packages\n";
  CHECK(python_search_dirs(file, nullptr) == (std::vector<std::string>{"/a/site-packages", "/b"}));
  CHECK(python_search_dirs(file, "/x::/y") == (std::vector<std::string>{"/x", "/y"}));
  CHECK(python_search_dirs(file, "").empty());  // set but empty: replaces the file
  CHECK(python_search_dirs(dir + "/missing.txt", nullptr).empty());
}

void gil_from_two_threads() {
  py::dict *scope = nullptr;
  {
    py::gil_scoped_acquire gil;
    scope = new py::dict();
    (*scope)["counter"] = 0;
  }
  auto work = [scope] {
    for (int i = 0; i < 200; ++i) {
      py::gil_scoped_acquire gil;
      py::exec("counter += 1", py::globals(), *scope);
    }
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  py::gil_scoped_acquire gil;
  CHECK_EQ((*scope)["counter"].cast<int>(), 400);
  delete scope;
}

// .pth files are what editable installs put in site-packages.
void site_dirs_honour_pth_files() {
  const std::string site = make_temp_dir();
  const std::string extra = make_temp_dir();
  std::ofstream(site + "/neuralstyle_test.pth") << extra << "\n";
  py::gil_scoped_acquire gil;
  Interpreter::add_site_dirs({site});
  Interpreter::add_site_dirs({site});
  py::dict scope;
  scope["site"] = site;
  scope["extra"] = extra;
  scope["sys"] = py::module_::import("sys");
  CHECK(py::eval("sys.path.count(site) == 1 and sys.path.count(extra) == 1", py::globals(), scope)
            .cast<bool>());
}

void a_second_interpreter_adopts() {
  Interpreter other;
  CHECK(other.ensure());
  CHECK(other.origin() == Interpreter::Origin::kAdopted);
  CHECK_EQ(other.version(), Interpreter::process().version());
  CHECK_EQ(other.summary(), "adopted the host's Python " + other.version());
}

// The plugin starts Python: first calls race from two threads, later calls are no-ops.
void own_interpreter() {
  CHECK(!Py_IsInitialized());
  bool first = false, second = false;
  std::thread a([&] { first = Interpreter::process().ensure(); });
  std::thread b([&] { second = Interpreter::process().ensure(); });
  a.join();
  b.join();
  Interpreter &python = Interpreter::process();
  CHECK(first && second);
  CHECK(python.origin() == Interpreter::Origin::kOwned);
  CHECK(python.error().empty());
  CHECK_EQ(python.version().rfind("3.11.", 0), 0u);
  CHECK_EQ(python.summary(), "started its own Python " + python.version());
  CHECK(python.ensure());
  CHECK(python.origin() == Interpreter::Origin::kOwned);
  CHECK(!PyGILState_Check());  // the GIL is free for the host's threads

  // The soname the build derived names the libpython in this process.
  CHECK(dlopen(NEURALSTYLE_LIBPYTHON_SONAME, RTLD_NOW | RTLD_NOLOAD) != nullptr);

  py::gil_scoped_acquire gil;
  py::dict scope;
  scope["sys"] = py::module_::import("sys");
  scope["os"] = py::module_::import("os");
  scope["prefix"] = NEURALSTYLE_TEST_PYTHON_PREFIX;

  // The host's SIGINT handler (the default here) survives Python and its signal module.
  py::module_::import("signal");
  struct sigaction action{};
  sigaction(SIGINT, nullptr, &action);
  CHECK(action.sa_handler == SIG_DFL);

  CHECK(py::eval("sys.flags.no_site == 1", py::globals(), scope).cast<bool>());
  // The standard library is the one of our libpython, not whatever lies above the executable.
  CHECK(py::eval("os.path.realpath(os.__file__).startswith(os.path.realpath(prefix) + os.sep)",
                 py::globals(), scope)
            .cast<bool>());
}

// The host started Python and released the GIL before loading the plugin.
void host_owned_interpreter() {
  setenv("PYTHONHOME", NEURALSTYLE_TEST_PYTHON_PREFIX, 1);  // hosts point Python at their own
  Py_InitializeEx(0);
  PyEval_SaveThread();
  Interpreter &python = Interpreter::process();
  CHECK(python.ensure());
  CHECK(python.origin() == Interpreter::Origin::kAdopted);
  CHECK_EQ(python.summary(), "adopted the host's Python " + python.version());
  CHECK(python.ensure());
}

}  // namespace

int main(int argc, char **argv) {
  const bool host_owned = argc > 1 && std::strcmp(argv[1], "--host-owned") == 0;
  version_check_is_pure();
  search_dirs_come_from_the_file_or_the_environment();
  if (host_owned) {
    host_owned_interpreter();
  } else {
    own_interpreter();
  }
  gil_from_two_threads();
  site_dirs_honour_pth_files();
  a_second_interpreter_adopts();
  return check_exit_code();
}
