#include "report.h"

#include <cstdio>
#include <mutex>
#include <set>
#include <vector>

namespace ofxhost {

namespace {
std::mutex gMutex;
std::vector<std::string> gWarnings;
std::set<std::string> gSeen;
}  // namespace

void warn(const std::string &text) {
  std::lock_guard<std::mutex> lock(gMutex);
  if (!gSeen.insert(text).second) return;  // the same misuse per frame would flood the log
  gWarnings.push_back(text);
  std::fprintf(stderr, "[ofxhost] warning: %s\n", text.c_str());
}

Json warnings() {
  std::lock_guard<std::mutex> lock(gMutex);
  Json j = Json::array();
  for (const auto &w : gWarnings) j.push(w);
  return j;
}

size_t warningCount() {
  std::lock_guard<std::mutex> lock(gMutex);
  return gWarnings.size();
}

}  // namespace ofxhost
