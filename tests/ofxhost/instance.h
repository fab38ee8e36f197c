// One effect instance of a run: made from the context descriptor, given the command line's
// parameter values and keys, created, asked for clip preferences, then rendering every frame of
// the sequence (on its own thread when there are several instances) and destroyed. It keeps the
// log record of all that: per frame what the plugin was handed and what it answered.
#ifndef OFXHOST_INSTANCE_H
#define OFXHOST_INSTANCE_H

#include <memory>
#include <mutex>
#include <string>

#include "cuda_buffers.h"
#include "effect.h"
#include "frame_feed.h"
#include "json.h"
#include "options.h"

namespace ofxhost {

// What every instance of a run shares; fixed before the first instance is made.
struct Shared {
  const Options &options;
  Effect *context = nullptr;         // the descriptor in the chosen context
  const Array *firstMask = nullptr;  // the Mask's first frame, when --mask is given
  CudaRuntime *cuda = nullptr;       // set when renders get CUDA buffers
  bool cudaRender = false;           // the plugin declares CUDA render
  bool cudaStream = false;           // ... and CUDA streams
  bool framesNeeded = false;         // temporal clip access on both sides: ask GetFramesNeeded
};

class Instance {
 public:
  Instance(const Shared &shared, int index, std::string input);
  ~Instance();
  Instance(const Instance &) = delete;
  Instance &operator=(const Instance &) = delete;

  // The input's first frame: the clip's unmapped format and the project size. Usage errors.
  bool inspect(std::string *error);
  // The host side of the instance: effect, parameter values and keys, feeds, output folder,
  // CUDA stream. Usage errors (unknown parameter, bad value).
  bool prepare(const Effect::Entry &entry, std::mutex *unsafeRenderLock, std::string *error);
  bool create();     // CreateInstance, then GetClipPreferences
  void renderAll();  // BeginSequenceRender, every frame, EndSequenceRender
  Json destroy();    // DestroyInstance; the instance's log record
  bool ok() const { return created_ && failed_ == 0; }
  Effect &effect() { return *effect_; }

 private:
  bool hasMask() const { return shared_.firstMask != nullptr; }
  // A clip's region of definition: canonical full-frame coordinates (the spec; Natron, Nuke), or
  // with --rod proxy the image's own bounds at the render scale (MLT).
  OfxRectD clipRod(const Array &first) const;
  OfxRectD sourceRod() const { return clipRod(first_); }
  OfxRectI renderWindow(const OfxRectD &rod) const;
  bool applyParamOptions(std::string *error);
  bool createInstance();
  Json clipPreferences();
  void addGpuArgs(PropertySet &args) const;
  Json applyEdits(int frame);
  Json renderFrame(int frame, bool sequenceOk);

  const Shared &shared_;
  const Options &opt_;
  int index_;
  std::string input_;    // the Source's file pattern
  Array first_;          // its first frame
  RenderScale scale_;    // the render scale of its frames
  std::string premult_;  // what the host says about the Source's alpha
  std::unique_ptr<Effect> effect_;
  std::unique_ptr<FileFeed> source_, mask_;
  OutputFeed output_;
  std::string outDir_;
  void *stream_ = nullptr;
  bool created_ = false;
  int failed_ = 0;
  Json frames_ = Json::array();
  Json prefs_ = Json::array();
};

}  // namespace ofxhost

#endif
