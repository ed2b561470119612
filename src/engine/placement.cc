#include "engine/placement.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "arch/x86_64/padding.h"
#include "base/error.h"
#include "hotpatch/patch_area.h"
#include "process/remote_memory.h"

namespace hotpatch {

namespace {

uint64_t AlignUp(uint64_t v, uint64_t a) {
  return a <= 1 ? v : (v + a - 1) / a * a;
}

std::optional<RemoteRange> SectionRange(const Module& module, const elf::ElfFile& elf,
                                        const char* name) {
  const elf::Section* s = elf.FindSection(name);
  if (s == nullptr || s->size == 0 || s->address == 0) return std::nullopt;
  RemotePtr begin = module.load_bias + static_cast<int64_t>(s->address);
  return RemoteRange{begin, begin + static_cast<int64_t>(s->size)};
}

// First aligned gap of `size` bytes in any of `free_areas` not overlapping `used`.
std::optional<RemoteRange> FirstFit(const std::vector<RemoteRange>& free_areas,
                                    std::vector<RemoteRange> used, uint64_t size,
                                    uint64_t alignment) {
  std::sort(used.begin(), used.end());
  for (const auto& area : free_areas) {
    uint64_t cursor = AlignUp(area.begin.value(), alignment);
    for (const auto& u : used) {
      if (u.end.value() <= cursor || u.begin >= area.end) continue;
      if (u.begin.value() >= cursor + size) break;
      cursor = AlignUp(std::max(cursor, u.end.value()), alignment);
    }
    if (cursor + size <= area.end.value())
      return RemoteRange{RemotePtr(cursor), RemotePtr(cursor + size)};
  }
  return std::nullopt;
}

bool InitDone(const Module& module, const elf::ElfFile& elf, const RemoteMemory& memory) {
  auto state = SectionRange(module, elf, ".hotpatch.state");
  if (!state || state->size() < sizeof(hotpatch_state)) return false;
  auto value = memory.ReadValue<hotpatch_state>(state->begin);
  return std::memcmp(value.magic, HOTPATCH_STATE_MAGIC, 8) == 0 && value.init_done != 0;
}

struct Areas {
  std::vector<RemoteRange> code;
  std::vector<RemoteRange> used_code;
  std::optional<RemoteRange> data;
  std::vector<RemoteRange> used_data;
  std::string why_not;  // when `code` is empty
};

Areas ReservedAreas(const Module& module, const elf::ElfFile& elf,
                    const std::vector<PatchRecord>& applied) {
  Areas areas;
  if (auto text = SectionRange(module, elf, ".hotpatch.text"))
    areas.code.push_back(*text);
  else
    areas.why_not = module.path + " has no .hotpatch.text section (HOTPATCH_DEFINE_AREAS)";
  areas.data = SectionRange(module, elf, ".hotpatch.data");
  for (const auto& p : applied) {
    if (p.code.size()) areas.used_code.push_back(p.code);
    if (p.data.size()) areas.used_data.push_back(p.data);
  }
  return areas;
}

// Where every symbol of the module says code (or data in code) lies. Not only STT_FUNC: a
// hand-written assembly label (STT_NOTYPE, often size 0) or an object in .text is not fill either,
// and FindPadding skips the gap after a symbol whose size is unknown.
std::vector<RemoteRange> SymbolExtents(const Module& module, const elf::ElfFile& elf) {
  std::vector<RemoteRange> extents;
  for (const auto* table : {&elf.symbols(), &elf.dynamic_symbols()})
    for (const auto& s : *table) {
      if (s.section_index == SHN_UNDEF || s.section_index == SHN_ABS || s.type == STT_SECTION ||
          s.type == STT_FILE || s.type == STT_TLS)
        continue;
      RemotePtr begin = module.load_bias + static_cast<int64_t>(s.value);
      extents.push_back({begin, begin + static_cast<int64_t>(s.size)});
    }
  return extents;
}

// Inter-function padding: the nop/int3 fill the assembler and linker put between functions to
// align the next one; no control flow reaches it (design §5.2). Only the compiler's code
// sections (.text, .text.*) are searched: .init/.fini/.plt* are linker- or crt-made stubs, and
// .hotpatch.* are handled on their own. Runs are found in the mapped file's bytes, then each is
// read back from the target and kept only if it still holds exactly those bytes, so nothing
// another tool (or a bug) changed in memory is ever taken for fill.
std::vector<RemoteRange> PaddingRuns(const Module& module, const elf::ElfFile& elf,
                                     const RemoteMemory& memory, uint64_t min_size) {
  std::vector<RemoteRange> runs;
  std::vector<RemoteRange> extents;
  for (const auto& section : elf.sections()) {
    bool compiler_code = section.name == ".text" || section.name.starts_with(".text.");
    if (!compiler_code || section.type != SHT_PROGBITS || section.address == 0 ||
        (section.flags & (SHF_ALLOC | SHF_EXECINSTR)) != (SHF_ALLOC | SHF_EXECINSTR))
      continue;
    if (extents.empty()) extents = SymbolExtents(module, elf);
    std::span<const uint8_t> file_bytes = elf.SectionData(section);
    RemotePtr begin = module.load_bias + static_cast<int64_t>(section.address);
    for (const auto& run : x86_64::FindPadding(file_bytes, begin, extents, min_size)) {
      std::span<const uint8_t> expected =
          file_bytes.subspan(run.range.begin - begin, run.range.size());
      std::vector<uint8_t> now(expected.size());
      if (memory.TryRead(run.range.begin, now) == now.size() &&
          std::equal(now.begin(), now.end(), expected.begin()))
        runs.push_back(run.range);
    }
  }
  return runs;
}

Areas DeadAreas(const Module& module, const elf::ElfFile& elf, const RemoteMemory& memory,
                const std::vector<PatchRecord>& applied, uint64_t min_size) {
  Areas areas = ReservedAreas(module, elf, applied);
  areas.code.clear();
  if (auto run_once = SectionRange(module, elf, ".hotpatch.run_once")) {
    if (InitDone(module, elf, memory))
      areas.code.push_back(*run_once);
    else
      areas.why_not =
          module.path + " has not declared init done, so its run-once code may still run";
  }
  // A superseded body never runs again while its patch stays: the entry jumps away, the safety
  // check proved no thread was inside, and the gate's fall-back path only runs while that patch
  // is uncommitted (revert refuses while a newer patch uses the body).
  for (const auto& p : applied)
    for (const auto& f : p.functions) {
      RemotePtr begin = f.jump_at + 5;
      RemotePtr end = f.entry + static_cast<int64_t>(f.size);
      if (end > begin) areas.code.push_back({begin, end});
    }
  // Padding a patch already took reads as fill in the file but not in memory, so it drops out
  // here; its range is in used_code anyway.
  for (const auto& run : PaddingRuns(module, elf, memory, min_size)) areas.code.push_back(run);
  if (areas.code.empty() && areas.why_not.empty())
    areas.why_not =
        "no dead code: no run-once section, no superseded function bodies and no run "
        "of inter-function padding of " +
        std::to_string(min_size) + " bytes";
  return areas;
}

}  // namespace

PlacementChoice ChoosePlacement(bundle::Placement wanted, const PlacementNeeds& needs,
                                const Module& module, const elf::ElfFile& module_elf,
                                const RemoteMemory& memory,
                                const std::vector<PatchRecord>& applied) {
  std::vector<PatchRecord> same_module;
  for (const auto& p : applied)
    if (p.build_id_hex == module.build_id_hex) same_module.push_back(p);

  // Tries one area kind; returns the choice or the reason it does not fit.
  auto try_areas = [&](bundle::Placement kind, const Areas& areas,
                       std::string& why) -> std::optional<PlacementChoice> {
    if (areas.code.empty()) {
      why = areas.why_not;
      return std::nullopt;
    }
    auto code = FirstFit(areas.code, areas.used_code, needs.code_size, needs.code_alignment);
    if (!code) {
      why = "no free run of " + std::to_string(needs.code_size) + " bytes of " +
            bundle::PlacementName(kind) + " code left";
      return std::nullopt;
    }
    PlacementChoice choice{kind, *code, {}, false, false};
    if (needs.data_size > 0) {
      std::optional<RemoteRange> data;
      if (areas.data)
        data = FirstFit({*areas.data}, areas.used_data, needs.data_size, needs.data_alignment);
      if (!data) {
        why = "the patch needs " + std::to_string(needs.data_size) +
              " bytes of data and the reserved data area (.hotpatch.data) " +
              (areas.data ? "is full" : "does not exist");
        return std::nullopt;
      }
      choice.data = *data;
    }
    return choice;
  };

  std::vector<bundle::Placement> order;
  if (wanted != bundle::Placement::kAuto)
    order = {wanted};
  else
    order = {bundle::Placement::kReserved, bundle::Placement::kDeadCode,
             bundle::Placement::kMapping};

  std::string reasons;
  for (auto kind : order) {
    std::string why;
    std::optional<PlacementChoice> choice;
    if (kind == bundle::Placement::kReserved)
      choice = try_areas(kind, ReservedAreas(module, module_elf, same_module), why);
    else if (kind == bundle::Placement::kDeadCode)
      choice =
          try_areas(kind, DeadAreas(module, module_elf, memory, same_module, needs.code_size), why);
    else
      choice = PlacementChoice{kind, {}, {}, true, needs.data_size > 0};
    if (choice) return *choice;
    reasons += std::string(reasons.empty() ? "" : "; ") + bundle::PlacementName(kind) + ": " + why;
  }
  throw Error(ErrorCode::kUnsupported, "placement " + std::string(bundle::PlacementName(wanted)) +
                                           " does not fit: " + reasons);
}

}  // namespace hotpatch
