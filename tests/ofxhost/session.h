// One run of the host over one plugin: load -> describe -> describeInContext -> createInstance ->
// getClipPreferences -> beginSequenceRender -> per frame (getRegionOfDefinition,
// getRegionsOfInterest, isIdentity, render) -> endSequenceRender -> destroyInstance -> unload.
// With --instances N each instance renders every frame on its own thread, concurrently, as far as
// the plugin's declared render thread safety allows.
#ifndef OFXHOST_SESSION_H
#define OFXHOST_SESSION_H

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cuda_buffers.h"
#include "effect.h"
#include "instance.h"
#include "json.h"
#include "options.h"
#include "plugin_library.h"
#include "python_owner.h"

namespace ofxhost {

constexpr int kExitOk = 0, kExitFailed = 1, kExitUsage = 2, kExitNoCuda = 77;

class Session {
 public:
  explicit Session(Options options);
  ~Session();
  int describe();  // --describe-json
  int render();

 private:
  int finish(int code);  // writes the log, returns the exit code
  bool startPython();
  bool inspectMask(std::string *error);
  bool loadPlugin(std::string *error);
  std::unique_ptr<Effect> describeInContext(const std::string &context, std::string *error);
  std::string chooseContext(std::string *error);
  void recordPythonModules();

  Options opt_;
  Json log_ = Json::object();
  PluginLibrary library_;
  OfxPlugin *plugin_ = nullptr;
  std::string binary_;
  std::unique_ptr<Effect> descriptor_;
  std::unique_ptr<Effect> context_;
  std::unique_ptr<PythonOwner> python_;
  std::unique_ptr<CudaRuntime> cuda_;
  std::mutex unsafeRenderLock_;  // for plugins that declare OfxImageEffectRenderUnsafe
  Array firstMask_;
  Shared shared_;  // refers to opt_ and firstMask_
  std::vector<std::unique_ptr<Instance>> instances_;
};

}  // namespace ofxhost

#endif
