#include "suites.h"

namespace neuralstyle {
namespace {

const OfxHost *g_host = nullptr;
Suites g_suites;

template <typename Suite>
const Suite *fetch(const char *name, int version) {
  return static_cast<const Suite *>(g_host->fetchSuite(g_host->host, name, version));
}

}  // namespace

void set_host(const OfxHost *host) { g_host = host; }

OfxStatus fetch_suites() {
  g_suites = Suites{};
  if (!g_host || !g_host->fetchSuite) return kOfxStatErrMissingHostFeature;
  Suites s;
  s.property = fetch<OfxPropertySuiteV1>(kOfxPropertySuite, 1);
  s.effect = fetch<OfxImageEffectSuiteV1>(kOfxImageEffectSuite, 1);
  s.param = fetch<OfxParameterSuiteV1>(kOfxParameterSuite, 1);
  s.message_v2 = fetch<OfxMessageSuiteV2>(kOfxMessageSuite, 2);
  if (!s.message_v2) s.message_v1 = fetch<OfxMessageSuiteV1>(kOfxMessageSuite, 1);
  s.progress = fetch<OfxProgressSuiteV1>(kOfxProgressSuite, 1);
  if (!s.property || !s.effect || !s.param) return kOfxStatErrMissingHostFeature;
  int temporal = 0;
  if (s.property->propGetInt(g_host->host, kOfxImageEffectPropTemporalClipAccess, 0, &temporal) ==
      kOfxStatOK) {
    s.temporal_clip_access = temporal != 0;
  }
  g_suites = s;
  return kOfxStatOK;
}

const Suites &suites() { return g_suites; }

}  // namespace neuralstyle
