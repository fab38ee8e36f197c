// The plugin's one door into Python: the functions of neuralstyle.host (docs/contract.md). Only
// buffers and plain values cross. Each call takes the GIL itself, and every Python exception comes
// back as a PythonError whose message is "TypeName: message" and whose status is what the action
// answers the host: kOfxStatGPUOutOfMemory for a neuralstyle.errors.OutOfMemoryError on a CUDA
// device, kOfxStatErrMemory for one on the CPU, kOfxStatFailed for anything else. Errors that are
// not a neuralstyle.errors.NeuralStyleError are bugs, and their traceback goes to stderr too.
#ifndef NEURALSTYLE_ENGINE_H
#define NEURALSTYLE_ENGINE_H

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "image_layout.h"
#include "ofx_abi.h"
#include "params.h"

namespace pybind11 {
class error_already_set;
}

namespace neuralstyle {

class PythonError : public std::runtime_error {
 public:
  explicit PythonError(const std::string &message, OfxStatus status = kOfxStatFailed)
      : std::runtime_error(message), status_(status) {}
  OfxStatus status() const { return status_; }

 private:
  OfxStatus status_;
};

namespace engine {

// Makes Python usable (Interpreter::process()), logs that decision on `effect` once per process,
// puts the engine's directories on sys.path and imports neuralstyle.host. Idempotent. Throws
// std::runtime_error with the interpreter's message, or PythonError from the import.
void load(OfxImageEffectHandle effect);

// Another frame of the Temporal stability window: its images and the parameters at its time.
struct WindowFrame {
  double time = 0.0;
  ImageLayout src;
  std::optional<ImageLayout> mask;
  ParamValues params;
};

struct RenderCall {
  int instance = 0;
  ImageLayout src;
  ImageLayout dst;
  OfxRectI window{0, 0, 0, 0};  // inside dst.bounds
  std::optional<ImageLayout> mask;
  ParamValues params;
  double time = 0.0;
  double render_scale[2] = {1.0, 1.0};
  int frame_size[2] = {0, 0};      // (height, width) of the Source at render scale 1; 0: unknown
  std::uintptr_t cuda_stream = 0;  // the host's cudaStream_t, 0 for none
  int temporal_radius = 0;         // Temporal stability's K; 0: off
  double temporal_amount = 1.0;    // Stability amount at `time`
  std::vector<WindowFrame> neighbours;  // the other frames of time-K..time+K the host gave
};

// neuralstyle.host.render(instance, src, dst, params, time, render_scale, mask=, cuda_stream=,
// progress=, frame_size=, temporal=).
// Calls load(effect) first.
void render(OfxImageEffectHandle effect, const RenderCall &call);

// neuralstyle.host.is_identity(params). Calls load(effect) first.
bool is_identity(OfxImageEffectHandle effect, const ParamValues &params);

// neuralstyle.host.release / purge_caches; nothing to do when the engine was never imported.
void release(int instance);
void purge_caches();

// Needs the GIL: "TypeName: message", and the traceback to stderr unless it is a NeuralStyleError.
std::string describe_python_error(pybind11::error_already_set &error);

// Needs the GIL: the status an action answers for `error` (see PythonError above).
OfxStatus python_error_status(pybind11::error_already_set &error);

}  // namespace engine
}  // namespace neuralstyle

#endif
