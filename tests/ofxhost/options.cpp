#include "options.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

namespace ofxhost {

const char *usage() {
  return "usage:\n"
         "  ofxhost --bundle B.ofx.bundle [--plugin-id ID] --describe-json OUT.json\n"
         "  ofxhost --bundle B.ofx.bundle [--plugin-id ID] --input 'in.%04d.npy' --frames A-B "
         "--out-dir DIR\n"
         "          [--context filter|general] [--mask 'mask.%04d.npy'] [--param NAME=VALUE ...]\n"
         "          [--key NAME=FRAME:VALUE,FRAME:VALUE ...] [--edit FRAME:NAME=VALUE ...]\n"
         "          [--row-bytes positive|negative] [--row-padding BYTES] [--offset X,Y]\n"
         "          [--render-scale 1|0.5|0.25 | --proxy-size WxH] [--rod canonical|proxy]\n"
         "          [--premult premultiplied|unpremultiplied|opaque]\n"
         "          [--python own|none] [--instances N] [--cuda] [--dump-inputs] [--keep-failed]\n"
         "          [--abort-after N] [--clip-range A-B] [--temporal-access 0|1] [--log LOG.json]\n"
         "  --input may be repeated: instance K then renders input K (outputs in DIR/iK)\n"
         "exit codes: 0 all frames rendered, 1 a plugin failure (the other frames still render),\n"
         "            2 usage error, 77 --cuda without a usable CUDA runtime and device\n";
}

static bool fail(std::string *error, std::string message) {
  *error = std::move(message);
  return false;
}

static bool toInt(const std::string &s, int *out) {
  char *end = nullptr;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end) return false;
  *out = static_cast<int>(v);
  return true;
}

static bool toDouble(const std::string &s, double *out) {
  char *end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return !s.empty() && !*end;
}

static bool splitOnce(const std::string &s, char sep, std::string *a, std::string *b) {
  const size_t i = s.find(sep);
  if (i == std::string::npos || i == 0) return false;
  *a = s.substr(0, i);
  *b = s.substr(i + 1);
  return true;
}

