// Fleet apply (hotpatchctl apply --all-processes): one bundle to every running process of its
// target's build-id, in parallel; with --atomic, a fleet where one member cannot take the patch
// is put back exactly as it was — down to the bytes of the functions.
#include <sys/uio.h>

#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "daemon_fixture.h"
#include "elf/elf_file.h"
#include "engine/engine.h"
#include "process/modules.h"

namespace hotpatch::test {
namespace {

// The functions fleet_parked.c replaces.
const std::vector<std::string> kPatchedFunctions = {"version", "parked"};

// The .symtab entry of `function` (-rdynamic puts it in .dynsym too).
const elf::Symbol& FunctionSymbol(const elf::ElfFile& binary, const std::string& function) {
  const elf::Symbol* found = nullptr;
  for (const elf::Symbol* symbol : binary.FindSymbols(function))
    if (!symbol->dynamic) found = symbol;
  REQUIRE(found != nullptr);
  return *found;
}

// The bytes of `function` as the target runs them now.
std::vector<uint8_t> LiveFunctionBytes(pid_t pid, const elf::ElfFile& binary,
                                       const std::string& function) {
  const elf::Symbol& symbol = FunctionSymbol(binary, function);
  std::vector<Module> modules = ReadModules(pid);  // FindModuleByBuildId points into it
  const Module* module = FindModuleByBuildId(modules, binary.build_id_hex());
  REQUIRE(module != nullptr);
  std::vector<uint8_t> bytes(symbol.size);
  iovec local{bytes.data(), bytes.size()};
  iovec remote{reinterpret_cast<void*>(module->load_bias.value() + symbol.value), bytes.size()};
  REQUIRE(process_vm_readv(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(bytes.size()));
  return bytes;
}

// Every replaced function of `pid` still holds exactly the bytes of the file.
void RequireOriginalCode(pid_t pid, const elf::ElfFile& binary) {
  for (const auto& function : kPatchedFunctions) {
    INFO("pid " << pid << ", function " << function);
    const elf::Symbol& symbol = FunctionSymbol(binary, function);
    auto file_bytes = binary.BytesAtAddress(symbol.value, symbol.size);
    REQUIRE(file_bytes.has_value());
    CHECK(LiveFunctionBytes(pid, binary, function) ==
          std::vector<uint8_t>(file_bytes->begin(), file_bytes->end()));
  }
}

std::map<pid_t, nlohmann::json> MembersByPid(const nlohmann::json& result) {
  std::map<pid_t, nlohmann::json> members;
  for (const auto& member : result["processes"]) members[member["pid"].get<pid_t>()] = member;
  return members;
}

bool RunsPatch(pid_t pid, const std::string& patch_id) {
  for (const auto& listed : ListPatches(pid))
    if (listed.record.patch_id == patch_id && listed.effective_state == "applied") return true;
  return false;
}

// A private hotpatchd and the fleet_parked.c bundle for fleet_loop.
struct FleetDaemon {
  TempDir dir;
  RunningDaemon daemon{dir.path() + "/hotpatchd.sock"};
  std::string socket = daemon.socket_path();
  std::string bundle = BuildBundleFromSource("tests/integration/daemon/patches/fleet_parked.c",
                                             TargetPath("fleet_loop"), "fleet-v2", dir);
  elf::ElfFile binary = elf::ElfFile::Open(TargetPath("fleet_loop"));

  // hotpatchctl --json apply --all-processes OPTIONS... BUNDLE
  CtlRun ApplyToAll(const std::vector<std::string>& options) {
    std::vector<std::string> args = {"--socket", socket, "--json", "apply", "--all-processes"};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back(bundle);
    return RunCtl(args, dir);
  }
};

// Two processes that take the patch at once, and one whose parker thread sits inside parked()
// for ten minutes: no safety check can pass there.
struct MixedFleet {
  TargetProcess first{TargetPath("fleet_loop"), {"2"}};
  TargetProcess second{TargetPath("fleet_loop"), {"2"}};
  TargetProcess parked{TargetPath("fleet_loop"), {"2", "600000"}};
  MixedFleet() {
    first.WaitForLine("ready");
    second.WaitForLine("ready");
    parked.WaitForLine("ready");
  }
};

}  // namespace

TEST_CASE("apply --all-processes patches every process of the build-id and only those") {
  FleetDaemon f;
  std::vector<TargetProcess> fleet;
  for (int i = 0; i < 4; ++i)
    fleet.emplace_back(TargetPath("fleet_loop"), std::vector<std::string>{"2"});
  for (auto& target : fleet) target.WaitForLine("ready");
  // Another binary: not part of the fleet, never touched.
  TargetProcess bystander(TargetPath("engine_loop"), {"1"});
  bystander.WaitForLine("ready");

  CtlRun run = f.ApplyToAll({});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 0);
  auto result = run.Json();
  CHECK(result["command"] == "fleet_apply");
  CHECK(result["patch_id"] == "fleet-v2");
  CHECK(result["target_module"] == "fleet_loop");
  CHECK(result["atomic"] == false);
  auto members = MembersByPid(result);
  std::set<pid_t> expected, listed;
  for (auto& target : fleet) expected.insert(target.pid());
  for (const auto& [pid, member] : members) listed.insert(pid);
  CHECK(listed == expected);
  for (auto& target : fleet) {
    const auto& member = members[target.pid()];
    CHECK(member["outcome"] == "applied");
    CHECK(member["command"] == "fleet_loop");
    CHECK(member["attempts"].get<int>() >= 1);
    CHECK_FALSE(member["placement"].get<std::string>().empty());
    CHECK(member["error"] == "");
    WaitForVersion(target, 2);
  }
  CHECK(ListPatches(bystander.pid()).empty());

