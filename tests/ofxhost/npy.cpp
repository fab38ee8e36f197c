#include "npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace ofxhost {

static const char kMagic[] = "\x93NUMPY";

// The header is a Python dict literal; numpy always writes these three keys.
static bool valueAfter(const std::string &h, const std::string &key, size_t *at) {
  const size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) return false;
  const size_t colon = h.find(':', k);
  if (colon == std::string::npos) return false;
  *at = h.find_first_not_of(" \t", colon + 1);
  return *at != std::string::npos;
}

static bool parseHeader(const std::string &h, std::string *descr, bool *fortran,
                        std::vector<long> *shape) {
  size_t at = 0;
  if (!valueAfter(h, "descr", &at) || h[at] != '\'') return false;
  const size_t end = h.find('\'', at + 1);
  if (end == std::string::npos) return false;
  *descr = h.substr(at + 1, end - at - 1);
  if (!valueAfter(h, "fortran_order", &at)) return false;
  *fortran = h.compare(at, 4, "True") == 0;
  if (!valueAfter(h, "shape", &at) || h[at] != '(') return false;
  const size_t close = h.find(')', at);
  if (close == std::string::npos) return false;
  shape->clear();
  std::stringstream ss(h.substr(at + 1, close - at - 1));
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(" \t") == std::string::npos) continue;
    try {
      shape->push_back(std::stol(item));
    } catch (...) {
      return false;
    }
  }
  return true;
}

bool readNpy(const std::string &path, Array *out, std::string *error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *error = "cannot open " + path;
    return false;
  }
  char magic[6];
  unsigned char version[2];
  if (!f.read(magic, 6) || std::memcmp(magic, kMagic, 6) != 0 ||
      !f.read(reinterpret_cast<char *>(version), 2)) {
    *error = path + ": not an .npy file";
    return false;
  }
  uint32_t headerLen = 0;
  unsigned char len[4] = {0, 0, 0, 0};
  if (version[0] == 1) {
    f.read(reinterpret_cast<char *>(len), 2);
    headerLen = len[0] | (len[1] << 8);
  } else {
    f.read(reinterpret_cast<char *>(len), 4);
    headerLen = len[0] | (len[1] << 8) | (len[2] << 16) | (static_cast<uint32_t>(len[3]) << 24);
  }
  std::string header(headerLen, '\0');
  if (!f.read(header.data(), headerLen)) {
    *error = path + ": truncated header";
    return false;
  }
  std::string descr;
  bool fortran = false;
  std::vector<long> shape;
  if (!parseHeader(header, &descr, &fortran, &shape)) {
    *error = path + ": unreadable header: " + header;
    return false;
  }
  Depth depth;
  if (descr == "|u1" || descr == "<u1")
    depth = Depth::Byte;
  else if (descr == "<u2")
    depth = Depth::Short;
  else if (descr == "<f2")
    depth = Depth::Half;
  else if (descr == "<f4")
    depth = Depth::Float;
  else {
    *error =
        path + ": dtype " + descr + " is not uint8, uint16, float16 or float32 (little-endian)";
    return false;
  }
  if (fortran) {
    *error = path + ": Fortran-ordered arrays are not supported (use np.ascontiguousarray)";
    return false;
  }
  Components comps;
  const int channels = shape.size() == 2 ? 1 : (shape.size() == 3 ? static_cast<int>(shape[2]) : 0);
  if ((shape.size() != 2 && shape.size() != 3) || !componentsFromCount(channels, &comps) ||
      shape[0] <= 0 || shape[1] <= 0) {
    *error = path + ": shape must be (H, W) or (H, W, C) with C in 1, 3, 4";
    return false;
  }
  out->allocate(depth, comps, static_cast<int>(shape[1]), static_cast<int>(shape[0]));
  if (!f.read(reinterpret_cast<char *>(out->bytes.data()),
              static_cast<std::streamsize>(out->bytes.size()))) {
    *error = path + ": truncated data";
    return false;
  }
  return true;
}

bool writeNpy(const std::string &path, const Array &a, std::string *error) {
  const char *descr = a.depth == Depth::Byte    ? "|u1"
                      : a.depth == Depth::Short ? "<u2"
                      : a.depth == Depth::Half  ? "<f2"
                                                : "<f4";
  char dict[160];
  std::snprintf(dict, sizeof dict,
                "{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d, %d), }", descr, a.height,
                a.width, channelCount(a.components));
  std::string header = dict;
  // Version 1.0: 10 bytes of preamble, header padded with spaces so data starts on a 64-byte
  // boundary.
  const size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header += '\n';
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) {
      *error = "cannot write " + tmp;
      return false;
    }
    const unsigned char pre[4] = {1, 0, static_cast<unsigned char>(header.size() & 0xFF),
                                  static_cast<unsigned char>(header.size() >> 8)};
    f.write(kMagic, 6);
    f.write(reinterpret_cast<const char *>(pre), 4);
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
    f.write(reinterpret_cast<const char *>(a.bytes.data()),
            static_cast<std::streamsize>(a.bytes.size()));
    if (!f) {
      *error = "write failed: " + tmp;
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "cannot rename " + tmp + " to " + path;
    return false;
  }
  return true;
}

}  // namespace ofxhost
