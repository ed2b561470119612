#include "process/mapping_query.h"

#include <sys/utsname.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "base/error.h"
#include "process/maps.h"
#include "support/target_process.h"

using namespace hotpatch;
using hotpatch::test::TargetPath;
using hotpatch::test::TargetProcess;

namespace {

// PROCMAP_QUERY arrived in Linux 6.11.
bool KernelHasProcmapQuery() {
  utsname name{};
  REQUIRE(uname(&name) == 0);
  int major = 0, minor = 0;
  REQUIRE(std::sscanf(name.release, "%d.%d", &major, &minor) == 2);
  return major > 6 || (major == 6 && minor >= 11);
}

}  // namespace

TEST_CASE("MappingQuery finds each mapping ReadMappings lists, and nothing where nothing is") {
  TargetProcess target(TargetPath("dlopen_late"));
  target.WaitForLine("ready");
  MappingQuery query(target.pid());
  std::vector<Mapping> mappings = ReadMappings(target.pid());
  if (!KernelHasProcmapQuery()) {
    CHECK_FALSE(query.TryFind(mappings.front().range.begin).has_value());
    CHECK_FALSE(query.supported());
    return;
  }
  size_t files = 0;
  for (const Mapping& mapping : mappings) {
    if (mapping.path == "[vsyscall]") continue;  // not a VMA of the process (gate area)
    INFO(mapping.path << " at " << mapping.range.begin.ToString());
    for (RemotePtr address : {mapping.range.begin, mapping.range.end - 1}) {
      std::optional<Mapping> found = query.TryFind(address);
      REQUIRE(found.has_value());
      CHECK(SameMappingIgnoringPath(*found, mapping));
    }
    if (mapping.inode != 0) ++files;
  }
  CHECK(files >= 4);  // the executable's and libc's segments at least
  CHECK(query.supported());
  CHECK_FALSE(query.TryFind(RemotePtr(0x1000)).has_value());
  // A mapping differs from its neighbour in range or permissions, never equal by accident.
  std::optional<Mapping> first = query.TryFind(mappings[0].range.begin);
  REQUIRE(first.has_value());
  CHECK_FALSE(SameMappingIgnoringPath(*first, mappings[1]));
}

TEST_CASE("MappingQuery of a process that is gone throws kNoSuchProcess") {
  pid_t gone;
  {
    TargetProcess target(TargetPath("plain_loop"));
    gone = target.pid();
  }
  try {
    MappingQuery query(gone);
    FAIL("opened the maps of a reaped process");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kNoSuchProcess);
  }
}