  // Again: every member already runs it, nothing is stopped.
  CtlRun again = f.ApplyToAll({});
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  for (const auto& [pid, member] : MembersByPid(again.Json()))
    CHECK(member["outcome"] == "already_applied");

  // The readable form: one row per process.
  CtlRun readable = RunCtl({"--socket", f.socket, "apply", "--all-processes", f.bundle}, f.dir);
  CHECK(readable.exit_code == 0);
  for (auto& target : fleet)
    CHECK_THAT(readable.out, Catch::Contains(std::to_string(target.pid())));
  for (auto& target : fleet) {
    REQUIRE(
        RunCtl({"--socket", f.socket, "revert", std::to_string(target.pid()), "fleet-v2"}, f.dir)
            .exit_code == 0);
    CHECK(ReadStats(target)["errors"] == 0);
  }
  f.daemon.WaitForLogLine({"request fleet_apply", "patch=fleet-v2", "outcome=ok", "4 applied"});
}

TEST_CASE("apply --all-processes --atomic rolls the fleet back when one process stays busy") {
  FleetDaemon f;
  MixedFleet fleet;
  for (pid_t pid : {fleet.first.pid(), fleet.second.pid(), fleet.parked.pid()})
    RequireOriginalCode(pid, f.binary);

  CtlRun run = f.ApplyToAll({"--atomic", "--timeout", "1"});
  INFO(run.out << run.err);
  // Everything was put back: the exit code is the failure's own, busy.
  CHECK(run.exit_code == 3);
  auto result = run.Json();
  CHECK(result["atomic"] == true);
  auto members = MembersByPid(result);
  REQUIRE(members.size() == 3);
  CHECK(members[fleet.parked.pid()]["outcome"] == "failed");
  CHECK(members[fleet.parked.pid()]["error"] == "busy");
  CHECK_THAT(members[fleet.parked.pid()]["message"].get<std::string>(), Catch::Contains("parked"));
  for (pid_t pid : {fleet.first.pid(), fleet.second.pid()}) {
    INFO("pid " << pid);
    CHECK(members[pid]["outcome"] == "rolled_back");
    CHECK(members[pid]["pause_us"].get<uint64_t>() > 0);
  }
  // No registry entry, original bytes, and the workers never saw version 2 or a wrong result.
  for (TargetProcess* target : {&fleet.first, &fleet.second, &fleet.parked}) {
    INFO("pid " << target->pid());
    CHECK_FALSE(RunsPatch(target->pid(), "fleet-v2"));
    RequireOriginalCode(target->pid(), f.binary);
    auto stats = ReadStats(*target);
    CHECK(stats["errors"] == 0);
  }
  f.daemon.WaitForLogLine({"request fleet_apply", "outcome=ok", "1 failed", "2 rolled_back"});
}

TEST_CASE("apply --all-processes without --atomic keeps the patch where it applied") {
  FleetDaemon f;
  MixedFleet fleet;

  CtlRun run = f.ApplyToAll({"--timeout", "1"});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 6);  // partly applied
  auto members = MembersByPid(run.Json());
  REQUIRE(members.size() == 3);
  CHECK(members[fleet.parked.pid()]["outcome"] == "failed");
  CHECK(members[fleet.parked.pid()]["error"] == "busy");
  CHECK(members[fleet.first.pid()]["outcome"] == "applied");
  CHECK(members[fleet.second.pid()]["outcome"] == "applied");
  CHECK(RunsPatch(fleet.first.pid(), "fleet-v2"));
  CHECK(RunsPatch(fleet.second.pid(), "fleet-v2"));
  CHECK_FALSE(RunsPatch(fleet.parked.pid(), "fleet-v2"));
  WaitForVersion(fleet.first, 2);
  WaitForVersion(fleet.second, 2);
  RequireOriginalCode(fleet.parked.pid(), f.binary);

