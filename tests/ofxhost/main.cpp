// ofxhost: a headless OpenFX host for testing plugins (README.md).
#include <cstdio>
#include <cstdlib>

#include "options.h"
#include "session.h"

int main(int argc, char **argv) {
  ofxhost::Options options;
  std::string error;
  if (!ofxhost::parseOptions(argc, argv, &options, &error)) {
    if (!error.empty()) std::fprintf(stderr, "ofxhost: %s\n", error.c_str());
    std::fputs(ofxhost::usage(), stderr);
    return error.empty() ? ofxhost::kExitOk : ofxhost::kExitUsage;
  }
  ofxhost::Session session(options);
  const int code = options.describeJson.empty() ? session.render() : session.describe();
  std::fflush(stderr);
  // Plugins that embed Python and torch keep threads and static state that do not survive an
  // orderly teardown from a host (real hosts exit the same way): skip static destructors.
  std::fflush(stdout);
  std::_Exit(code);
}