bool parseOptions(int argc, char **argv, Options *o, std::string *error) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    auto value = [&](std::string *out) {
      if (i + 1 >= args.size()) {
        *error = a + " needs a value";
        return false;
      }
      *out = args[++i];
      return true;
    };
    std::string v, x, y;
    if (a == "--help" || a == "-h") {
      *error = "";
      return false;
    } else if (a == "--bundle") {
      if (!value(&o->bundle)) return false;
    } else if (a == "--plugin-id") {
      if (!value(&o->pluginId)) return false;
    } else if (a == "--describe-json") {
      if (!value(&o->describeJson)) return false;
    } else if (a == "--input") {
      if (!value(&v)) return false;
      o->inputs.push_back(v);
    } else if (a == "--mask") {
      if (!value(&o->mask)) return false;
    } else if (a == "--out-dir") {
      if (!value(&o->outDir)) return false;
    } else if (a == "--log") {
      if (!value(&o->log)) return false;
    } else if (a == "--frames" || a == "--clip-range") {
      if (!value(&v)) return false;
      const bool frames = a == "--frames";
      int *first = frames ? &o->firstFrame : &o->clipFirst;
      int *last = frames ? &o->lastFrame : &o->clipLast;
      const size_t dash = v.find('-', 1);  // a leading '-' is a negative first frame
      if (dash == std::string::npos) {
        if (!toInt(v, first)) return fail(error, a + ": bad range " + v);
        *last = *first;
      } else if (!toInt(v.substr(0, dash), first) || !toInt(v.substr(dash + 1), last) ||
                 *last < *first) {
        return fail(error, a + ": bad range " + v);
      }
      if (!frames) o->clipRange = true;
    } else if (a == "--temporal-access") {
      if (!value(&v)) return false;
      if (v != "0" && v != "1") return fail(error, "--temporal-access must be 0 or 1");
      o->temporalAccess = v == "1";
    } else if (a == "--context") {
      if (!value(&o->context)) return false;
      if (o->context != "filter" && o->context != "general") {
        return fail(error, "--context must be filter or general");
      }
    } else if (a == "--param") {
      if (!value(&v)) return false;
      if (!splitOnce(v, '=', &x, &y)) return fail(error, "--param needs NAME=VALUE, got " + v);
      o->params.emplace_back(x, y);
    } else if (a == "--key") {
      if (!value(&v)) return false;
      KeyOption k;
      std::string list;
      if (!splitOnce(v, '=', &k.param, &list))
        return fail(error, "--key needs NAME=FRAME:VALUE,...");
      std::stringstream ss(list);
      std::string item;
      while (std::getline(ss, item, ',')) {
        double t = 0.0;
        if (!splitOnce(item, ':', &x, &y) || !toDouble(x, &t)) {
          return fail(error, "--key " + k.param + ": bad key '" + item + "' (want FRAME:VALUE)");
        }
        k.keys.emplace_back(t, y);
      }
      if (k.keys.empty()) return fail(error, "--key " + k.param + ": no keys");
      o->keys.push_back(std::move(k));
    } else if (a == "--edit") {
      if (!value(&v)) return false;
      EditOption e;
      if (!splitOnce(v, ':', &x, &y) || !toInt(x, &e.frame) ||
          !splitOnce(y, '=', &e.param, &e.value)) {
        return fail(error, "--edit needs FRAME:NAME=VALUE, got " + v);
      }
      o->edits.push_back(e);
    } else if (a == "--row-bytes") {
      if (!value(&v)) return false;
      if (v == "positive")
        o->layout.order = RowOrder::BottomUp;
      else if (v == "negative")
        o->layout.order = RowOrder::TopDown;
      else
        return fail(error, "--row-bytes must be positive or negative");
    } else if (a == "--row-padding") {
      if (!value(&v)) return false;
      if (!toInt(v, &o->layout.padding) || o->layout.padding < 0) {
        return fail(error, "--row-padding must be a byte count >= 0");
      }
    } else if (a == "--offset") {
      if (!value(&v)) return false;
      if (!splitOnce(v, ',', &x, &y) || !toInt(x, &o->offsetX) || !toInt(y, &o->offsetY)) {
        return fail(error, "--offset needs X,Y");
      }
    } else if (a == "--render-scale") {
      if (!value(&v)) return false;
      double s = 0.0;
      if (!toDouble(v, &s) || (s != 1.0 && s != 0.5 && s != 0.25)) {
        return fail(error, "--render-scale must be 1, 0.5 or 0.25");
      }
      o->proxy.factor = static_cast<int>(1.0 / s);
    } else if (a == "--proxy-size") {
      if (!value(&v)) return false;
      if (!splitOnce(v, 'x', &x, &y) || !toInt(x, &o->proxy.width) || !toInt(y, &o->proxy.height) ||
          o->proxy.width < 1 || o->proxy.height < 1) {
        return fail(error, "--proxy-size needs WIDTHxHEIGHT in pixels, got " + v);
      }
    } else if (a == "--rod") {
      if (!value(&v)) return false;
      if (v != "canonical" && v != "proxy") return fail(error, "--rod must be canonical or proxy");
      o->rodInProxyPixels = v == "proxy";
    } else if (a == "--premult") {
      if (!value(&o->premult)) return false;
      if (o->premult != "premultiplied" && o->premult != "unpremultiplied" &&
          o->premult != "opaque") {
        return fail(error, "--premult must be premultiplied, unpremultiplied or opaque");
      }
    } else if (a == "--python") {
      if (!value(&o->python)) return false;
      if (o->python != "own" && o->python != "none")
        return fail(error, "--python must be own or none");
    } else if (a == "--instances") {
      if (!value(&v)) return false;
      if (!toInt(v, &o->instances) || o->instances < 1 || o->instances > 64) {
        return fail(error, "--instances must be 1..64");
      }
    } else if (a == "--cuda") {
      o->cuda = true;
    } else if (a == "--dump-inputs") {
      o->dumpInputs = true;
    } else if (a == "--keep-failed") {
      o->keepFailed = true;
    } else if (a == "--abort-after") {
      if (!value(&v)) return false;
      if (!toInt(v, &o->abortAfter) || o->abortAfter < 1) {
        return fail(error, "--abort-after must be a number of progress updates >= 1");
      }
    } else {
      return fail(error, "unknown option " + a);
    }
  }
  if (o->bundle.empty()) return fail(error, "--bundle is required");
  if (o->proxy.width > 0 &&
      (o->proxy.factor != 1 || o->offsetX || o->offsetY || !o->mask.empty())) {
    // MLT, whose proxies this emulates, has neither offset frames nor masks.
    return fail(error, "--proxy-size goes with neither --render-scale, --offset nor --mask");
  }
  if (o->rodInProxyPixels && o->proxy.factor != 1) {
    // MLT's render scale is its proxy's size over the frame's, which --proxy-size emulates.
    return fail(error, "--rod proxy goes with --proxy-size, not --render-scale");
  }
  if (o->describeJson.empty() && (o->inputs.empty() || o->outDir.empty())) {
    return fail(error, "give --describe-json, or --input and --out-dir");
  }
  // Several inputs: one instance each, like a comp with one node per clip.
  const int perInput = static_cast<int>(o->inputs.size());
  if (perInput > 1 && o->instances != 0 && o->instances != perInput) {
    return fail(error, "with several --input, --instances must be their number (or left out)");
  }
  if (o->instances == 0) o->instances = std::max(1, perInput);
  return true;
}

}  // namespace ofxhost
