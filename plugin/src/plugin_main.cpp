// NeuralStyle.ofx: the OpenFX entry points, the action dispatch and the exception barrier in front
// of the C ABI. What the node is and supports is declared here first, readable at a glance.
#include <pybind11/pybind11.h>

#include <cstring>
#include <new>
#include <string>

#include "action_error.h"
#include "clips.h"
#include "describe.h"
#include "engine.h"
#include "instance.h"
#include "messages.h"
#include "ofx_abi.h"
#include "render.h"
#include "suites.h"
#include "temporal.h"

namespace neuralstyle {
namespace {

const Identity kIdentity = {
    /*id=*/"org.neuralstyle.NeuralStyle",
    /*version_major=*/0,
    /*version_minor=*/1,
    /*label=*/"Neural Style",
    /*grouping=*/"Stylize",
    /*description=*/
    "Paints the Source in a style with neural networks (PyTorch). Built-in styles: 26 ready "
    "styles, fast, mixable. Any image: fast: any Style file in one pass (Ghiasi et al., trained "
    "by Magenta). Any image: best (optimisation, Gatys et al.): any Style file, slow (minutes "
    "per frame). Any image: AdaIN (legacy): the older one-pass network. Trained network: a "
    "style trained for one painting by `neuralstyle train` (its .safetensors as the Style file). "
    "Strength 0 returns the Source unchanged; the Mask limits where the style applies.",
};

const Capabilities kCapabilities = {
    /*supports_tiles=*/false,             // the network needs whole frames
    /*host_frame_threading=*/false,       // one call per frame; torch threads inside it
    /*field_render_twice_always=*/false,  // the network is for whole frames, not fields
    /*render_thread_safety=*/kOfxImageEffectRenderInstanceSafe,  // instances in parallel
    /*supports_multi_resolution=*/true,  // proxy renders at the host's render scale
    /*temporal_clip_access=*/true,       // Temporal stability reads frames either side (temporal.h)
    /*pixel_depths=*/{kOfxBitDepthFloat, kOfxBitDepthHalf, kOfxBitDepthShort, kOfxBitDepthByte},
    /*components=*/{kOfxImageComponentRGBA, kOfxImageComponentRGB, kOfxImageComponentAlpha},
    /*mask_components=*/{kOfxImageComponentAlpha, kOfxImageComponentRGBA},
    /*contexts=*/{kOfxImageEffectContextFilter, kOfxImageEffectContextGeneral},
    /*cuda_render_supported=*/"true",  // OFX 1.5: device pointers, wrapped without a copy
    /*cuda_stream_supported=*/"true",  // the engine runs on the host's stream
    /*opengl_render_supported=*/"false",
};

bool is(const char *action, const char *name) { return std::strcmp(action, name) == 0; }

OfxStatus dispatch(const char *action, OfxImageEffectHandle effect, OfxPropertySetHandle in_args,
                   OfxPropertySetHandle out_args) {
  if (is(action, kOfxActionLoad)) return fetch_suites();
  if (!suites().property) return kOfxStatErrMissingHostFeature;  // not loaded
  if (is(action, kOfxActionUnload)) {
    // Python stays (never finalised), but the networks go: torch removes the folder it unpacked
    // a compiled network into (/tmp/aotinductor_*) only when its loader is destroyed.
    engine::purge_caches();
    return kOfxStatOK;
  }
  if (is(action, kOfxActionDescribe)) return describe(effect, kIdentity, kCapabilities);
  if (is(action, kOfxImageEffectActionDescribeInContext)) {
    return describe_in_context(effect, in_args, kCapabilities);
  }
  if (is(action, kOfxActionCreateInstance)) return create_instance(effect);
  if (is(action, kOfxActionDestroyInstance)) return destroy_instance(effect);
  if (is(action, kOfxActionPurgeCaches)) {
    engine::purge_caches();
    return kOfxStatOK;
  }
  if (is(action, kOfxImageEffectActionRender)) return render(get_instance(effect), in_args);
  if (is(action, kOfxImageEffectActionIsIdentity)) {
    return is_identity(get_instance(effect), in_args, out_args);
  }
  if (is(action, kOfxImageEffectActionGetClipPreferences)) {
    return get_clip_preferences(get_instance(effect).clips, out_args);
  }
  if (is(action, kOfxImageEffectActionGetRegionOfDefinition)) {
    return get_region_of_definition(get_instance(effect).clips, in_args, out_args);
  }
  if (is(action, kOfxImageEffectActionGetFramesNeeded)) {
    return get_frames_needed(get_instance(effect), in_args, out_args);
  }
  if (is(action, kOfxImageEffectActionGetRegionsOfInterest)) {
    return get_regions_of_interest(get_instance(effect).clips, in_args, out_args);
  }
  if (is(action, kOfxImageEffectActionBeginSequenceRender) ||
      is(action, kOfxImageEffectActionEndSequenceRender)) {
    return kOfxStatOK;
  }
  return kOfxStatReplyDefault;
}

// Load and Describe* get a descriptor (or nothing), not an instance to show a message on.
bool has_instance(const char *action) {
  return !is(action, kOfxActionLoad) && !is(action, kOfxActionUnload) &&
         !is(action, kOfxActionDescribe) && !is(action, kOfxImageEffectActionDescribeInContext);
}

OfxStatus fail(const char *action, OfxImageEffectHandle effect, OfxStatus status,
               const std::string &message) noexcept {
  try {
    if (has_instance(action) && effect) {
      show_error(effect, message);
    } else {
      print_error(std::string(action) + ": " + message);
    }
  } catch (...) {
    // Nothing more to do: the status still tells the host.
  }
  return status;
}

// The exception barrier: the host sees a status and the node a message, never an exception.
OfxStatus main_entry(const char *action, const void *handle, OfxPropertySetHandle in_args,
                     OfxPropertySetHandle out_args) {
  if (!action) return kOfxStatErrBadHandle;
  OfxImageEffectHandle effect = static_cast<OfxImageEffectHandle>(const_cast<void *>(handle));
  try {
    return dispatch(action, effect, in_args, out_args);
  } catch (pybind11::error_already_set &e) {
    // engine.cpp turns these into PythonError; this is the backstop for any that slip through.
    std::string message = "Python error";
    OfxStatus status = kOfxStatFailed;
    try {
      pybind11::gil_scoped_acquire gil;
      message = engine::describe_python_error(e);
      status = engine::python_error_status(e);
    } catch (...) {
    }
    return fail(action, effect, status, message);
  } catch (const ActionError &e) {
    return fail(action, effect, e.status(), e.what());
  } catch (const PythonError &e) {
    return fail(action, effect, e.status(), e.what());
  } catch (const std::bad_alloc &) {
    // As OpenFX's Support library answers it; fail() survives a message it cannot allocate.
    return fail(action, effect, kOfxStatErrMemory, "out of memory");
  } catch (const std::exception &e) {
    return fail(action, effect, kOfxStatFailed, e.what());
  } catch (...) {
    return fail(action, effect, kOfxStatFailed, "unknown C++ exception");
  }
}

void set_host_v1(OfxHost *host) { set_host(host); }

OfxPlugin g_plugin = {
    kOfxImageEffectPluginApi,
    kOfxImageEffectPluginApiVersion,
    kIdentity.id,
    kIdentity.version_major,
    kIdentity.version_minor,
    set_host_v1,
    main_entry,
};

}  // namespace
}  // namespace neuralstyle

extern "C" {

OFX_EXPORT int OfxGetNumberOfPlugins(void) { return 1; }

OFX_EXPORT OfxPlugin *OfxGetPlugin(int nth) { return nth == 0 ? &neuralstyle::g_plugin : nullptr; }

// OFX 1.5, optional: hosts that call it call it before OfxGetPlugin.
OFX_EXPORT OfxStatus OfxSetHost(const OfxHost *host) {
  neuralstyle::set_host(host);
  return kOfxStatOK;
}

}  // extern "C"
