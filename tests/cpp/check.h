// A minimal test vocabulary for the plugin's C++ tests: CHECK and CHECK_EQ record failures and
// go on; main returns check_exit_code().
#ifndef NEURALSTYLE_TESTS_CHECK_H
#define NEURALSTYLE_TESTS_CHECK_H

#include <iostream>

inline int &check_failures() {
  static int failures = 0;
  return failures;
}

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::cerr << __FILE__ << ":" << __LINE__ << ": CHECK(" #cond ") failed\n"; \
      ++check_failures();                                                        \
    }                                                                            \
  } while (0)

#define CHECK_EQ(a, b)                                                                     \
  do {                                                                                     \
    const auto &check_a_ = (a);                                                            \
    const auto &check_b_ = (b);                                                            \
    if (!(check_a_ == check_b_)) {                                                         \
      std::cerr << __FILE__ << ":" << __LINE__                                             \
                << ": CHECK_EQ(" #a ", " #b ") failed: " << check_a_ << " != " << check_b_ \
                << "\n";                                                                   \
      ++check_failures();                                                                  \
    }                                                                                      \
  } while (0)

inline int check_exit_code() {
  if (check_failures() == 0) {
    std::cout << "all checks passed\n";
    return 0;
  }
  std::cerr << check_failures() << " check(s) failed\n";
  return 1;
}

#endif
