#include "effect.h"

#include <cstdio>
#include <cstring>

#include "ofx_names.h"
#include "registry.h"
#include "report.h"

namespace ofxhost {

// ---- clips ------------------------------------------------------------------------------------

Clip::Clip(Effect *effect, const std::string &name)
    : effect_(effect), name_(name), props_("clip " + name + " of " + effect->what()) {
  Registry<Clip>::add(this);
  props_.setString(kOfxPropType, kOfxTypeClip);
  props_.setString(kOfxPropName, name);
  props_.setString(kOfxPropLabel, name);
  props_.setString(kOfxPropShortLabel, name);
  props_.setString(kOfxPropLongLabel, name);
  props_.setString(kOfxImageEffectPropSupportedComponents, std::vector<std::string>{});
  props_.setInt(kOfxImageEffectPropTemporalClipAccess, 0);
  props_.setInt(kOfxImageClipPropOptional, 0);
  props_.setString(kOfxImageClipPropFieldExtraction, kOfxImageFieldDoubled);
  props_.setInt(kOfxImageClipPropIsMask, 0);
  props_.setInt(kOfxImageEffectPropSupportsTiles, 1);
}

Clip::~Clip() { Registry<Clip>::remove(this); }

Clip *Clip::fromHandle(OfxImageClipHandle h) { return Registry<Clip>::find(h); }

bool Clip::optional() const { return props_.getInt(kOfxImageClipPropOptional) != 0; }

bool Clip::connected() const { return props_.getInt(kOfxImageClipPropConnected) != 0; }

void Clip::setConnected(bool c) { props_.setInt(kOfxImageClipPropConnected, c ? 1 : 0); }

// ---- images -----------------------------------------------------------------------------------

static std::string imageName(Clip *clip, double time) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "@%g", time);
  return "image " + clip->name() + buf + " of " + clip->effect()->what();
}

ImageHandle::ImageHandle(Clip *clip, double time, const FeedImage &img)
    : PropertySet(imageName(clip, time), /*pluginWritable=*/false, /*open=*/false),
      clip_(clip),
      time_(time) {
  PropertySet &c = clip->props();
  setString(kOfxPropType, kOfxTypeImage);
  setString(kOfxImageEffectPropPixelDepth, ofxName(img.buffer->depth()));
  setString(kOfxImageEffectPropComponents, ofxName(img.buffer->components()));
  setString(kOfxImageEffectPropPreMultiplication,
            c.getString(kOfxImageEffectPropPreMultiplication, 0, kOfxImageOpaque));
  setDouble(kOfxImageEffectPropRenderScale,
            std::vector<double>{img.renderScale.x, img.renderScale.y});
  setDouble(kOfxImagePropPixelAspectRatio, 1.0);
  setPointer(kOfxImagePropData, img.data);
  const OfxRectI b = img.bounds;
  setInt(kOfxImagePropBounds, std::vector<int>{b.x1, b.y1, b.x2, b.y2});
  setInt(kOfxImagePropRegionOfDefinition, std::vector<int>{b.x1, b.y1, b.x2, b.y2});
  setInt(kOfxImagePropRowBytes, static_cast<int>(img.rowBytes));
  setString(kOfxImagePropField, kOfxImageFieldNone);
  char id[96];
  std::snprintf(id, sizeof id, "%s/%s/%g/%p", clip->effect()->what().c_str(), clip->name().c_str(),
                time, img.data);
  setString(kOfxImagePropUniqueIdentifier, id);
}

Json ImageHandle::describe() const {
  Json j = Json::object();
  j["clip"] = clip_->name();
  j["time"] = time_;
  j["data"] = Json::pointer(getPointer(kOfxImagePropData));
  j["row_bytes"] = getInt(kOfxImagePropRowBytes);
  Json b = Json::array();
  for (int v : getInts(kOfxImagePropBounds)) b.push(v);
  j["bounds"] = std::move(b);
  Json scale = Json::array();
  for (double v : getDoubles(kOfxImageEffectPropRenderScale)) scale.push(v);
  j["render_scale"] = std::move(scale);
  j["depth"] = getString(kOfxImageEffectPropPixelDepth);
  j["components"] = getString(kOfxImageEffectPropComponents);
  j["premultiplication"] = getString(kOfxImageEffectPropPreMultiplication);
  return j;
}

// ---- effects ----------------------------------------------------------------------------------

Effect::Effect(Role role, std::string what, Entry entry)
    : role_(role),
      what_(std::move(what)),
      entry_(std::move(entry)),
      props_(what_),
      params_(this, what_) {
  Registry<Effect>::add(this);
}

Effect::~Effect() {
  reclaimLeakedImages();
  Registry<Effect>::remove(this);
}

Effect *Effect::fromHandle(const void *h) { return Registry<Effect>::find(h); }

Clip *Effect::defineClip(const std::string &name, OfxStatus *status) {
  if (clip(name)) {
    *status = kOfxStatErrExists;
    return nullptr;
  }
  clips_.push_back(std::make_unique<Clip>(this, name));
  *status = kOfxStatOK;
  return clips_.back().get();
}

Clip *Effect::clip(const std::string &name) const {
  for (const auto &c : clips_) {
    if (c->name() == name) return c.get();
  }
  return nullptr;
}

void Effect::instantiateFrom(Effect &descriptor) {
  props_.copyFrom(descriptor.props_);
  props_.setString(kOfxPropType, kOfxTypeImageEffectInstance);
  for (const auto &dc : descriptor.clips_) {
    clips_.push_back(std::make_unique<Clip>(this, dc->name()));
    clips_.back()->props().copyFrom(dc->props());
  }
  params_.instantiateFrom(descriptor.params_);
}

