// One node in the host: its engine id, cached clip and param handles, and whether an error is on
// show. Lives in the effect's kOfxPropInstanceData from CreateInstance to DestroyInstance.
#ifndef NEURALSTYLE_INSTANCE_H
#define NEURALSTYLE_INSTANCE_H

#include <atomic>

#include "clips.h"
#include "ofx_abi.h"
#include "params.h"

namespace neuralstyle {

struct Instance {
  int id = 0;  // the contract's `instance`: unique within the process
  OfxImageEffectHandle effect = nullptr;
  ClipHandles clips;
  ParamHandles params;
  std::atomic<bool> error_shown{false};
  std::atomic<bool> temporal_note_logged{false};  // temporal.cpp: said once per instance
};

// Starts (or adopts) Python and imports the engine here, not at Load or Describe, so a host's
// plugin scan stays cheap; a failure there is shown on the node and renders report it again.
OfxStatus create_instance(OfxImageEffectHandle effect);

// Tells the engine to drop the instance's state, then frees it.
OfxStatus destroy_instance(OfxImageEffectHandle effect);

// Null before CreateInstance and after DestroyInstance.
Instance *find_instance(OfxImageEffectHandle effect);

// Throws ActionError when the effect has no instance data.
Instance &get_instance(OfxImageEffectHandle effect);

// A persistent error on the node, remembered so the next successful render clears it.
void show_error(OfxImageEffectHandle effect, const std::string &message);
void clear_shown_error(Instance &instance);

}  // namespace neuralstyle

#endif
