// What a frame becomes: the Render action, and IsIdentity (strength 0 lets the host skip us).
#ifndef NEURALSTYLE_RENDER_H
#define NEURALSTYLE_RENDER_H

#include "instance.h"
#include "ofx_abi.h"

namespace neuralstyle {

// Views the host's images (no copy), reads the params at the render time and hands both to
// neuralstyle.host.render. Images are released on every path.
OfxStatus render(Instance &instance, OfxPropertySetHandle in_args);

// OK with outArgs name "Source" when neuralstyle.host.is_identity says so; kOfxStatReplyDefault
// otherwise, also when Python fails (the render then reports the failure).
OfxStatus is_identity(Instance &instance, OfxPropertySetHandle in_args,
                      OfxPropertySetHandle out_args);

}  // namespace neuralstyle

#endif
