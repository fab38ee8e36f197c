#include "plugin_library.h"

#include <dlfcn.h>

#include <filesystem>

namespace ofxhost {

namespace fs = std::filesystem;

bool PluginLibrary::findBinary(const std::string &bundle, std::string *binary, std::string *error) {
  std::error_code ec;
  const fs::path dir = fs::absolute(bundle, ec) / "Contents" / "Linux-x86-64";
  if (!fs::is_directory(dir, ec)) {
    *error = "not an OFX bundle (no " + dir.string() + ")";
    return false;
  }
  std::string stem = fs::path(bundle).filename().string();
  if (stem.empty()) stem = fs::path(bundle).parent_path().filename().string();
  stem = stem.substr(0, stem.find(".ofx.bundle"));
  const fs::path preferred = dir / (stem + ".ofx");
  if (fs::is_regular_file(preferred, ec)) {
    *binary = preferred.string();
    return true;
  }
  std::vector<fs::path> found;
  for (const auto &entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".ofx") found.push_back(entry.path());
  }
  if (found.size() != 1) {
    *error = found.empty() ? "no .ofx binary in " + dir.string()
                           : "several .ofx binaries in " + dir.string();
    return false;
  }
  *binary = found[0].string();
  return true;
}

bool PluginLibrary::open(const std::string &binary, std::string *error) {
  handle_ = dlopen(binary.c_str(), RTLD_LAZY | RTLD_LOCAL);
  if (!handle_) {
    const char *e = dlerror();
    *error = "dlopen failed: " + std::string(e ? e : "unknown error");
    return false;
  }
  count_ = reinterpret_cast<OfxGetNumberOfPluginsFn>(dlsym(handle_, "OfxGetNumberOfPlugins"));
  get_ = reinterpret_cast<OfxGetPluginFn>(dlsym(handle_, "OfxGetPlugin"));
  setHost_ = reinterpret_cast<OfxSetHostFn>(dlsym(handle_, "OfxSetHost"));
  if (!count_ || !get_) {
    *error = binary + " does not export OfxGetNumberOfPlugins and OfxGetPlugin";
    return false;
  }
  return true;
}

bool PluginLibrary::setHost(const OfxHost *host, bool *called, OfxStatus *status) {
  *called = setHost_ != nullptr;
  *status = kOfxStatOK;
  if (!setHost_) return true;
  *status = setHost_(host);
  return *status != kOfxStatFailed;
}

std::vector<OfxPlugin *> PluginLibrary::plugins() const {
  std::vector<OfxPlugin *> out;
  const int n = count_ ? count_() : 0;
  for (int i = 0; i < n; ++i) {
    if (OfxPlugin *p = get_(i)) out.push_back(p);
  }
  return out;
}

}  // namespace ofxhost
