#include "bundle.h"

#include <dlfcn.h>

#include <climits>
#include <cstdlib>

namespace neuralstyle {

std::string bundle_resources_dir() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void *>(&bundle_resources_dir), &info) || !info.dli_fname) return "";
  char resolved[PATH_MAX];
  if (!realpath(info.dli_fname, resolved)) return "";
  // .../Contents/<arch>/<Name>.ofx -> .../Contents/Resources
  std::string path = resolved;
  for (int up = 0; up < 2; ++up) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return "";
    path.resize(slash);
  }
  return path + "/Resources";
}

}  // namespace neuralstyle
