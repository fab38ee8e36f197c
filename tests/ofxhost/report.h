// Host-wide diagnostics: plugin misbehaviour the host noticed (writes to read-only properties,
// unknown suites, unreleased memory). Thread-safe; printed to stderr and written to the log.
#ifndef OFXHOST_REPORT_H
#define OFXHOST_REPORT_H

#include <string>

#include "json.h"

namespace ofxhost {

void warn(const std::string &text);
Json warnings();
size_t warningCount();

}  // namespace ofxhost

#endif
