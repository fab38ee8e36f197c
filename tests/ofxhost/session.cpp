#include "session.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "npy.h"
#include "ofx_names.h"
#include "report.h"
#include "suites.h"

namespace ofxhost {

namespace fs = std::filesystem;

namespace {

bool writeText(const std::string &path, const std::string &text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!(f << text)) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

Session::Session(Options options) : opt_(std::move(options)), shared_{opt_} {}

Session::~Session() = default;

int Session::finish(int code) {
  log_["messages"] = globalMessages();
  log_["warnings"] = warnings();
  log_["suites"] = suiteRequests();
  log_["memory_blocks_not_freed"] = static_cast<long long>(outstandingMemoryBlocks());
  log_["libpython_loaded"] = loadedLibpython();
  log_["exit_code"] = code;
  if (!opt_.log.empty() && !writeText(opt_.log, log_.dump())) {
    std::fprintf(stderr, "ofxhost: cannot write the log %s\n", opt_.log.c_str());
  }
  return code;
}

bool Session::startPython() {
  Json p = Json::object();
  p["mode"] = opt_.python;
  if (opt_.python == "own") {
    python_ = std::make_unique<PythonOwner>();
    std::string error;
    if (!python_->start(PythonOwner::defaultLibrary(), &error)) {
      std::fprintf(stderr, "ofxhost: --python own: %s\n", error.c_str());
      p["error"] = error;
      log_["python"] = std::move(p);
      return false;
    }
    p["interpreter"] = python_->describe();
  }
  log_["python"] = std::move(p);
  return true;
}

bool Session::inspectMask(std::string *error) {
  if (opt_.mask.empty()) return true;
  if (!readNpy(framePath(opt_.mask, opt_.firstFrame), &firstMask_, error)) return false;
  shared_.firstMask = &firstMask_;
  return true;
}

bool Session::loadPlugin(std::string *error) {
  if (!PluginLibrary::findBinary(opt_.bundle, &binary_, error) || !library_.open(binary_, error))
    return false;
  log_["binary"] = binary_;
  HostSettings settings;
  settings.temporalAccess = opt_.temporalAccess;
  OfxHost *host = ofxHost(settings);
  bool called = false;
  OfxStatus st = kOfxStatOK;
  const bool accepted = library_.setHost(host, &called, &st);
  Json sh = Json::object();
  sh["exported"] = called;
  sh["status"] = st;
  log_["ofx_set_host"] = std::move(sh);
  if (!accepted) {
    *error = "OfxSetHost answered kOfxStatFailed: the plugin declines this host";
    return false;
  }
  Json found = Json::array();
  for (OfxPlugin *p : library_.plugins()) {
    found.push(p->pluginIdentifier ? p->pluginIdentifier : "");
    const bool isEffect = p->pluginApi && std::string(p->pluginApi) == kOfxImageEffectPluginApi &&
                          p->apiVersion == kOfxImageEffectPluginApiVersion;
    const bool idMatches =
        opt_.pluginId.empty() || (p->pluginIdentifier && opt_.pluginId == p->pluginIdentifier);
    if (!plugin_ && isEffect && idMatches) plugin_ = p;
  }
  log_["plugins_in_bundle"] = std::move(found);
  if (!plugin_ || !plugin_->mainEntry) {
    *error = opt_.pluginId.empty() ? "no image effect plugin in the bundle"
                                   : "no plugin " + opt_.pluginId;
    return false;
  }
  Json pj = Json::object();
  pj["identifier"] = plugin_->pluginIdentifier;
  Json version = Json::array();
  version.push(plugin_->pluginVersionMajor);
  version.push(plugin_->pluginVersionMinor);
  pj["version"] = std::move(version);
  log_["plugin"] = std::move(pj);

  if (plugin_->setHost) plugin_->setHost(host);
  OfxPlugin *plugin = plugin_;
  const Effect::Entry entry = [plugin](const char *a, const void *h, OfxPropertySetHandle in,
                                       OfxPropertySetHandle out) {
    return plugin->mainEntry(a, h, in, out);
  };
  Json actions = Json::array();
  auto record = [&actions](const char *a, OfxStatus s) {
    Json r = Json::object();
    r["action"] = a;
    r["status"] = s;
    actions.push(std::move(r));
  };
  st = plugin_->mainEntry(kOfxActionLoad, nullptr, nullptr, nullptr);
  record(kOfxActionLoad, st);
  log_["actions"] = actions;
  if (!succeeded(st)) {
    *error = "OfxActionLoad failed with status " + std::to_string(st);
    return false;
  }
  descriptor_ = std::make_unique<Effect>(Effect::Role::Descriptor, "descriptor", entry);
  PropertySet &d = descriptor_->props();
  d.setString(kOfxPropType, kOfxTypeImageEffect);
  d.setString(kOfxPropLabel, "");
  d.setString(kOfxPropShortLabel, "");
  d.setString(kOfxPropLongLabel, "");
  d.setInt(kOfxPropVersion, std::vector<int>{0});
  d.setString(kOfxPropVersionLabel, "");
  d.setString(kOfxPropPluginDescription, "");
  d.setString(kOfxImageEffectPropSupportedContexts, std::vector<std::string>{});
  d.setString(kOfxImageEffectPluginPropGrouping, "");
  d.setInt(kOfxImageEffectPluginPropSingleInstance, 0);
  d.setString(kOfxImageEffectPluginRenderThreadSafety, kOfxImageEffectRenderInstanceSafe);
  d.setInt(kOfxImageEffectPluginPropHostFrameThreading, 1);
  d.setPointer(kOfxImageEffectPluginPropOverlayInteractV1, nullptr);
  d.setInt(kOfxImageEffectPropSupportsMultiResolution, 1);
  d.setInt(kOfxImageEffectPropSupportsTiles, 1);
  d.setInt(kOfxImageEffectPropTemporalClipAccess, 0);
  d.setString(kOfxImageEffectPropSupportedPixelDepths, std::vector<std::string>{});
  d.setInt(kOfxImageEffectPluginPropFieldRenderTwiceAlways, 1);
  d.setInt(kOfxImageEffectPropSupportsMultipleClipDepths, 0);
  d.setInt(kOfxImageEffectPropSupportsMultipleClipPARs, 0);
  d.setString(kOfxImageEffectPropClipPreferencesSlaveParam, std::vector<std::string>{});
  d.setString(kOfxImageEffectPluginPropFilePath, fs::absolute(opt_.bundle).string());
  d.setString(kOfxImageEffectPropOpenGLRenderSupported, "false");
  d.setString(kOfxImageEffectPropCudaRenderSupported, "false");
  d.setString(kOfxImageEffectPropCudaStreamSupported, "false");
  d.setInt(kOfxImageEffectInstancePropSequentialRender, 0);
  st = descriptor_->action(kOfxActionDescribe);
  record(kOfxActionDescribe, st);
  log_["actions"] = actions;
  if (!succeeded(st)) {
    *error = "OfxActionDescribe failed with status " + std::to_string(st);
    return false;
  }
  return true;
}

std::unique_ptr<Effect> Session::describeInContext(const std::string &context, std::string *error) {
  OfxPlugin *plugin = plugin_;
  auto e = std::make_unique<Effect>(
      Effect::Role::ContextDescriptor, "descriptor in " + context,
      [plugin](const char *a, const void *h, OfxPropertySetHandle in, OfxPropertySetHandle out) {
        return plugin->mainEntry(a, h, in, out);
      });
  e->props().copyFrom(descriptor_->props());
  e->props().setString(kOfxImageEffectPropContext, context);
  PropertySet in("inArgs of DescribeInContext", false, false);
  in.setString(kOfxImageEffectPropContext, context);
  const OfxStatus st = e->action(kOfxImageEffectActionDescribeInContext, &in);
  Json r = Json::object();
  r["action"] = kOfxImageEffectActionDescribeInContext;
  r["status"] = st;
  r["context"] = context;
  log_["actions"].push(std::move(r));
  if (!succeeded(st)) {
    *error = "DescribeInContext(" + context + ") failed with status " + std::to_string(st);
    return nullptr;
  }
  return e;
}

std::string Session::chooseContext(std::string *error) {
  const auto supported = descriptor_->props().getStrings(kOfxImageEffectPropSupportedContexts);
  auto has = [&](const char *c) {
    for (const auto &s : supported) {
      if (s == c) return true;
    }
    return false;
  };
  std::string wanted = opt_.context;
  if (wanted.empty())
    wanted = (shared_.firstMask || !has(kOfxImageEffectContextFilter)) ? "general" : "filter";
  const char *ofx =
      wanted == "filter" ? kOfxImageEffectContextFilter : kOfxImageEffectContextGeneral;
  if (!has(ofx)) {
    *error = "the plugin does not support the " + wanted + " context";
    return "";
  }
  return ofx;
}

int Session::describe() {
  std::string error;
  if (!loadPlugin(&error)) {
    std::fprintf(stderr, "ofxhost: %s\n", error.c_str());
    return finish(kExitFailed);
  }
  Json out = Json::object();
  out["plugin"] = log_["plugin"];
  out["binary"] = binary_;
  out["props"] = descriptor_->props().toJson();
  Json contexts = Json::object();
  int code = kExitOk;
  for (const auto &ctx : descriptor_->props().getStrings(kOfxImageEffectPropSupportedContexts)) {
    std::unique_ptr<Effect> e = describeInContext(ctx, &error);
    const std::string key = ctx == kOfxImageEffectContextFilter    ? "filter"
                            : ctx == kOfxImageEffectContextGeneral ? "general"
                                                                   : ctx;
    if (!e) {
      std::fprintf(stderr, "ofxhost: %s\n", error.c_str());
      code = kExitFailed;
      continue;
    }
    Json c = Json::object();
    Json clips = Json::object();
    for (const auto &clip : e->clips()) {
      Json cj = Json::object();
      Json comps = Json::array();
      for (const auto &s : clip->props().getStrings(kOfxImageEffectPropSupportedComponents))
        comps.push(s);
      cj["supported_components"] = std::move(comps);
      cj["optional"] = clip->optional();
      cj["is_mask"] = clip->props().getInt(kOfxImageClipPropIsMask) != 0;
      cj["props"] = clip->props().toJson();
      clips[clip->name()] = std::move(cj);
    }
    c["clips"] = std::move(clips);
    Json params = Json::object();
    for (const auto &p : e->params().all()) params[p->name()] = p->describe();
    c["params"] = std::move(params);
    c["props"] = e->props().toJson();
    contexts[key] = std::move(c);
  }
  out["contexts"] = std::move(contexts);
  const OfxStatus st = plugin_->mainEntry(kOfxActionUnload, nullptr, nullptr, nullptr);
  Json r = Json::object();
  r["action"] = kOfxActionUnload;
  r["status"] = st;
  log_["actions"].push(std::move(r));
  out["actions"] = log_["actions"];
  out["suites"] = suiteRequests();
  out["messages"] = globalMessages();
  out["warnings"] = warnings();
  if (!writeText(opt_.describeJson, out.dump())) {
    std::fprintf(stderr, "ofxhost: cannot write %s\n", opt_.describeJson.c_str());
    return finish(kExitUsage);
  }
  return finish(code);
}

int Session::render() {
  Json o = Json::object();
  Json inputs = Json::array();
  for (const auto &in : opt_.inputs) inputs.push(in);
  o["inputs"] = std::move(inputs);
  o["mask"] = opt_.mask;
  o["frames"] = Json::list({opt_.firstFrame, opt_.lastFrame});
  o["row_bytes"] = opt_.layout.order == RowOrder::TopDown ? "negative" : "positive";
  o["row_padding"] = opt_.layout.padding;
  o["offset"] = Json::list({opt_.offsetX, opt_.offsetY});
  o["render_scale"] = 1.0 / opt_.proxy.factor;
  o["proxy_size"] = Json::list({opt_.proxy.width, opt_.proxy.height});
  o["rod"] = opt_.rodInProxyPixels ? "proxy" : "canonical";
  o["instances"] = opt_.instances;
  o["cuda"] = opt_.cuda;
  log_["options"] = std::move(o);
  auto fail = [this](int code, const std::string &why) {
    std::fprintf(stderr, "ofxhost: %s\n", why.c_str());
    return finish(code);
  };

  std::string error;
  for (int k = 0; k < opt_.instances; ++k) {
    const size_t input = opt_.inputs.size() == 1 ? 0 : static_cast<size_t>(k);
    instances_.push_back(std::make_unique<Instance>(shared_, k, opt_.inputs[input]));
    if (!instances_.back()->inspect(&error)) return fail(kExitUsage, error);
  }
  if (!inspectMask(&error)) return fail(kExitUsage, error);
  if (opt_.cuda) {
    cuda_ = std::make_unique<CudaRuntime>();
    if (!cuda_->open(&error)) {
      log_["cuda"] = error;
      return fail(kExitNoCuda, "--cuda unavailable: " + error);
    }
    log_["cuda"] = cuda_->describe();
  }
  // Like Natron: Python runs before any plugin is loaded.
  if (!startPython()) return finish(kExitFailed);
  if (!loadPlugin(&error)) return fail(kExitFailed, error);
  const std::string context = chooseContext(&error);
  if (context.empty()) return fail(kExitUsage, error);
  log_["context"] = context;
  context_ = describeInContext(context, &error);
  if (!context_) return fail(kExitFailed, error);
  shared_.context = context_.get();
  if (!context_->clip(kOfxImageEffectSimpleSourceClipName) ||
      !context_->clip(kOfxImageEffectOutputClipName)) {
    return fail(kExitFailed, "the plugin defines no Source or Output clip");
  }
  if (shared_.firstMask && !context_->clip("Mask")) {
    return fail(kExitUsage, "--mask given but the plugin has no Mask clip in this context");
  }
  PropertySet &d = context_->props();
  const std::string safety = d.getString(kOfxImageEffectPluginRenderThreadSafety);
  if (d.getInt(kOfxImageEffectPluginPropSingleInstance) && opt_.instances > 1) {
    return fail(kExitUsage, "the plugin allows a single instance only");
  }
  const std::string cudaSupport = d.getString(kOfxImageEffectPropCudaRenderSupported);
  shared_.cudaRender = cudaSupport == "true" || cudaSupport == "needed";
  shared_.cudaStream =
      shared_.cudaRender && d.getString(kOfxImageEffectPropCudaStreamSupported) == "true";
  if (cuda_ && !shared_.cudaRender) {
    warn("--cuda: the plugin does not declare CUDA render support; rendering with CPU buffers");
    cuda_.reset();
  }
  shared_.cuda = cuda_.get();
  shared_.framesNeeded = opt_.temporalAccess && d.getInt(kOfxImageEffectPropTemporalClipAccess);
  Json caps = Json::object();
  caps["render_thread_safety"] = safety;
  caps["supports_tiles"] = d.getInt(kOfxImageEffectPropSupportsTiles);
  caps["temporal_clip_access"] = d.getInt(kOfxImageEffectPropTemporalClipAccess);
  caps["host_frame_threading"] = d.getInt(kOfxImageEffectPluginPropHostFrameThreading);
  caps["cuda_render"] = cudaSupport;
  caps["cuda_stream"] = shared_.cudaStream;
  caps["cuda_enabled"] = cuda_ != nullptr;
  log_["plugin_capabilities"] = std::move(caps);

  OfxPlugin *plugin = plugin_;
  const Effect::Entry entry = [plugin](const char *a, const void *h, OfxPropertySetHandle in,
                                       OfxPropertySetHandle out) {
    return plugin->mainEntry(a, h, in, out);
  };
  std::mutex *lock = safety == kOfxImageEffectRenderUnsafe ? &unsafeRenderLock_ : nullptr;
  for (auto &instance : instances_) {
    if (!instance->prepare(entry, lock, &error)) return fail(kExitUsage, error);
  }
  // Instances are created and asked for clip preferences on the main thread, then render
  // concurrently, each on its own thread.
  for (auto &instance : instances_) instance->create();
  std::vector<std::thread> threads;
  for (auto &instance : instances_) {
    Instance *i = instance.get();
    if (i->ok()) threads.emplace_back([i] { i->renderAll(); });
  }
  for (auto &t : threads) t.join();

  int code = kExitOk;
  Json records = Json::array();
  for (auto &instance : instances_) {
    records.push(instance->destroy());
    if (!instance->ok()) code = kExitFailed;
  }
  log_["instances"] = std::move(records);
  instances_.clear();  // before unload: the plugin's instances are gone
  const OfxStatus st = plugin_->mainEntry(kOfxActionUnload, nullptr, nullptr, nullptr);
  Json r = Json::object();
  r["action"] = kOfxActionUnload;
  r["status"] = st;
  log_["actions"].push(std::move(r));
  if (python_) recordPythonModules();
  return finish(code);
}

// Evidence that the plugin used the host's interpreter: the top-level modules imported into it.
void Session::recordPythonModules() {
  char path[] = "/tmp/ofxhost-python-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return;
  close(fd);
  python_->run(
      std::string("import sys\nwith open('") + path +
      "', 'w') as f:\n    f.write('\\n'.join(sorted(m for m in sys.modules if '.' not in m)))\n");
  std::ifstream f(path);
  Json modules = Json::array();
  for (std::string line; std::getline(f, line);) modules.push(line);
  std::remove(path);
  log_["python"]["modules"] = std::move(modules);
}

}  // namespace ofxhost