static bool isRenderThreadAction(const char *name) {
  static const char *const kActions[] = {kOfxImageEffectActionRender,
                                         kOfxImageEffectActionBeginSequenceRender,
                                         kOfxImageEffectActionEndSequenceRender,
                                         kOfxImageEffectActionIsIdentity,
                                         kOfxImageEffectActionGetRegionOfDefinition,
                                         kOfxImageEffectActionGetRegionsOfInterest,
                                         kOfxImageEffectActionGetFramesNeeded};
  for (const char *a : kActions) {
    if (std::strcmp(a, name) == 0) return true;
  }
  return false;
}

OfxStatus Effect::action(const char *name, PropertySet *in, PropertySet *out) {
  std::unique_lock<std::mutex> lock;
  if (renderLock && isRenderThreadAction(name)) lock = std::unique_lock<std::mutex>(*renderLock);
  const char *previous = currentAction_;
  currentAction_ = name;
  OfxStatus st = kOfxStatErrUnknown;
  try {
    st = entry_(name, handle(), in ? in->handle() : nullptr, out ? out->handle() : nullptr);
  } catch (...) {  // an exception through a C ABI is a plugin bug; keep the host alive anyway
    warn(std::string("a C++ exception escaped the plugin's ") + name);
  }
  currentAction_ = previous;
  Json rec = Json::object();
  rec["action"] = name;
  rec["status"] = st;
  if (in && in->has(kOfxPropTime)) rec["time"] = in->getDouble(kOfxPropTime);
  actions_.push(std::move(rec));
  return st;
}

OfxStatus Effect::paramChanged(const std::string &name, const char *reason, double time,
                               RenderScale renderScale) {
  if (changeDepth_ >= 4) {
    warn("parameter changes nest too deeply in " + what_ + " (at " + name + "): not notified");
    return kOfxStatFailed;
  }
  ++changeDepth_;
  PropertySet bracket("inArgs of BeginInstanceChanged", false, false);
  bracket.setString(kOfxPropChangeReason, reason);
  PropertySet in("inArgs of InstanceChanged", false, false);
  in.setString(kOfxPropType, kOfxTypeParameter);
  in.setString(kOfxPropName, name);
  in.setString(kOfxPropChangeReason, reason);
  in.setDouble(kOfxPropTime, time);
  in.setDouble(kOfxImageEffectPropRenderScale, std::vector<double>{renderScale.x, renderScale.y});
  action(kOfxActionBeginInstanceChanged, &bracket);
  const OfxStatus st = action(kOfxActionInstanceChanged, &in);
  action(kOfxActionEndInstanceChanged, &bracket);
  --changeDepth_;
  return st == kOfxStatReplyDefault ? kOfxStatOK : st;
}

void Effect::recordMessage(const Message &m) {
  std::lock_guard<std::mutex> lock(mutex_);
  all_.push_back(m);
  pending_.push_back(m);
}

void Effect::setPersistent(const Message &m) {
  std::lock_guard<std::mutex> lock(mutex_);
  persistent_ = m;
}

void Effect::clearPersistent() {
  std::lock_guard<std::mutex> lock(mutex_);
  persistent_.reset();
}

Json messageJson(const Message &m) {
  Json j = Json::object();
  j["type"] = m.type;
  j["id"] = m.id;
  j["text"] = m.text;
  return j;
}

Json Effect::takeMessages() {
  std::lock_guard<std::mutex> lock(mutex_);
  Json j = Json::array();
  for (const auto &m : pending_) j.push(messageJson(m));
  pending_.clear();
  return j;
}

void Effect::progressStarted() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++progressStarts_;
}

bool Effect::progressUpdated(double fraction) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++progressUpdates_;
  progressLast_ = fraction;
  return abortAfter < 0 || progressUpdates_ < abortAfter;
}

void Effect::progressEnded() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++progressEnds_;
}

Json Effect::takeProgress() {
  std::lock_guard<std::mutex> lock(mutex_);
  Json j = Json::object();
  j["starts"] = progressStarts_;
  j["updates"] = progressUpdates_;
  j["ends"] = progressEnds_;
  j["last"] = progressLast_;
  progressStarts_ = progressUpdates_ = progressEnds_ = 0;
  progressLast_ = 0.0;
  return j;
}

Json Effect::allMessages() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Json j = Json::array();
  for (const auto &m : all_) j.push(messageJson(m));
  return j;
}

Json Effect::persistentJson() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return persistent_ ? messageJson(*persistent_) : Json();
}

ImageHandle *Effect::giveImage(Clip *clip, double time, const FeedImage &img) {
  auto *h = new ImageHandle(clip, time, img);
  std::lock_guard<std::mutex> lock(mutex_);
  outstanding_.insert(h);
  images_.push(h->describe());
  ++got_;
  return h;
}

bool Effect::releaseImage(ImageHandle *img) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!outstanding_.erase(img)) return false;
    ++released_;
  }
  delete img;
  return true;
}

Json Effect::takeImages() {
  std::lock_guard<std::mutex> lock(mutex_);
  Json j = std::move(images_);
  images_ = Json::array();
  return j;
}

int Effect::reclaimLeakedImages() {
  std::set<ImageHandle *> leaked;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    leaked.swap(outstanding_);
  }
  for (ImageHandle *h : leaked) delete h;
  return static_cast<int>(leaked.size());
}

namespace {
std::mutex gGlobalMutex;
std::vector<Message> gGlobal;
}  // namespace

void recordGlobalMessage(const Message &m) {
  std::lock_guard<std::mutex> lock(gGlobalMutex);
  gGlobal.push_back(m);
}

Json globalMessages() {
  std::lock_guard<std::mutex> lock(gGlobalMutex);
  Json j = Json::array();
  for (const auto &m : gGlobal) j.push(messageJson(m));
  return j;
}

}  // namespace ofxhost
