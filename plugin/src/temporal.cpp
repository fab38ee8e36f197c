#include "temporal.h"

#include <cmath>
#include <string>

#include "action_error.h"
#include "clips.h"
#include "image_view.h"
#include "messages.h"
#include "props.h"
#include "suites.h"

namespace neuralstyle {
namespace {

// The Source's frame range; [-inf, inf] when the host does not say.
void source_frame_range(const ClipHandles &clips, double range[2]) {
  OfxPropertySetHandle props = clip_props(clips.source);
  range[0] = get_double(props, kOfxImageEffectPropFrameRange, 0, -INFINITY);
  range[1] = get_double(props, kOfxImageEffectPropFrameRange, 1, INFINITY);
  if (range[1] < range[0]) {
    range[0] = -INFINITY;
    range[1] = INFINITY;
  }
}

std::string at(double time) { return " at time " + std::to_string(time); }

// How many frames before `time` a render reads: K, and for the optimisation's warm starts back to
// the start of that frame's segment (kWarmSegment frames aligned to frame numbers, as
// neuralstyle.temporal.starts_segment says).
int frames_before(const ParamValues &params, double time, int radius) {
  const double first = std::round(time) - radius;
  if (params.text(kParamMethod) != "optimize") return radius;
  const double start = kWarmSegment * std::floor(first / kWarmSegment);
  return static_cast<int>(std::round(time) - start);
}

}  // namespace

bool is_temporal_param(int id) {
  return id == kParamTemporalStability || id == kParamTemporalFrames || id == kParamTemporalAmount;
}

int temporal_radius(const ParamValues &params) {
  if (params.text(kParamTemporalStability) != "on" || !suites().temporal_clip_access) return 0;
  return std::get<int>(params.values[kParamTemporalFrames]);
}

OfxStatus get_frames_needed(Instance &instance, OfxPropertySetHandle in_args,
                            OfxPropertySetHandle out_args) {
  const OfxTime time = get_double(in_args, kOfxPropTime);
  const ParamValues params = read_params(instance.params, time);
  const int radius = temporal_radius(params);
  if (radius == 0) return kOfxStatReplyDefault;
  double range[2];
  source_frame_range(instance.clips, range);
  const double before = frames_before(params, time, radius);
  const double first = std::fmax(time - before, std::fmin(range[0], time));
  const double last = std::fmin(time + radius, std::fmax(range[1], time));
  for (const char *clip : {kClipSource, kClipMask}) {
    if (clip == kClipMask && !is_connected(instance.clips.mask)) continue;
    const std::string name = std::string(kOfxImageClipPropFrameRangePrefix) + clip;
    set_double(out_args, name.c_str(), first, 0);
    set_double(out_args, name.c_str(), last, 1);
  }
  return kOfxStatOK;
}

TemporalImages::TemporalImages(Instance &instance, engine::RenderCall &call, bool cuda) {
  call.temporal_radius = temporal_radius(call.params);
  if (call.temporal_radius == 0) {
    // Once per instance: a farm log of a shot saved with it on would repeat it every frame.
    if (call.params.text(kParamTemporalStability) == "on" &&
        !instance.temporal_note_logged.exchange(true)) {
      log_message(instance.effect,
                  "Temporal stability is on, but this host gives effects no other frames "
                  "(OpenFX temporal clip access): rendering frame by frame");
    }
    return;
  }
  call.temporal_amount = std::get<double>(call.params.values[kParamTemporalAmount]);
  double range[2];
  source_frame_range(instance.clips, range);
  const bool masked = is_connected(instance.clips.mask);
  const int before = frames_before(call.params, call.time, call.temporal_radius);
  for (int offset = -before; offset <= call.temporal_radius; ++offset) {
    const double time = call.time + offset;
    if (offset == 0 || time < range[0] || time > range[1]) continue;
    engine::WindowFrame frame;
    frame.time = time;
    frame.params = read_params(instance.params, time);
    held_.push_back(std::make_unique<ClipImage>(instance.clips.source, time));
    if (!held_.back()->props()) {
      throw ActionError(kOfxStatFailed, "no Source image" + at(time) +
                                            " (Temporal stability reads the frames either side)");
    }
    frame.src = read_image(held_.back()->props(), cuda, "Source");
    if (masked) {
      held_.push_back(std::make_unique<ClipImage>(instance.clips.mask, time));
      if (held_.back()->props()) frame.mask = read_image(held_.back()->props(), cuda, "Mask");
    }
    call.neighbours.push_back(std::move(frame));
  }
}

}  // namespace neuralstyle
