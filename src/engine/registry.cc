#include "engine/registry.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/hex.h"
#include "engine/fault_injection.h"
#include "engine/remote_mapping.h"
#include "process/maps.h"
#include "process/process_attachment.h"
#include "process/remote_memory.h"

namespace hotpatch {

namespace {

using nlohmann::json;

constexpr char kMagic[8] = {'H', 'P', 'R', 'E', 'G', 0, 0, 1};
constexpr uint64_t kSlotSize = (kRegistrySize - 4096) / 2;

RemotePtr SlotAddress(RemotePtr location, uint32_t slot) {
  return location + 4096 + static_cast<int64_t>(slot * kSlotSize);
}

std::string ToHex(const std::vector<uint8_t>& bytes) { return HexDigits(bytes); }

std::vector<uint8_t> FromHex(const std::string& text) {
  auto bytes = ParseHexDigits(text);
  if (!bytes) throw Error(ErrorCode::kInternal, "registry: bad hex string '" + text + "'");
  return *bytes;
}

json RangeJson(RemoteRange r) { return json::array({r.begin.value(), r.end.value()}); }
RemoteRange RangeFrom(const json& j) {
  return {RemotePtr(j.at(0).get<uint64_t>()), RemotePtr(j.at(1).get<uint64_t>())};
}

PatchState StateFrom(const std::string& name) {
  if (name == "prepared") return PatchState::kPrepared;
  if (name == "applied") return PatchState::kApplied;
  if (name == "reverting") return PatchState::kReverting;
  throw Error(ErrorCode::kInternal, "registry: unknown patch state '" + name + "'");
}

json ToJson(const PatchRecord& p) {
  json functions = json::array();
  for (const auto& f : p.functions) {
    json cold = json::array();
    for (const auto& c : f.cold_parts) cold.push_back(RangeJson(c));
    functions.push_back({{"name", f.name},
                         {"entry", f.entry.value()},
                         {"size", f.size},
                         {"cold_parts", cold},
                         {"jump_at", f.jump_at.value()},
                         {"previous_bytes", ToHex(f.previous_bytes)},
                         {"gate", f.gate.value()},
                         {"replacement", f.replacement.value()}});
  }
  json mappings = json::array();
  for (const auto& m : p.own_mappings) mappings.push_back(RangeJson(m));
  json cfi_ranges = json::array();
  for (const auto& r : p.cfi_ranges) cfi_ranges.push_back(RangeJson(r));
  json saved = json::array();
  for (const auto& s : p.saved_areas)
    saved.push_back({{"address", s.address.value()}, {"bytes", ToHex(s.bytes)}});
  return {{"patch_id", p.patch_id},
          {"description", p.description},
          {"checksum", p.checksum_hex},
          {"module", p.module_path},
          {"build_id", p.build_id_hex},
          {"load_bias", p.load_bias.value()},
          {"placement", p.placement},
          {"state", PatchStateName(p.state)},
          {"applied_at_unix_us", p.applied_at_unix_us},
          {"commit_flag", p.commit_flag.value()},
          {"code", RangeJson(p.code)},
          {"data", RangeJson(p.data)},
          {"own_mappings", mappings},
          {"saved_areas", saved},
          {"functions", functions},
          {"eh_frame_hdr", p.eh_frame_hdr.value()},
          {"cfi_ranges", cfi_ranges},
          {"call_stubs", RangeJson(p.call_stubs)}};
}

PatchRecord FromJson(const json& j) {
  PatchRecord p;
  p.patch_id = j.at("patch_id");
  p.description = j.at("description");
  p.checksum_hex = j.at("checksum");
  p.module_path = j.at("module");
  p.build_id_hex = j.at("build_id");
  p.load_bias = RemotePtr(j.at("load_bias").get<uint64_t>());
  p.placement = j.at("placement");
  p.state = StateFrom(j.at("state"));
  p.applied_at_unix_us = j.at("applied_at_unix_us");
  p.commit_flag = RemotePtr(j.at("commit_flag").get<uint64_t>());
  p.code = RangeFrom(j.at("code"));
  p.data = RangeFrom(j.at("data"));
  for (const auto& m : j.at("own_mappings")) p.own_mappings.push_back(RangeFrom(m));
  for (const auto& s : j.at("saved_areas"))
    p.saved_areas.push_back({RemotePtr(s.at("address").get<uint64_t>()), FromHex(s.at("bytes"))});
  for (const auto& f : j.at("functions")) {
    PatchedFunction fn;
    fn.name = f.at("name");
    fn.entry = RemotePtr(f.at("entry").get<uint64_t>());
    fn.size = f.at("size");
    for (const auto& c : f.at("cold_parts")) fn.cold_parts.push_back(RangeFrom(c));
    fn.jump_at = RemotePtr(f.at("jump_at").get<uint64_t>());
    fn.previous_bytes = FromHex(f.at("previous_bytes"));
    fn.gate = RemotePtr(f.at("gate").get<uint64_t>());
    fn.replacement = RemotePtr(f.at("replacement").get<uint64_t>());
    p.functions.push_back(std::move(fn));
  }
  // Absent in registries of engines before they were recorded: none then.
  if (j.contains("eh_frame_hdr")) p.eh_frame_hdr = RemotePtr(j.at("eh_frame_hdr").get<uint64_t>());
  if (j.contains("cfi_ranges"))
    for (const auto& r : j.at("cfi_ranges")) p.cfi_ranges.push_back(RangeFrom(r));
  if (j.contains("call_stubs")) p.call_stubs = RangeFrom(j.at("call_stubs"));
  return p;
}

std::optional<RemotePtr> FindRegistryMapping(pid_t pid) {
  const std::string memfd_name = std::string("/memfd:") + kRegistryMappingName;
  for (const auto& m : ReadMappings(pid))
    if (m.path == memfd_name && m.offset == 0) return m.range.begin;
  return std::nullopt;
}

// The mapping exists but holds no header yet: its creator maps it, then writes the header (two
// steps of OpenOrCreate), so a reader without the attachment — `list`, or another apply before it
// seizes the process — can see it in between; a creator killed between the steps leaves it so.
// Either way it holds no patch.
bool HeaderUnwritten(const RegistryHeader& header) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(&header);
  return std::all_of(bytes, bytes + sizeof header, [](uint8_t b) { return b == 0; });
}

RegistryHeader FreshHeader() {
  RegistryHeader header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = 1;
  return header;
}

}  // namespace

