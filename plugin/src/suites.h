// The host and the suites (function tables) this plugin calls, fetched once at Load.
#ifndef NEURALSTYLE_SUITES_H
#define NEURALSTYLE_SUITES_H

#include "ofx_abi.h"

namespace neuralstyle {

struct Suites {
  const OfxPropertySuiteV1 *property = nullptr;
  const OfxImageEffectSuiteV1 *effect = nullptr;
  const OfxParameterSuiteV1 *param = nullptr;
  // Optional: v2 adds persistent messages; v1 (or nothing) is the fallback.
  const OfxMessageSuiteV2 *message_v2 = nullptr;
  const OfxMessageSuiteV1 *message_v1 = nullptr;
  // Optional: long renders (optimisation) report progress; without it they just run.
  const OfxProgressSuiteV1 *progress = nullptr;
  // The host's kOfxImageEffectPropTemporalClipAccess: it gives effects frames at other times.
  // MLT 7.41 says 0, and its clipGetImage returns the current frame whatever time is asked.
  bool temporal_clip_access = false;
};

// Called from OfxPlugin::setHost and OfxSetHost (1.5): hosts call either, or both.
void set_host(const OfxHost *host);

// The Load action: kOfxStatErrMissingHostFeature when a suite we cannot work without is missing.
OfxStatus fetch_suites();

// Valid after a successful fetch_suites(); all members null before.
const Suites &suites();

}  // namespace neuralstyle

#endif
