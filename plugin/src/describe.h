// Describe and DescribeInContext: what the node is, what it accepts, its clips and parameters.
// Static by design: hosts cache descriptions (Natron until the binary changes), so nothing here may
// depend on Python or the environment. The values come from the head of plugin_main.cpp.
#ifndef NEURALSTYLE_DESCRIBE_H
#define NEURALSTYLE_DESCRIBE_H

#include <vector>

#include "ofx_abi.h"

namespace neuralstyle {

struct Identity {
  const char *id;
  unsigned version_major;
  unsigned version_minor;
  const char *label;
  const char *grouping;
  const char *description;
};

struct Capabilities {
  bool supports_tiles;
  bool host_frame_threading;
  bool field_render_twice_always;
  const char *render_thread_safety;
  bool supports_multi_resolution;
  bool temporal_clip_access;
  std::vector<const char *> pixel_depths;
  std::vector<const char *> components;       // of Source and Output
  std::vector<const char *> mask_components;  // of Mask
  std::vector<const char *> contexts;
  const char *cuda_render_supported;  // OFX 1.5: "false", "true" or "needed"
  const char *cuda_stream_supported;
  const char *opengl_render_supported;
};

OfxStatus describe(OfxImageEffectHandle descriptor, const Identity &identity,
                   const Capabilities &capabilities);

OfxStatus describe_in_context(OfxImageEffectHandle descriptor, OfxPropertySetHandle in_args,
                              const Capabilities &capabilities);

}  // namespace neuralstyle

#endif
