// An action that cannot complete: the status the host gets and the one line the node shows.
#ifndef NEURALSTYLE_ACTION_ERROR_H
#define NEURALSTYLE_ACTION_ERROR_H

#include <stdexcept>
#include <string>

#include "ofx_abi.h"

namespace neuralstyle {

class ActionError : public std::runtime_error {
 public:
  ActionError(OfxStatus status, const std::string &message)
      : std::runtime_error(message), status_(status) {}
  OfxStatus status() const { return status_; }

 private:
  OfxStatus status_;
};

}  // namespace neuralstyle

#endif
