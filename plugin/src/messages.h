// What the node tells the user: persistent errors on the node, log lines. Every message also goes
// to stderr as one line starting "Neural Style: ", where farm logs see it whatever the host shows.
#ifndef NEURALSTYLE_MESSAGES_H
#define NEURALSTYLE_MESSAGES_H

#include <string>

#include "ofx_abi.h"

namespace neuralstyle {

// kOfxMessageLog on the effect, as "Neural Style: <text>".
void log_message(OfxImageEffectHandle effect, const std::string &text);

// A persistent error on the node (message suite v2); a plain error message with v1.
void set_error_message(OfxImageEffectHandle effect, const std::string &text);

void clear_error_message(OfxImageEffectHandle effect);

// stderr only: for actions without an instance to show it on (Load, Describe).
void print_error(const std::string &text);

}  // namespace neuralstyle

#endif
