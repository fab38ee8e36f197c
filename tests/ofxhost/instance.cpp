#include "instance.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "npy.h"
#include "ofx_names.h"
#include "report.h"

namespace ofxhost {

namespace fs = std::filesystem;

namespace {

std::string frameFile(const std::string &dir, const char *stem, int frame) {
  char name[64];
  std::snprintf(name, sizeof name, "%s.%04d.npy", stem, frame);
  return (fs::path(dir) / name).string();
}

Json rect(const OfxRectI &r) { return Json::list({r.x1, r.y1, r.x2, r.y2}); }

// Pixels covered by canonical [a, b) at scale s. The slack keeps a product that should be whole
// (641 * (320 / 641.0)) from rounding outwards.
int floorPixel(double a, double s) { return static_cast<int>(std::floor(a * s + 1e-9)); }
int ceilPixel(double b, double s) { return static_cast<int>(std::ceil(b * s - 1e-9)); }

}  // namespace

Instance::Instance(const Shared &shared, int index, std::string input)
    : shared_(shared), opt_(shared.options), index_(index), input_(std::move(input)) {}

Instance::~Instance() {
  effect_.reset();  // its clips point at the feeds
  if (shared_.cuda) shared_.cuda->destroyStream(stream_);
}

bool Instance::inspect(std::string *error) {
  if (!readNpy(framePath(input_, opt_.firstFrame), &first_, error)) return false;
  premult_ = opt_.premult.empty() ? (first_.components == Components::RGBA ? kOfxImagePreMultiplied
                                                                           : kOfxImageOpaque)
             : opt_.premult == "premultiplied"   ? kOfxImagePreMultiplied
             : opt_.premult == "unpremultiplied" ? kOfxImageUnPreMultiplied
                                                 : kOfxImageOpaque;
  scale_ = opt_.proxy.scale(first_.width, first_.height);
  return true;
}

OfxRectD Instance::clipRod(const Array &first) const {
  if (opt_.rodInProxyPixels) {
    const OfxRectI b = opt_.proxy.bounds(opt_.offsetX, opt_.offsetY, first.width, first.height);
    return OfxRectD{double(b.x1), double(b.y1), double(b.x2), double(b.y2)};
  }
  return OfxRectD{double(opt_.offsetX), double(opt_.offsetY), double(opt_.offsetX + first.width),
                  double(opt_.offsetY + first.height)};
}

OfxRectI Instance::renderWindow(const OfxRectD &rod) const {
  // MLT renders the region it reported, in its own (proxy) pixels.
  const RenderScale s = opt_.rodInProxyPixels ? RenderScale{} : scale_;
  return OfxRectI{floorPixel(rod.x1, s.x), floorPixel(rod.y1, s.y), ceilPixel(rod.x2, s.x),
                  ceilPixel(rod.y2, s.y)};
}

bool Instance::applyParamOptions(std::string *error) {
  ParamSet &ps = effect_->params();
  auto lookup = [&](const std::string &name) -> Param * {
    Param *p = ps.find(name);
    if (!p || !p->hasValue()) *error = "the plugin has no parameter '" + name + "' with a value";
    return p && p->hasValue() ? p : nullptr;
  };
  for (const auto &kv : opt_.params) {
    Param *p = lookup(kv.first);
    ParamValue v;
    if (!p || !p->parse(kv.second, &v, error)) return false;
    p->setValue(v);
  }
  for (const auto &k : opt_.keys) {
    Param *p = lookup(k.param);
    if (!p) return false;
    if (!p->props().getInt(kOfxParamPropAnimates, 0, 1)) {
      warn("--key " + k.param + ": the plugin says this parameter does not animate (keyed anyway)");
    }
    for (const auto &key : k.keys) {
      ParamValue v;
      if (!p->parse(key.second, &v, error)) return false;
      p->setKey(key.first, v);
    }
  }
  for (const auto &e : opt_.edits) {
    Param *p = lookup(e.param);
    ParamValue v;
    if (!p || !p->parse(e.value, &v, error)) return false;
  }
  return true;
}

static void setClipFormat(Clip &c, const char *depth, const char *components,
                          const std::string &premult) {
  c.props().setString(kOfxImageEffectPropPixelDepth, depth);
  c.props().setString(kOfxImageEffectPropComponents, components);
  c.props().setString(kOfxImageEffectPropPreMultiplication, premult);
}

bool Instance::createInstance() {
  Effect &e = *effect_;
  PropertySet &p = e.props();
  const OfxRectD frame = sourceRod();  // MLT's project is its proxy too
  p.setString(kOfxImageEffectPropContext,
              shared_.context->props().getString(kOfxImageEffectPropContext));
  p.setPointer(kOfxPropInstanceData, nullptr);
  p.setDouble(kOfxImageEffectPropProjectSize,
              std::vector<double>{frame.x2 - frame.x1, frame.y2 - frame.y1});
  p.setDouble(kOfxImageEffectPropProjectOffset, std::vector<double>{frame.x1, frame.y1});
  p.setDouble(kOfxImageEffectPropProjectExtent, std::vector<double>{frame.x2, frame.y2});
  p.setDouble(kOfxImageEffectPropProjectPixelAspectRatio, 1.0);
  p.setDouble(kOfxImageEffectInstancePropEffectDuration,
              double(opt_.lastFrame - opt_.firstFrame + 1));
  p.setDouble(kOfxImageEffectPropFrameRate, 24.0);
  p.setInt(kOfxPropIsInteractive, 0);

  const std::vector<double> range =
      opt_.clipRange ? std::vector<double>{double(opt_.clipFirst), double(opt_.clipLast)}
                     : std::vector<double>{double(opt_.firstFrame), double(opt_.lastFrame)};
  for (const auto &c : e.clips()) {
    PropertySet &cp = c->props();
    const bool isMask = c->name() == "Mask";
    const bool connected =
        c->isOutput() || c->name() == kOfxImageEffectSimpleSourceClipName || (isMask && hasMask());
    c->setConnected(connected);
    cp.setDouble(kOfxImagePropPixelAspectRatio, 1.0);
    cp.setDouble(kOfxImageEffectPropFrameRate, 24.0);
    cp.setDouble(kOfxImageEffectPropFrameRange, range);
    cp.setDouble(kOfxImageEffectPropUnmappedFrameRange, range);
    cp.setDouble(kOfxImageEffectPropUnmappedFrameRate, 24.0);
    cp.setString(kOfxImageClipPropFieldOrder, kOfxImageFieldNone);
    cp.setInt(kOfxImageClipPropContinuousSamples, 0);
    const Array *file = isMask ? shared_.firstMask : &first_;
    if (connected) {
      cp.setString(kOfxImageClipPropUnmappedPixelDepth, ofxName(file->depth));
      cp.setString(kOfxImageClipPropUnmappedComponents, ofxName(file->components));
      setClipFormat(*c, ofxName(file->depth), ofxName(file->components),
                    isMask ? std::string(kOfxImageOpaque) : premult_);
    } else {
      cp.setString(kOfxImageClipPropUnmappedPixelDepth, kOfxBitDepthNone);
      cp.setString(kOfxImageClipPropUnmappedComponents, kOfxImageComponentNone);
      setClipFormat(*c, kOfxBitDepthNone, kOfxImageComponentNone, kOfxImageOpaque);
    }
    if (c->isOutput()) {
      c->feed = &output_;
      c->rod = sourceRod();
    } else if (c->name() == kOfxImageEffectSimpleSourceClipName) {
      c->feed = source_.get();
      c->rod = sourceRod();
    } else if (isMask && hasMask()) {
      c->feed = mask_.get();
      c->rod = clipRod(*shared_.firstMask);
    }
  }
  const OfxStatus st = e.action(kOfxActionCreateInstance);
  created_ = succeeded(st);
  if (!created_)
    std::fprintf(stderr, "ofxhost: %s: CreateInstance failed (%d)\n", e.what().c_str(), st);
  return created_;
}

namespace {

bool contains(const std::vector<std::string> &v, const std::string &s) {
  for (const auto &x : v) {
    if (x == s) return true;
  }
  return false;
}

// The host's first guess for a clip: the file's format where the plugin takes it, else the
// nearest it does take (more components and deeper rather than fewer).
Components defaultComponents(Components file, const std::vector<std::string> &supported) {
  if (supported.empty() || contains(supported, ofxName(file))) return file;
  for (Components c : {Components::RGBA, Components::RGB, Components::Alpha}) {
    if (contains(supported, ofxName(c))) return c;
  }
  return file;
}

Depth defaultDepth(Depth file, const std::vector<std::string> &supported) {
  if (supported.empty() || contains(supported, ofxName(file))) return file;
  for (Depth d : {Depth::Float, Depth::Half, Depth::Short, Depth::Byte}) {
    if (contains(supported, ofxName(d))) return d;
  }
  return file;
}

}  // namespace

Json Instance::clipPreferences() {
  Effect &e = *effect_;
  const auto depths = shared_.context->props().getStrings(kOfxImageEffectPropSupportedPixelDepths);
  const bool multipleDepths =
      shared_.context->props().getInt(kOfxImageEffectPropSupportsMultipleClipDepths) != 0;
  Clip *src = e.clip(kOfxImageEffectSimpleSourceClipName);
  Clip *out = e.clip(kOfxImageEffectOutputClipName);
  const Depth srcDepth = defaultDepth(first_.depth, depths);
  const Components srcComps = defaultComponents(
      first_.components, src->props().getStrings(kOfxImageEffectPropSupportedComponents));

  PropertySet args("outArgs of GetClipPreferences", true, true);
  for (const auto &c : e.clips()) {
    Depth d = srcDepth;
    Components comps = srcComps;
    if (c->name() == "Mask" && hasMask()) {
      d = multipleDepths ? defaultDepth(shared_.firstMask->depth, depths) : srcDepth;
      comps = defaultComponents(shared_.firstMask->components,
                                c->props().getStrings(kOfxImageEffectPropSupportedComponents));
    } else if (!c->isOutput() && c.get() != src) {
      comps =
          defaultComponents(comps, c->props().getStrings(kOfxImageEffectPropSupportedComponents));
    }
    args.setString(kOfxImageClipPropComponentsPrefix + c->name(), ofxName(comps));
    args.setString(kOfxImageClipPropDepthPrefix + c->name(), ofxName(d));
    args.setDouble(kOfxImageClipPropPARPrefix + c->name(), 1.0);
  }
  args.setDouble(kOfxImageEffectPropFrameRate, 24.0);
  args.setString(kOfxImageClipPropFieldOrder, kOfxImageFieldNone);
  args.setString(kOfxImageEffectPropPreMultiplication, premult_);
  args.setInt(kOfxImageClipPropContinuousSamples, 0);
  args.setInt(kOfxImageEffectFrameVarying, 0);
  const OfxStatus st = e.action(kOfxImageEffectActionGetClipPreferences, nullptr, &args);
  if (!succeeded(st))
    warn("GetClipPreferences failed (" + std::to_string(st) + "): the host keeps its defaults");

  Json record = Json::object();
  record["status"] = st;
  Depth outDepth = srcDepth;
  depthFromOfx(args.getString(kOfxImageClipPropDepthPrefix + out->name()), &outDepth);
  for (const auto &c : e.clips()) {
    Depth d = srcDepth;
    Components comps = srcComps;
    const std::string ds = args.getString(kOfxImageClipPropDepthPrefix + c->name());
    const std::string cs = args.getString(kOfxImageClipPropComponentsPrefix + c->name());
    if (!depthFromOfx(ds, &d)) warn("clip preferences: bad depth '" + ds + "' for " + c->name());
    if (!componentsFromOfx(cs, &comps))
      warn("clip preferences: bad components '" + cs + "' for " + c->name());
    if (!multipleDepths && d != outDepth) {
      warn("clip preferences: " + c->name() +
           " asks for another depth than the output without "
           "kOfxImageEffectPropSupportsMultipleClipDepths; using the output's");
      d = outDepth;
    }
    const auto supported = c->props().getStrings(kOfxImageEffectPropSupportedComponents);
    if (!supported.empty() && !contains(supported, ofxName(comps))) {
      warn("clip preferences: " + c->name() + " gets components it does not list as supported");
    }
    const std::string premult =
        c->isOutput()         ? args.getString(kOfxImageEffectPropPreMultiplication, 0, premult_)
        : c->name() == "Mask" ? std::string(kOfxImageOpaque)
                              : premult_;
    if (c->connected()) setClipFormat(*c, ofxName(d), ofxName(comps), premult);
    if (c.get() == src) source_->setFormat(d, comps);
    if (c->name() == "Mask" && mask_) mask_->setFormat(d, comps);
    Json cj = Json::object();
    cj["depth"] = ofxName(d);
    cj["components"] = ofxName(comps);
    cj["premultiplication"] = premult;
    record[c->name()] = std::move(cj);
  }
  prefs_.push(record);
  return record;
}

void Instance::addGpuArgs(PropertySet &args) const {
  if (!shared_.cudaRender) return;
  args.setInt(kOfxImageEffectPropCudaEnabled, shared_.cuda ? 1 : 0);
  if (shared_.cuda && shared_.cudaStream) args.setPointer(kOfxImageEffectPropCudaStream, stream_);
}

Json Instance::applyEdits(int frame) {
  Json done = Json::array();
  Effect &e = *effect_;
  bool any = false;
  for (const auto &edit : opt_.edits) {
    if (edit.frame != frame) continue;
    Param *p = e.params().find(edit.param);
    ParamValue v;
    std::string error;
    if (!p || !p->parse(edit.value, &v, &error)) continue;  // validated before the run
    if (p->keys().empty())
      p->setValue(v);
    else
      p->setKey(frame, v);  // an animated parameter edited by a user gets a key (autokey)
    e.currentTime = frame;
    const OfxStatus st = e.paramChanged(edit.param, kOfxChangeUserEdited, frame, scale_);
    Json j = Json::object();
    j["param"] = edit.param;
    j["value"] = edit.value;
    j["status"] = st;
    done.push(std::move(j));
    any = true;
  }
  if (any) clipPreferences();  // parameters may change clip preferences, so hosts ask again
  return done;
}

Json Instance::renderFrame(int frame, bool sequenceOk) {
  Effect &e = *effect_;
  const double t = frame;
  const std::vector<double> scale{scale_.x, scale_.y};
  const auto started = std::chrono::steady_clock::now();
  Json rec = Json::object();
  rec["time"] = t;
  const Json edits = applyEdits(frame);
  if (edits.size()) rec["edits"] = edits;
  e.currentTime = t;
  std::string error;
  int leaked = 0;
  auto check = [&](const char *action, OfxStatus st, bool replyDefaultOk = true) {
    leaked += e.reclaimLeakedImages();
    if (st == kOfxStatOK || (replyDefaultOk && st == kOfxStatReplyDefault)) return true;
    if (error.empty()) error = std::string(action) + " returned " + std::to_string(st);
    return false;
  };
  if (!sequenceOk) error = "BeginSequenceRender failed";

  // Region of definition (canonical coordinates), then the render window in pixels.
  OfxRectD rod = sourceRod();
  if (error.empty()) {
    PropertySet in("inArgs of GetRegionOfDefinition", false, false), out("outArgs", true, true);
    in.setDouble(kOfxPropTime, t);
    in.setDouble(kOfxImageEffectPropRenderScale, scale);
    out.setDouble(kOfxImageEffectPropRegionOfDefinition,
                  std::vector<double>{rod.x1, rod.y1, rod.x2, rod.y2});
    const OfxStatus st = e.action(kOfxImageEffectActionGetRegionOfDefinition, &in, &out);
    if (check(kOfxImageEffectActionGetRegionOfDefinition, st) && st == kOfxStatOK) {
      const auto v = out.getDoubles(kOfxImageEffectPropRegionOfDefinition);
      if (v.size() == 4) rod = OfxRectD{v[0], v[1], v[2], v[3]};
    }
  }
  rec["rod"] = Json::list({rod.x1, rod.y1, rod.x2, rod.y2});
  e.clip(kOfxImageEffectOutputClipName)->rod = rod;
  const OfxRectI window = renderWindow(rod);
  rec["render_window"] = rect(window);

  if (error.empty()) {
    PropertySet in("inArgs of GetRegionsOfInterest", false, false), out("outArgs", true, true);
    in.setDouble(kOfxPropTime, t);
    in.setDouble(kOfxImageEffectPropRenderScale, scale);
    in.setDouble(kOfxImageEffectPropRegionOfInterest,
                 std::vector<double>{rod.x1, rod.y1, rod.x2, rod.y2});
    for (const auto &c : e.clips()) {
      if (!c->isOutput() && c->connected()) {
        out.setDouble(kOfxImageClipPropRoIPrefix + c->name(),
                      std::vector<double>{rod.x1, rod.y1, rod.x2, rod.y2});
      }
    }
    check(kOfxImageEffectActionGetRegionsOfInterest,
          e.action(kOfxImageEffectActionGetRegionsOfInterest, &in, &out));
    Json roi = Json::object();
    for (const auto &c : e.clips()) {
      const auto v = out.getDoubles(kOfxImageClipPropRoIPrefix + c->name());
      if (v.size() == 4) roi[c->name()] = Json::list({v[0], v[1], v[2], v[3]});
    }
    rec["roi"] = std::move(roi);
  }

  // Frames needed (temporal clip access): the times of each input clip the render will fetch.
  if (error.empty() && shared_.framesNeeded) {
    PropertySet in("inArgs of GetFramesNeeded", false, false), out("outArgs", true, true);
    in.setDouble(kOfxPropTime, t);
    for (const auto &c : e.clips()) {
      if (!c->isOutput() && c->connected()) {
        out.setDouble(kOfxImageClipPropFrameRangePrefix + c->name(), std::vector<double>{t, t});
      }
    }
    check(kOfxImageEffectActionGetFramesNeeded,
          e.action(kOfxImageEffectActionGetFramesNeeded, &in, &out));
    Json needed = Json::object();
    for (const auto &c : e.clips()) {
      const auto v = out.getDoubles(kOfxImageClipPropFrameRangePrefix + c->name());
      if (v.size() == 2) needed[c->name()] = Json::list({v[0], v[1]});
    }
    rec["frames_needed"] = std::move(needed);
  }

  // Identity: the host copies the named clip's frame itself and does not call Render.
  std::string identityClip;
  double identityTime = t;
  if (error.empty()) {
    PropertySet in("inArgs of IsIdentity", false, false), out("outArgs", true, true);
    in.setDouble(kOfxPropTime, t);
    in.setString(kOfxImageEffectPropFieldToRender, kOfxImageFieldNone);
    in.setInt(kOfxImageEffectPropRenderWindow,
              std::vector<int>{window.x1, window.y1, window.x2, window.y2});
    in.setDouble(kOfxImageEffectPropRenderScale, scale);
    out.setString(kOfxPropName, "");
    out.setDouble(kOfxPropTime, t);
    const OfxStatus st = e.action(kOfxImageEffectActionIsIdentity, &in, &out);
    if (check(kOfxImageEffectActionIsIdentity, st) && st == kOfxStatOK) {
      identityClip = out.getString(kOfxPropName);
      identityTime = out.getDouble(kOfxPropTime, 0, t);
    }
  }
  rec["identity"] = !identityClip.empty();
  if (!identityClip.empty()) {
    rec["identity_clip"] = identityClip;
    rec["identity_time"] = identityTime;
  }

  Clip *outClip = e.clip(kOfxImageEffectOutputClipName);
  Depth depth = Depth::Float;
  Components comps = Components::RGBA;
  depthFromOfx(outClip->props().getString(kOfxImageEffectPropPixelDepth), &depth);
  componentsFromOfx(outClip->props().getString(kOfxImageEffectPropComponents), &comps);
  HostBuffer dst(depth, comps, window, opt_.layout);
  dst.fillPoison();
  void *device = nullptr;
  if (error.empty() && identityClip.empty() && shared_.cuda) {
    device = shared_.cuda->allocatePoisoned(dst, &error);
  }

  bool rendered = false;
  if (error.empty() && !identityClip.empty()) {
    Clip *c = e.clip(identityClip);
    FeedImage img;
    if (!c || !c->connected() || !c->feed || !c->feed->imageAt(identityTime, &img)) {
      error = "IsIdentity named clip '" + identityClip + "', which has no image at that time";
    } else if (img.buffer->depth() == depth && img.buffer->components() == comps) {
      dst.copyFrom(*img.buffer);
    } else {  // the identity clip's format differs from the output's: convert like a real host
      const Array a = convert(img.buffer->toArray(), depth, comps);
      HostBuffer tmp(depth, comps, img.buffer->bounds(), Layout{});
      tmp.fromArray(a);
      dst.copyFrom(tmp);
    }
  } else if (error.empty()) {
    output_.begin(t, &dst, device, scale_);
    PropertySet in("inArgs of Render", false, false);
    in.setDouble(kOfxPropTime, t);
    in.setString(kOfxImageEffectPropFieldToRender, kOfxImageFieldNone);
    in.setInt(kOfxImageEffectPropRenderWindow,
              std::vector<int>{window.x1, window.y1, window.x2, window.y2});
    in.setDouble(kOfxImageEffectPropRenderScale, scale);
    in.setInt(kOfxImageEffectPropSequentialRenderStatus, 1);
    in.setInt(kOfxImageEffectPropInteractiveRenderStatus, 0);
    in.setInt(kOfxImageEffectPropRenderQualityDraft, 0);
    addGpuArgs(in);
    const OfxStatus st = e.action(kOfxImageEffectActionRender, &in);
    rendered = true;
    output_.end();
    rec["render_status"] = st;
    if (check(kOfxImageEffectActionRender, st, false) && device) {
      if (!shared_.cuda->synchronize(shared_.cudaStream ? stream_ : nullptr, &error) ||
          !shared_.cuda->download(device, dst, &error)) {
        error = "CUDA: " + error;
      }
    }
  }
  if (shared_.cuda) shared_.cuda->release(device);
  if (leaked && error.empty())
    error = "the plugin did not release " + std::to_string(leaked) + " image(s)";

  // What the plugin was given, for the zero-copy checks: the first image of each clip.
  Json images = e.takeImages();
  rec["clip_get_image"] = static_cast<int>(images.size());
  rec["leaked_images"] = leaked;
  rec["clip_release_image"] = static_cast<int>(images.size()) - leaked;
  rec["images"] = std::move(images);
  Json dj = Json::object();
  dj["data"] = Json::pointer(device ? device : dst.data());
  dj["row_bytes"] = static_cast<long long>(
      device ? static_cast<ptrdiff_t>(dst.pixelBytes()) * dst.width() : dst.rowBytes());
  dj["bounds"] = rect(dst.bounds());
  dj["depth"] = ofxName(depth);
  dj["components"] = ofxName(comps);
  rec["output_buffer"] = std::move(dj);
  rec["messages"] = e.takeMessages();
  rec["persistent"] = e.persistentJson();
  rec["progress"] = e.takeProgress();

  if (error.empty()) {
    rec["poison_pixels"] = static_cast<long long>(dst.countPoisonPixels());
    const std::string path = frameFile(outDir_, "frame", frame);
    if (!writeNpy(path, dst.toArray(), &error))
      error = "cannot write output: " + error;
    else
      rec["output"] = path;
    if (opt_.dumpInputs) {
      std::string ignored;
      if (const HostBuffer *b = source_->cached(frame))
        writeNpy(frameFile(outDir_, "source", frame), b->toArray(), &ignored);
      if (mask_) {
        if (const HostBuffer *b = mask_->cached(frame))
          writeNpy(frameFile(outDir_, "mask", frame), b->toArray(), &ignored);
      }
    }
  }
  if (!error.empty() && rendered && opt_.keepFailed && !device) {
    // MLT ignores the status of a failed Render and shows the buffer: what would it show?
    std::string ignored;
    const std::string path = frameFile(outDir_, "failed", frame);
    if (writeNpy(path, dst.toArray(), &ignored)) rec["failed_output"] = path;
  }
  source_->clear();
  if (mask_) mask_->clear();
  rec["ok"] = error.empty();
  if (!error.empty()) {
    rec["error"] = error;
    ++failed_;
    std::fprintf(stderr, "[ofxhost] %s frame %d failed: %s\n", e.what().c_str(), frame,
                 error.c_str());
  }
  rec["seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return rec;
}

void Instance::renderAll() {
  Effect &e = *effect_;
  PropertySet seq("inArgs of Begin/EndSequenceRender", false, false);
  seq.setDouble(kOfxImageEffectPropFrameRange,
                std::vector<double>{double(opt_.firstFrame), double(opt_.lastFrame)});
  seq.setDouble(kOfxImageEffectPropFrameStep, 1.0);
  seq.setInt(kOfxPropIsInteractive, 0);
  seq.setDouble(kOfxImageEffectPropRenderScale, std::vector<double>{scale_.x, scale_.y});
  seq.setInt(kOfxImageEffectPropSequentialRenderStatus, 1);
  seq.setInt(kOfxImageEffectPropInteractiveRenderStatus, 0);
  addGpuArgs(seq);
  e.currentTime = opt_.firstFrame;
  const OfxStatus st = e.action(kOfxImageEffectActionBeginSequenceRender, &seq);
  const bool ok = succeeded(st) && e.reclaimLeakedImages() == 0;
  for (int f = opt_.firstFrame; f <= opt_.lastFrame; ++f) frames_.push(renderFrame(f, ok));
  e.action(kOfxImageEffectActionEndSequenceRender, &seq);
  if (e.reclaimLeakedImages()) ++failed_;
}

bool Instance::prepare(const Effect::Entry &entry, std::mutex *unsafeRenderLock,
                       std::string *error) {
  effect_ =
      std::make_unique<Effect>(Effect::Role::Instance, "instance " + std::to_string(index_), entry);
  effect_->index = index_;
  effect_->abortAfter = opt_.abortAfter;
  effect_->instantiateFrom(*shared_.context);
  effect_->renderLock = unsafeRenderLock;
  outDir_ = opt_.instances == 1 ? opt_.outDir
                                : (fs::path(opt_.outDir) / ("i" + std::to_string(index_))).string();
  std::error_code ec;
  fs::create_directories(outDir_, ec);
  if (ec) {
    *error = "cannot create " + outDir_;
    return false;
  }
  if (!applyParamOptions(error)) return false;
  source_ = std::make_unique<FileFeed>(input_, opt_.layout, opt_.offsetX, opt_.offsetY, opt_.proxy,
                                       shared_.cuda);
  if (hasMask()) {
    mask_ = std::make_unique<FileFeed>(opt_.mask, opt_.layout, opt_.offsetX, opt_.offsetY,
                                       opt_.proxy, shared_.cuda);
  }
  if (shared_.cuda && shared_.cudaStream) {
    stream_ = shared_.cuda->createStream(error);
    if (!stream_) return false;
  }
  return true;
}

bool Instance::create() {
  if (createInstance()) clipPreferences();
  return created_;
}

Json Instance::destroy() {
  Effect &e = *effect_;
  if (created_) {
    e.action(kOfxActionDestroyInstance);
    if (e.reclaimLeakedImages()) ++failed_;
  }
  Json j = Json::object();
  j["index"] = index_;
  j["input"] = input_;
  j["created"] = created_;
  j["out_dir"] = outDir_;
  j["clip_preferences"] = prefs_;
  j["failed_frames"] = failed_;
  j["frames"] = frames_;
  j["messages"] = e.allMessages();
  j["persistent"] = e.persistentJson();
  j["actions"] = e.actions();
  Json params = Json::object();
  for (const auto &p : e.params().all()) {
    if (p->hasValue()) params[p->name()] = p->valueJson(opt_.firstFrame);
  }
  j["params_at_first_frame"] = std::move(params);
  return j;
}

}  // namespace ofxhost
