#include "support/target_stats.h"

#include <signal.h>

#include <sstream>
#include <stdexcept>
#include <thread>

namespace hotpatch::test {

std::map<std::string, long> ReadStats(TargetProcess& target) {
  kill(target.pid(), SIGUSR1);
  std::string line = target.WaitForLine("stats ");
  std::map<std::string, long> stats;
  std::istringstream words(line.substr(6));
  std::string word;
  while (words >> word) {
    auto eq = word.find('=');
    if (eq != std::string::npos) stats[word.substr(0, eq)] = std::stol(word.substr(eq + 1));
  }
  return stats;
}

void WaitForVersion(TargetProcess& target, int version) {
  std::string key = "v" + std::to_string(version);
  long before = ReadStats(target)[key];
  for (int i = 0; i < 500; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (ReadStats(target)[key] > before) return;
  }
  throw std::runtime_error("version() never returned " + std::to_string(version));
}

}  // namespace hotpatch::test
