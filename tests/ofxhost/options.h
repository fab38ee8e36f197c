// Command-line options of ofxhost (README.md documents them).
#ifndef OFXHOST_OPTIONS_H
#define OFXHOST_OPTIONS_H

#include <string>
#include <utility>
#include <vector>

#include "images.h"

namespace ofxhost {

struct KeyOption {
  std::string param;
  std::vector<std::pair<double, std::string>> keys;  // time, value text
};

struct EditOption {
  int frame = 0;
  std::string param, value;
};

struct Options {
  std::string bundle, pluginId, describeJson;
  std::vector<std::string> inputs;  // one per instance, or one shared by all instances
  std::string mask, outDir, log;
  int firstFrame = 1, lastFrame = 1;
  std::string context;  // "", "filter" or "general"
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<KeyOption> keys;
  std::vector<EditOption> edits;
  Layout layout;
  int offsetX = 0, offsetY = 0;
  Proxy proxy;                    // --render-scale (factor) or --proxy-size (width x height)
  bool rodInProxyPixels = false;  // --rod proxy: regions of definition as MLT reports them
  std::string premult;  // "" (from the components), "premultiplied", "unpremultiplied", "opaque"
  std::string python = "none";
  int instances = 0;  // 0: one per input
  bool cuda = false;
  bool dumpInputs = false;
  bool keepFailed = false;  // write a failed Render's buffer (failed.%04d.npy), as MLT shows it
  int abortAfter = -1;      // progressUpdate answers "abort" from this update on; -1: never
  bool clipRange = false;   // --clip-range: the clips' frame range (default: --frames)
  int clipFirst = 1, clipLast = 1;
  bool temporalAccess = true;  // --temporal-access 0: MLT's host (none; images at the render time)
};

// False with *error set on a usage error.
bool parseOptions(int argc, char **argv, Options *out, std::string *error);
const char *usage();

}  // namespace ofxhost

#endif
