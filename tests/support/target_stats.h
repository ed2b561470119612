// The "stats" convention of the test targets that count what their patched functions return:
// SIGUSR1 makes the target print one line "stats key=value key=value ...".
#pragma once

#include <map>
#include <string>

#include "support/target_process.h"

namespace hotpatch::test {

// Sends SIGUSR1 and parses the "stats ..." answer into key -> value.
std::map<std::string, long> ReadStats(TargetProcess& target);

// Waits until the count "v<version>" grows, i.e. the target's workers see that version of the
// patched function running. Throws after about 5 s.
void WaitForVersion(TargetProcess& target, int version);

}  // namespace hotpatch::test
