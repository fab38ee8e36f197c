#include "engine.h"

#include <pybind11/pybind11.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <variant>

#include "bundle.h"
#include "image_view.h"
#include "interpreter.h"
#include "messages.h"
#include "suites.h"

namespace py = pybind11;

namespace neuralstyle {
namespace engine {
namespace {

struct Host {
  py::object render;
  py::object is_identity;
  py::object release;
  py::object purge_caches;
  py::object user_error;     // neuralstyle.errors.NeuralStyleError
  py::object out_of_memory;  // neuralstyle.errors.OutOfMemoryError
};

// Set once under the GIL and never freed: destroying Python objects at process exit, after a host
// may have finalised its interpreter, would crash.
std::atomic<Host *> g_host{nullptr};
std::once_flag g_logged;

// The parameters the engine reads, by their engine keys (the plugin's own have none).
py::dict params_dict(const ParamValues &p) {
  py::dict d;
  for (int i = 0; i < kParamCount; ++i) {
    if (!kParams[i].engine_key) continue;
    std::visit([&](const auto &value) { d[kParams[i].engine_key] = value; }, p.values[i]);
  }
  return d;
}

// The contract's `temporal`: None when Temporal stability is off.
py::object temporal_dict(const RenderCall &call) {
  if (call.temporal_radius == 0) return py::none();
  py::list frames;
  for (const WindowFrame &f : call.neighbours) {
    py::dict frame;
    frame["time"] = f.time;
    frame["src"] = image_dict(f.src, false);
    frame["mask"] = f.mask ? py::object(image_dict(*f.mask, false)) : py::none();
    frame["params"] = params_dict(f.params);
    frames.append(frame);
  }
  py::dict d;
  d["radius"] = call.temporal_radius;
  d["amount"] = call.temporal_amount;
  d["frames"] = frames;
  return d;
}

// Runs `body` with the GIL and the engine imported; Python exceptions leave as PythonError.
template <typename Body>
auto with_host(Body body) {
  Host *host = g_host.load();
  if (!host) throw std::logic_error("neuralstyle.host is not imported");
  py::gil_scoped_acquire gil;
  try {
    return body(*host);
  } catch (py::error_already_set &e) {
    throw PythonError(describe_python_error(e), python_error_status(e));
  }
}

}  // namespace

void load(OfxImageEffectHandle effect) {
  Interpreter &python = Interpreter::process();
  const bool ok = python.ensure();
  std::call_once(g_logged, [&] {
    if (ok) log_message(effect, python.summary());
  });
  if (!ok) throw std::runtime_error(python.error());
  if (g_host.load()) return;

  py::gil_scoped_acquire gil;
  if (g_host.load()) return;
  try {
    Interpreter::add_site_dirs(python_search_dirs(bundle_resources_dir() + "/python_paths.txt",
                                                  std::getenv("NEURALSTYLE_PYTHONPATH")));
    py::module_ host = py::module_::import("neuralstyle.host");
    py::module_ errors = py::module_::import("neuralstyle.errors");
    auto *handles = new Host{host.attr("render"),
                             host.attr("is_identity"),
                             host.attr("release"),
                             host.attr("purge_caches"),
                             errors.attr("NeuralStyleError"),
                             errors.attr("OutOfMemoryError")};
    // The import may have let another thread in (it drops the GIL): keep the first.
    Host *expected = nullptr;
    if (!g_host.compare_exchange_strong(expected, handles)) delete handles;
  } catch (py::error_already_set &e) {
    throw PythonError(describe_python_error(e));
  }
}

// The host's progress bar and abort button, as the `progress(fraction) -> bool` the engine calls
// during long renders (false: stop). Started on the first report, ended when the render ends.
class Progress {
 public:
  explicit Progress(OfxImageEffectHandle effect) : effect_(effect) {}
  ~Progress() {
    if (started_) suites().progress->progressEnd(effect_);
  }
  Progress(const Progress &) = delete;
  Progress &operator=(const Progress &) = delete;

  bool report(double fraction) {
    const Suites &s = suites();
    if (s.progress && !started_)
      started_ = s.progress->progressStart(effect_, "Neural Style") == kOfxStatOK;
    const bool cancelled =
        started_ && s.progress->progressUpdate(effect_, fraction) == kOfxStatReplyNo;
    return !cancelled && !(s.effect->abort && s.effect->abort(effect_));
  }

 private:
  OfxImageEffectHandle effect_;
  bool started_ = false;
};

void render(OfxImageEffectHandle effect, const RenderCall &call) {
  load(effect);
  Progress progress(effect);
  with_host([&](Host &host) {
    // Called back with the GIL held, on this thread, only while host.render runs.
    py::cpp_function report([&progress](double fraction) {
      py::gil_scoped_release unlocked;  // the host's UI may take its time
      return progress.report(fraction);
    });
    py::dict dst = image_dict(call.dst, true);
    dst["window"] = py::make_tuple(call.window.x1, call.window.y1, call.window.x2, call.window.y2);
    py::object mask = call.mask ? py::object(image_dict(*call.mask, false)) : py::none();
    py::object frame_size = call.frame_size[0] > 0
                                ? py::object(py::make_tuple(call.frame_size[0], call.frame_size[1]))
                                : py::none();
    host.render(call.instance, image_dict(call.src, false), dst, params_dict(call.params),
                call.time, py::make_tuple(call.render_scale[0], call.render_scale[1]),
                py::arg("mask") = mask, py::arg("cuda_stream") = call.cuda_stream,
                py::arg("progress") = report, py::arg("frame_size") = frame_size,
                py::arg("temporal") = temporal_dict(call));
  });
}

bool is_identity(OfxImageEffectHandle effect, const ParamValues &params) {
  load(effect);
  return with_host([&](Host &host) { return host.is_identity(params_dict(params)).cast<bool>(); });
}

void release(int instance) {
  if (!g_host.load()) return;
  with_host([&](Host &host) { host.release(instance); });
}

void purge_caches() {
  if (!g_host.load()) return;
  with_host([&](Host &host) { host.purge_caches(); });
}

std::string describe_python_error(py::error_already_set &error) {
  const py::object value = error.value();
  std::string message;
  try {
    message = py::str(py::type::handle_of(value).attr("__name__")).cast<std::string>() + ": " +
              py::str(value).cast<std::string>();
    Host *host = g_host.load();
    if (!host || !py::isinstance(value, host->user_error)) {
      // A bug, not a bad input: the traceback belongs in the log.
      py::module_::import("traceback").attr("print_exception")(error.type(), value, error.trace());
      py::module_::import("sys").attr("stderr").attr("flush")();
    }
  } catch (py::error_already_set &) {
    if (message.empty()) message = error.what();  // str() itself failed; pybind11's text
  }
  return message;
}

OfxStatus python_error_status(py::error_already_set &error) {
  Host *host = g_host.load();
  if (!host || !error.matches(host->out_of_memory)) return kOfxStatFailed;
  try {
    const bool cuda = py::str(error.value().attr("device")).cast<std::string>() == "cuda";
    return cuda ? kOfxStatGPUOutOfMemory : kOfxStatErrMemory;
  } catch (py::error_already_set &) {
    return kOfxStatErrMemory;  // no readable device: still out of memory
  }
}

}  // namespace engine
}  // namespace neuralstyle
