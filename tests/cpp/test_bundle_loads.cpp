// The built bundle loads the way hosts load it (dlopen RTLD_LAZY | RTLD_LOCAL, like Natron) and
// names the plugin: the pattern of Natron's verify_plugin_loads. Loading must not start Python.
#include <dlfcn.h>

#include <cstring>
#include <string>

#include "check.h"
#include "ofx_abi.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    std::cerr << "usage: test_bundle_loads <path to NeuralStyle.ofx>\n";
    return 2;
  }
  void *library = dlopen(argv[1], RTLD_LAZY | RTLD_LOCAL);
  if (!library) {
    std::cerr << dlerror() << "\n";
    return 1;
  }
  auto count = reinterpret_cast<OfxGetNumberOfPluginsFn>(dlsym(library, "OfxGetNumberOfPlugins"));
  auto get = reinterpret_cast<OfxGetPluginFn>(dlsym(library, "OfxGetPlugin"));
  auto set_host = reinterpret_cast<OfxSetHostFn>(dlsym(library, "OfxSetHost"));
  CHECK(count && get && set_host);
  if (!count || !get) return check_exit_code();

  CHECK_EQ(count(), 1);
  const OfxPlugin *plugin = get(0);
  CHECK(plugin != nullptr);
  CHECK(get(1) == nullptr);
  if (!plugin) return check_exit_code();
  CHECK_EQ(std::string(plugin->pluginApi), kOfxImageEffectPluginApi);
  CHECK_EQ(plugin->apiVersion, kOfxImageEffectPluginApiVersion);
  CHECK_EQ(std::string(plugin->pluginIdentifier), "org.neuralstyle.NeuralStyle");
  CHECK_EQ(plugin->pluginVersionMajor, 0u);
  CHECK_EQ(plugin->pluginVersionMinor, 1u);
  CHECK(plugin->setHost != nullptr);
  CHECK(plugin->mainEntry != nullptr);

  // Before Load the plugin has no suites: it answers, it does not crash.
  CHECK_EQ(plugin->mainEntry(kOfxActionDescribe, nullptr, nullptr, nullptr),
           kOfxStatErrMissingHostFeature);
  // Load without a host fails cleanly.
  CHECK_EQ(plugin->mainEntry(kOfxActionLoad, nullptr, nullptr, nullptr),
           kOfxStatErrMissingHostFeature);

  // Plugin scans are cheap: nothing so far started Python.
  using IsInitialized = int (*)();
  auto is_initialized = reinterpret_cast<IsInitialized>(dlsym(library, "Py_IsInitialized"));
  CHECK(is_initialized && !is_initialized());
  return check_exit_code();
}
