#include "messages.h"

#include <cstdio>

#include "suites.h"

namespace neuralstyle {
namespace {

void print_line(const char *kind, const std::string &text) {
  std::fprintf(stderr, "Neural Style: %s%s\n", kind, text.c_str());
  std::fflush(stderr);
}

// User text goes through "%s": it may contain '%' (paths, Python messages).
void send(OfxImageEffectHandle effect, const char *type, const std::string &text) {
  const Suites &s = suites();
  if (s.message_v2) {
    s.message_v2->message(effect, type, "", "%s", text.c_str());
  } else if (s.message_v1) {
    s.message_v1->message(effect, type, "", "%s", text.c_str());
  }
}

}  // namespace

void log_message(OfxImageEffectHandle effect, const std::string &text) {
  print_line("", text);
  send(effect, kOfxMessageLog, "Neural Style: " + text);
}

void set_error_message(OfxImageEffectHandle effect, const std::string &text) {
  print_line("error: ", text);
  const Suites &s = suites();
  if (s.message_v2) {
    s.message_v2->setPersistentMessage(effect, kOfxMessageError, "", "%s", text.c_str());
  } else {
    send(effect, kOfxMessageError, text);
  }
}

void clear_error_message(OfxImageEffectHandle effect) {
  if (suites().message_v2) suites().message_v2->clearPersistentMessage(effect);
}

void print_error(const std::string &text) { print_line("error: ", text); }

}  // namespace neuralstyle
