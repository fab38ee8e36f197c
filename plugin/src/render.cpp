#include "render.h"

#include <cstdint>
#include <optional>
#include <string>

#include "action_error.h"
#include "clip_image.h"
#include "engine.h"
#include "failed_frame.h"
#include "image_view.h"
#include "props.h"
#include "suites.h"
#include "temporal.h"

namespace neuralstyle {
namespace {

std::string at_time(OfxTime time) { return " at time " + std::to_string(time); }

}  // namespace

OfxStatus render(Instance &instance, OfxPropertySetHandle in_args) {
  engine::RenderCall call;
  call.instance = instance.id;
  call.time = get_double(in_args, kOfxPropTime);
  call.render_scale[0] = get_double(in_args, kOfxImageEffectPropRenderScale, 0, 1.0);
  call.render_scale[1] = get_double(in_args, kOfxImageEffectPropRenderScale, 1, 1.0);
  const bool cuda = get_int(in_args, kOfxImageEffectPropCudaEnabled) != 0;
  if (cuda) {
    call.cuda_stream =
        reinterpret_cast<std::uintptr_t>(get_pointer(in_args, kOfxImageEffectPropCudaStream));
  }
  const ClipImage dst(instance.clips.output, call.time);
  if (!dst.props()) throw ActionError(kOfxStatFailed, "no Output image" + at_time(call.time));
  call.dst = read_image(dst.props(), cuda, "Output");
  call.window = intersect(get_rect_i(in_args, kOfxImageEffectPropRenderWindow), call.dst.bounds);

  // From here on a failure leaves the Output as "Failed frame shows" says (failed_frame.h); the
  // parameter's default when the parameters themselves cannot be read.
  const ParamSpec &shows = kParams[kParamFailedFrame];
  FailedFrameFill fill =
      parse_failed_frame_fill(shows.options[static_cast<int>(shows.default_value)].value);
  std::optional<ClipImage> src;  // held until a fill has copied from it
  const ImageLayout *source = nullptr;
  try {
    call.params = read_params(instance.params, call.time);
    fill = parse_failed_frame_fill(call.params.text(kParamFailedFrame));
    src.emplace(instance.clips.source, call.time);
    if (!src->props()) throw ActionError(kOfxStatFailed, "no Source image" + at_time(call.time));
    std::optional<ClipImage> mask;
    if (is_connected(instance.clips.mask)) mask.emplace(instance.clips.mask, call.time);

    call.src = read_image(src->props(), cuda, "Source");
    source = &call.src;
    source_frame_size(instance.clips, call.time, call.render_scale, call.src.bounds,
                      call.frame_size);
    if (mask && mask->props()) call.mask = read_image(mask->props(), cuda, "Mask");
    const TemporalImages window(instance, call, cuda);  // held until the engine is done
    engine::render(instance.effect, call);
  } catch (...) {
    fill_failed_frame(call.dst, call.window, fill, source);
    throw;
  }
  clear_shown_error(instance);
  return kOfxStatOK;
}

OfxStatus is_identity(Instance &instance, OfxPropertySetHandle in_args,
                      OfxPropertySetHandle out_args) {
  const OfxTime time = get_double(in_args, kOfxPropTime);
  const ParamValues params = read_params(instance.params, time);
  try {
    if (!engine::is_identity(instance.effect, params)) return kOfxStatReplyDefault;
  } catch (const std::exception &) {
    return kOfxStatReplyDefault;  // not identity: the render reports what went wrong
  }
  set_string(out_args, kOfxPropName, kOfxImageEffectSimpleSourceClipName);
  set_double(out_args, kOfxPropTime, time);
  return kOfxStatOK;
}

}  // namespace neuralstyle
