// Loading an OFX bundle the way Natron does: dlopen(RTLD_LAZY | RTLD_LOCAL) of
// Contents/Linux-x86-64/*.ofx, then OfxSetHost (if exported), OfxGetNumberOfPlugins, OfxGetPlugin.
// The library is never dlclosed: a plugin that embeds Python and torch cannot be unloaded safely,
// and real hosts keep plugins loaded until exit.
#ifndef OFXHOST_PLUGIN_LIBRARY_H
#define OFXHOST_PLUGIN_LIBRARY_H

#include <string>
#include <vector>

#include "ofx_abi.h"

namespace ofxhost {

class PluginLibrary {
 public:
  // Finds the binary inside a bundle: <Name>.ofx matching the bundle's name, else the only .ofx.
  static bool findBinary(const std::string &bundle, std::string *binary, std::string *error);

  bool open(const std::string &binary, std::string *error);
  // Calls OfxSetHost when the plugin exports it; false when it answered kOfxStatFailed (skip me).
  bool setHost(const OfxHost *host, bool *called, OfxStatus *status);
  std::vector<OfxPlugin *> plugins() const;

 private:
  void *handle_ = nullptr;
  OfxGetNumberOfPluginsFn count_ = nullptr;
  OfxGetPluginFn get_ = nullptr;
  OfxSetHostFn setHost_ = nullptr;
};

}  // namespace ofxhost

#endif
