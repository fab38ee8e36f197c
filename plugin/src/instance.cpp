#include "instance.h"

#include <memory>

#include "action_error.h"
#include "engine.h"
#include "messages.h"
#include "props.h"

namespace neuralstyle {
namespace {

std::atomic<int> g_next_id{1};

}  // namespace

OfxStatus create_instance(OfxImageEffectHandle effect) {
  auto instance = std::make_unique<Instance>();
  instance->id = g_next_id++;
  instance->effect = effect;
  instance->clips = fetch_clip_handles(effect);
  instance->params = fetch_param_handles(effect);
  if (set_pointer(effect_props(effect), kOfxPropInstanceData, instance.get()) != kOfxStatOK) {
    throw ActionError(kOfxStatErrBadHandle, "could not store the instance data");
  }
  instance.release();
  try {
    engine::load(effect);
  } catch (const std::exception &e) {
    // The node exists either way; it says why it cannot render.
    show_error(effect, e.what());
  }
  return kOfxStatOK;
}

OfxStatus destroy_instance(OfxImageEffectHandle effect) {
  std::unique_ptr<Instance> instance(find_instance(effect));
  if (!instance) return kOfxStatOK;
  set_pointer(effect_props(effect), kOfxPropInstanceData, nullptr);
  try {
    engine::release(instance->id);
  } catch (const std::exception &e) {
    print_error(e.what());  // the node is going away: nowhere else to show it
  }
  return kOfxStatOK;
}

Instance *find_instance(OfxImageEffectHandle effect) {
  OfxPropertySetHandle props = effect_props(effect);
  return props ? static_cast<Instance *>(get_pointer(props, kOfxPropInstanceData)) : nullptr;
}

Instance &get_instance(OfxImageEffectHandle effect) {
  Instance *instance = find_instance(effect);
  if (!instance) throw ActionError(kOfxStatErrBadHandle, "the effect has no instance data");
  return *instance;
}

void show_error(OfxImageEffectHandle effect, const std::string &message) {
  set_error_message(effect, message);
  if (Instance *instance = find_instance(effect)) instance->error_shown = true;
}

void clear_shown_error(Instance &instance) {
  if (instance.error_shown.exchange(false)) clear_error_message(instance.effect);
}

}  // namespace neuralstyle