  // A member that had the patch before is never rolled back by an atomic request that fails.
  CtlRun atomic = f.ApplyToAll({"--atomic", "--timeout", "1"});
  INFO(atomic.out << atomic.err);
  CHECK(atomic.exit_code == 3);
  auto after = MembersByPid(atomic.Json());
  CHECK(after[fleet.first.pid()]["outcome"] == "already_applied");
  CHECK(after[fleet.second.pid()]["outcome"] == "already_applied");
  CHECK(after[fleet.parked.pid()]["outcome"] == "failed");
  CHECK(RunsPatch(fleet.first.pid(), "fleet-v2"));
  CHECK(ReadStats(fleet.first)["errors"] == 0);
  CHECK(ReadStats(fleet.second)["errors"] == 0);
}

TEST_CASE("apply --all-processes finds the processes that map a shared library of the build-id") {
  TempDir dir;
  RunningDaemon daemon(dir.path() + "/hotpatchd.sock");
  TargetProcess first(TargetPath("engine_dlopen"), {"2"});
  TargetProcess second(TargetPath("engine_dlopen"), {"2"});
  std::string library = first.WaitForLine("ready ").substr(6);
  second.WaitForLine("ready ");
  // Maps no such library: not part of the fleet.
  TargetProcess bystander(TargetPath("fleet_loop"), {"1"});
  bystander.WaitForLine("ready");
  std::string bundle = BuildBundleFile("plugin_version2", library, "plugin-v2", dir);

  CtlRun run =
      RunCtl({"--socket", daemon.socket_path(), "--json", "apply", "--all-processes", bundle}, dir);
  INFO(run.out << run.err);
  CHECK(run.exit_code == 0);
  auto result = run.Json();
  CHECK(result["target_module"] == "libengine_plugin.so");
  auto members = MembersByPid(result);
  REQUIRE(members.size() == 2);
  CHECK(members[first.pid()]["outcome"] == "applied");
  CHECK(members[second.pid()]["outcome"] == "applied");
  WaitForVersion(first, 2);
  WaitForVersion(second, 2);
  CHECK(ListPatches(bystander.pid()).empty());
  CHECK(ReadStats(first)["errors"] == 0);
  CHECK(ReadStats(second)["errors"] == 0);
}

TEST_CASE("apply --all-processes with no process of the build-id is not_found") {
  FleetDaemon f;
  CtlRun run = f.ApplyToAll({});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 1);
  auto error = run.Json();
  CHECK(error["error"] == "not_found");
  CHECK_THAT(error["message"].get<std::string>(), Catch::Contains("fleet_loop"));
}

TEST_CASE(
    "hotpatchctl takes --atomic only with apply --all-processes, install refuses it saying why") {
  TempDir dir;
  CtlRun install = RunCtl({"install", "--atomic", "/nonexistent.hpb"}, dir);
  CHECK(install.exit_code == 2);
  CHECK_THAT(install.err, Catch::Contains("apply --all-processes --atomic"));
  CHECK(RunCtl({"apply", "--atomic", "42", "/nonexistent.hpb"}, dir).exit_code == 2);
  CHECK(RunCtl({"apply", "--all-processes", "42", "/nonexistent.hpb"}, dir).exit_code == 2);
  CHECK(RunCtl({"revert", "--all-processes", "42"}, dir).exit_code == 2);
}

TEST_CASE("hotpatchd --no-scheduling-boost is accepted and its engine calls still patch") {
  TempDir dir;
  {
    TargetProcess help("/bin/sh", {"-c", ShellQuote(HOTPATCHD_PATH) + " --help"});
    std::string text;
    try {
      for (;;) text += help.ReadLine() + "\n";
    } catch (const std::runtime_error&) {
    }
    CHECK_THAT(text, Catch::Contains("--no-scheduling-boost"));
  }
  RunningDaemon daemon(dir.path() + "/hotpatchd.sock", {"--no-scheduling-boost"});
  daemon.WaitForLogLine({"scheduling boost off"});
  std::string bundle = BuildBundleFile("version2", TargetPath("fleet_loop"), "version2", dir);
  TargetProcess target(TargetPath("fleet_loop"), {"2"});
  target.WaitForLine("ready");
  std::string socket = daemon.socket_path();
  CtlRun apply = RunCtl({"--socket", socket, "apply", std::to_string(target.pid()), bundle}, dir);
  INFO(apply.out << apply.err);
  CHECK(apply.exit_code == 0);
  WaitForVersion(target, 2);
  CHECK(RunCtl({"--socket", socket, "revert", std::to_string(target.pid())}, dir).exit_code == 0);
  WaitForVersion(target, 1);
  CHECK(ReadStats(target)["errors"] == 0);
}

}  // namespace hotpatch::test