const char* PatchStateName(PatchState state) {
  switch (state) {
    case PatchState::kPrepared: return "prepared";
    case PatchState::kApplied: return "applied";
    case PatchState::kReverting: return "reverting";
  }
  return "unknown";
}

std::optional<TargetRegistry> TargetRegistry::TryOpen(pid_t pid, const RemoteMemory& memory) {
  auto location = FindRegistryMapping(pid);
  if (!location) return std::nullopt;
  auto header = memory.ReadValue<RegistryHeader>(*location);
  if (HeaderUnwritten(header)) return std::nullopt;
  std::string where = "registry of pid " + std::to_string(pid) + " at " + location->ToString();
  if (std::memcmp(header.magic, kMagic, sizeof kMagic) != 0 || header.version != 1)
    throw Error(ErrorCode::kInternal, where + ": bad magic or version");
  if (header.active_slot > 1 || header.length > kSlotSize)
    throw Error(ErrorCode::kInternal, where + ": corrupt header");
  std::vector<PatchRecord> patches;
  if (header.length > 0) {
    auto bytes = memory.Read(SlotAddress(*location, header.active_slot), header.length);
    try {
      // Keep the document in a variable: a range-for over a member of a temporary dangles.
      json document = json::parse(bytes.begin(), bytes.end());
      for (const auto& p : document.at("patches")) patches.push_back(FromJson(p));
    } catch (const json::exception& e) {
      throw Error(ErrorCode::kInternal, where + ": " + e.what());
    }
  }
  return TargetRegistry(*location, header, std::move(patches));
}

TargetRegistry TargetRegistry::OpenOrCreate(ProcessAttachment& process) {
  if (auto existing = TryOpen(process.pid(), process.memory())) return std::move(*existing);
  // A mapping whose header was never written (see HeaderUnwritten) is reused: we hold the
  // attachment, so nobody is writing it now, and a second mapping would hide behind the first.
  std::optional<RemotePtr> location = FindRegistryMapping(process.pid());
  if (!location) {
    location = CreateNamedMapping(process, kRegistryMappingName, kRegistrySize,
                                  PROT_READ | PROT_WRITE)
                   .begin;
  }
  FaultInjectionPoint("registry-mapped");
  RegistryHeader header = FreshHeader();
  process.memory().WriteValue(*location, header);
  return TargetRegistry(*location, header, {});
}

void TargetRegistry::Commit(const RemoteMemory& memory, std::vector<PatchRecord> patches) {
  json all = {{"patches", json::array()}};
  for (const auto& p : patches) all["patches"].push_back(ToJson(p));
  std::string text = all.dump();
  if (text.size() > kSlotSize)
    throw Error(ErrorCode::kUnsupported, "registry of pid " + std::to_string(memory.pid()) +
                                             " full: " + std::to_string(text.size()) + " bytes");
  RegistryHeader next = header_;
  next.active_slot = header_.active_slot ^ 1;
  next.generation = header_.generation + 1;
  next.length = text.size();
  memory.Write(SlotAddress(location_, next.active_slot),
               std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  // One pwrite of 32 bytes within one page: the kernel copies it whole or not at all as far as a
  // SIGKILL of this process is concerned, so the switch is the commit point.
  memory.WriteValue(location_, next);
  header_ = next;
  patches_ = std::move(patches);
}

}  // namespace hotpatch
