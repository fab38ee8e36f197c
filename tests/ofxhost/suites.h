// The OfxHost the plugin receives: the host property set and fetchSuite, which serves the property,
// image effect, parameter, memory, multithread, message (v1, v2) and progress suites.
#ifndef OFXHOST_SUITES_H
#define OFXHOST_SUITES_H

#include <string>

#include "json.h"
#include "property_set.h"

namespace ofxhost {

struct HostSettings {
  bool cudaRender = true;  // advertise kOfxImageEffectPropCudaRenderSupported "true"
  // kOfxImageEffectPropTemporalClipAccess; without it clipGetImage answers with the image at the
  // render time whatever time is asked, as MLT 7.41 does.
  bool temporalAccess = true;
};

// One per process, like a real host's. Lives until exit: plugins may keep the pointer.
OfxHost *ofxHost(const HostSettings &settings);
PropertySet &hostProperties();

// Suites asked for that the host does not provide, and memory the plugin did not free.
Json suiteRequests();
size_t outstandingMemoryBlocks();

}  // namespace ofxhost

#endif
