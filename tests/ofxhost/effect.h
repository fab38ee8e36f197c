// Host-side image effects (plugin descriptor, per-context descriptor, instance), their clips, and
// the image handles clipGetImage gives out. Each instance records what the plugin did to it:
// actions with their status, messages, persistent message, images fetched and released.
#ifndef OFXHOST_EFFECT_H
#define OFXHOST_EFFECT_H

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "images.h"
#include "json.h"
#include "params.h"
#include "property_set.h"

namespace ofxhost {

class Effect;

inline bool succeeded(OfxStatus st) { return st == kOfxStatOK || st == kOfxStatReplyDefault; }

struct Message {
  std::string type, id, text;
};

// What a connected clip hands out at a time: the buffer, and the pointer and row bytes the plugin
// sees (a CUDA device pointer and packed rows when rendering on the GPU).
struct FeedImage {
  const HostBuffer *buffer = nullptr;
  void *data = nullptr;
  ptrdiff_t rowBytes = 0;
  OfxRectI bounds{0, 0, 0, 0};
  RenderScale renderScale;
};

class ClipFeed {
 public:
  virtual ~ClipFeed() = default;
  // False when the clip has no image at that time (or, for the output, outside a render).
  virtual bool imageAt(double time, FeedImage *out) = 0;
};

class Clip {
 public:
  Clip(Effect *effect, const std::string &name);
  ~Clip();
  Clip(const Clip &) = delete;
  Clip &operator=(const Clip &) = delete;

  OfxImageClipHandle handle() { return reinterpret_cast<OfxImageClipHandle>(this); }
  static Clip *fromHandle(OfxImageClipHandle h);
  const std::string &name() const { return name_; }
  Effect *effect() const { return effect_; }
  PropertySet &props() { return props_; }
  bool isOutput() const { return name_ == kOfxImageEffectOutputClipName; }
  bool optional() const;
  bool connected() const;
  void setConnected(bool c);
  // The host's answers for this clip: buffers, and the canonical region of definition.
  ClipFeed *feed = nullptr;
  OfxRectD rod{0, 0, 0, 0};

 private:
  Effect *effect_;
  std::string name_;
  PropertySet props_;
};

// The property set of one image handed to the plugin. Released by clipReleaseImage.
class ImageHandle : public PropertySet {
 public:
  ImageHandle(Clip *clip, double time, const FeedImage &img);
  Clip *clip() const { return clip_; }
  Json describe() const;  // what was passed: data pointer, row bytes, bounds, format

 private:
  Clip *clip_;
  double time_;
};

class Effect {
 public:
  enum class Role { Descriptor, ContextDescriptor, Instance };
  using Entry = std::function<OfxStatus(const char *action, const void *handle,
                                        OfxPropertySetHandle in, OfxPropertySetHandle out)>;

  Effect(Role role, std::string what, Entry entry);
  ~Effect();
  Effect(const Effect &) = delete;
  Effect &operator=(const Effect &) = delete;

  OfxImageEffectHandle handle() { return reinterpret_cast<OfxImageEffectHandle>(this); }
  static Effect *fromHandle(const void *h);
  Role role() const { return role_; }
  const std::string &what() const { return what_; }
  PropertySet &props() { return props_; }
  ParamSet &params() { return params_; }

  Clip *defineClip(const std::string &name, OfxStatus *status);
  Clip *clip(const std::string &name) const;
  const std::vector<std::unique_ptr<Clip>> &clips() const { return clips_; }
  // Copies props, clips and params of a context descriptor into this instance.
  void instantiateFrom(Effect &descriptor);

  // Calls the plugin and records {action, status} in actions(). Render-thread actions take
  // renderLock when the plugin is not fully thread-safe.
  OfxStatus action(const char *name, PropertySet *in = nullptr, PropertySet *out = nullptr);
  std::mutex *renderLock = nullptr;
  // Begin/InstanceChanged/EndInstanceChanged for one parameter, as after a user or plugin edit.
  OfxStatus paramChanged(const std::string &name, const char *reason, double time,
                         RenderScale renderScale);
  const Json &actions() const { return actions_; }
  const char *currentAction() const { return currentAction_; }
  double currentTime = 0.0;

  // Messages: every one is kept (allMessages) and also queued for the frame log (takeMessages).
  void recordMessage(const Message &m);
  void setPersistent(const Message &m);
  void clearPersistent();
  Json takeMessages();
  Json allMessages() const;
  Json persistentJson() const;

  // Images handed out during the current action: the frame log and leak accounting.
  ImageHandle *giveImage(Clip *clip, double time, const FeedImage &img);
  bool releaseImage(ImageHandle *img);
  Json takeImages();  // descriptions of images handed out since the last call
  int imagesGot() const { return got_; }
  int imagesReleased() const { return released_; }
  // Frees images the plugin did not release; returns how many.
  int reclaimLeakedImages();

  // Progress suite calls during the current frame. The host answers "abort" (kOfxStatReplyNo)
  // from the abortAfter-th update on, as a user pressing Cancel would; -1: never.
  void progressStarted();
  bool progressUpdated(double fraction);  // false: abort
  void progressEnded();
  Json takeProgress();
  int abortAfter = -1;

  int index = 0;  // instance number, for logs and output folders

 private:
  Role role_;
  std::string what_;
  Entry entry_;
  PropertySet props_;
  ParamSet params_;
  std::vector<std::unique_ptr<Clip>> clips_;
  Json actions_ = Json::array();
  const char *currentAction_ = nullptr;
  int changeDepth_ = 0;  // a plugin that edits params in InstanceChanged must not recurse forever

  mutable std::mutex mutex_;  // messages and images may come from the plugin's worker threads
  std::vector<Message> all_, pending_;
  std::optional<Message> persistent_;
  std::set<ImageHandle *> outstanding_;
  Json images_ = Json::array();
  int got_ = 0, released_ = 0;
  int progressStarts_ = 0, progressUpdates_ = 0, progressEnds_ = 0;
  double progressLast_ = 0.0;
};

// Messages sent with no (or an unknown) effect handle.
void recordGlobalMessage(const Message &m);
Json globalMessages();
Json messageJson(const Message &m);

}  // namespace ofxhost

#endif
