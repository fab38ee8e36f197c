// Where this plugin's bundle is on disk, found from the loaded binary itself, so the bundle can be
// moved or installed anywhere a host scans.
#ifndef NEURALSTYLE_BUNDLE_H
#define NEURALSTYLE_BUNDLE_H

#include <string>

namespace neuralstyle {

// <Name>.ofx.bundle/Contents/Resources of the binary this function is linked into; "" if unknown.
std::string bundle_resources_dir();

}  // namespace neuralstyle

#endif
