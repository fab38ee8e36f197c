#include "json.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace ofxhost {

Json &Json::operator[](const std::string &key) {
  if (kind_ == Kind::Null) kind_ = Kind::Object;
  for (auto &m : members_) {
    if (m.first == key) return m.second;
  }
  members_.emplace_back(key, Json());
  return members_.back().second;
}

Json &Json::push(Json value) {
  if (kind_ == Kind::Null) kind_ = Kind::Array;
  items_.push_back(std::move(value));
  return items_.back();
}

size_t Json::size() const { return kind_ == Kind::Array ? items_.size() : members_.size(); }

static void writeString(std::string &out, const std::string &s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

static void newline(std::string &out, int indent, int depth) {
  if (indent <= 0) return;
  out += '\n';
  out.append(static_cast<size_t>(indent * depth), ' ');
}

void Json::write(std::string &out, int indent, int depth) const {
  switch (kind_) {
    case Kind::Null:
      out += "null";
      break;
    case Kind::Bool:
      out += int_ ? "true" : "false";
      break;
    case Kind::Int:
      out += std::to_string(int_);
      break;
    case Kind::Double: {
      if (!std::isfinite(double_)) {  // JSON has no NaN/inf; a string keeps the information
        writeString(out, std::isnan(double_) ? "nan" : (double_ > 0 ? "inf" : "-inf"));
        break;
      }
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", double_);
      out += buf;
      if (!std::strpbrk(buf, ".eEn")) out += ".0";  // keep doubles doubles for JSON readers
      break;
    }
    case Kind::String:
      writeString(out, string_);
      break;
    case Kind::Array: {
      out += '[';
      // Short arrays of scalars stay on one line: bounds, versions, pointers.
      bool flat = items_.size() <= 8;
      for (const auto &i : items_) flat = flat && i.kind_ != Kind::Array && i.kind_ != Kind::Object;
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i) out += flat ? ", " : ",";
        if (!flat) newline(out, indent, depth + 1);
        items_[i].write(out, indent, depth + 1);
      }
      if (!flat && !items_.empty()) newline(out, indent, depth);
      out += ']';
      break;
    }
    case Kind::Object: {
      out += '{';
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i) out += ',';
        newline(out, indent, depth + 1);
        writeString(out, members_[i].first);
        out += ": ";
        members_[i].second.write(out, indent, depth + 1);
      }
      if (!members_.empty()) newline(out, indent, depth);
      out += '}';
      break;
    }
  }
}

std::string Json::dump(int indent) const {
  std::string out;
  write(out, indent, 0);
  out += '\n';
  return out;
}

}  // namespace ofxhost
