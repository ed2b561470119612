// ApplyBundle: identity before anything stops, all preparation while the target runs, and only
// the safety check and the flip inside the stop (design §2).
#include <elf.h>
#include <sodium.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <span>

#include "arch/x86_64/control_flow.h"
#include "arch/x86_64/entry_site.h"
#include "arch/x86_64/instruction.h"
#include "base/error.h"
#include "base/hex.h"
#include "bundle/carried_eh_frame.h"
#include "bundle/checksum.h"
#include "bundle/sodium_init.h"
#include "engine/engine.h"
#include "engine/entry_gate.h"
#include "engine/fault_injection.h"
#include "engine/flip.h"
#include "engine/patch_cfi.h"
#include "engine/patch_image.h"
#include "engine/placement.h"
#include "engine/quiescence.h"
#include "engine/recovery.h"
#include "engine/registry.h"
#include "engine/remote_mapping.h"
#include "engine/stop_timer.h"
#include "engine/target_symbols.h"
#include "engine/tracer_priority.h"
#include "engine/tracer_thread.h"
#include "process/modules.h"
#include "process/process_attachment.h"
#include "unwind/stack_walker.h"

namespace hotpatch {

namespace {

uint64_t AlignUp(uint64_t v, uint64_t a) { return a <= 1 ? v : (v + a - 1) / a * a; }

uint64_t NowUnixMicros() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::array<uint8_t, 32> Sha256(std::span<const uint8_t> bytes) {
  bundle::InitialiseSodium();
  std::array<uint8_t, 32> digest;
  crypto_hash_sha256(digest.data(), bytes.data(), bytes.size());
  return digest;
}

constexpr size_t kFillWindow = 16;  // functions are aligned to at most 16 bytes by default

// How many bytes after a function (at `bytes[size]`) are fill — whole nop or int3 instructions
// that belong to no function — and so may be overwritten by the tail of its entry jump.
size_t TrailingFill(std::span<const uint8_t> bytes, size_t size, RemotePtr entry,
                    const Module& module, const elf::ElfFile& elf) {
  size_t fill = 0;
  while (size + fill < bytes.size()) {
    RemotePtr at = entry + static_cast<int64_t>(size + fill);
    auto insn = x86_64::TryDecodeInstruction(bytes.subspan(size + fill), at);
    if (!insn || !(insn->is_nop || insn->is_int3)) break;
    if (elf.FunctionContaining(at - module.load_bias)) break;  // another function starts here
    fill += insn->length;
  }
  return std::min(fill, bytes.size() - size);
}

// One function the bundle replaces, as found in the target.
struct TargetFunction {
  const bundle::ReplacedFunction* replaced = nullptr;
  RemotePtr entry;
  std::vector<RemoteRange> cold_parts;
  RemotePtr jump_at;
  std::vector<uint8_t> previous_bytes;  // the 5 bytes at jump_at now
  std::vector<uint8_t> displaced;       // the bytes from jump_at on that a gate displaces
  bool never_returns = false;
};

std::vector<RemoteRange> ColdParts(const Module& module, const elf::ElfFile& elf,
                                   const bundle::ReplacedFunction& f) {
  // GCC moves unlikely blocks of f into f.cold (-freorder-blocks-and-partition); a thread there
  // is inside f.
  std::vector<RemoteRange> parts;
  for (const auto* s : elf.FindSymbols(f.name + ".cold")) {
    if (s->dynamic || (!f.source_file.empty() && !s->source_file.empty() &&
                       s->source_file != f.source_file))
      continue;
    RemotePtr begin = module.load_bias + static_cast<int64_t>(s->value);
    parts.push_back({begin, begin + static_cast<int64_t>(std::max<uint64_t>(s->size, 1))});
  }
  return parts;
}

// The newest registry record that patched the function at `entry`, and the oldest (which saved
// the original bytes).
struct EarlierPatches {
  const PatchRecord* newest_record = nullptr;
  const PatchedFunction* newest = nullptr;
  const PatchedFunction* oldest = nullptr;
};

EarlierPatches FindEarlierPatches(const std::vector<PatchRecord>& applied, RemotePtr entry) {
  EarlierPatches found;
  for (const auto& record : applied)
    for (const auto& f : record.functions)
      if (f.entry == entry) {
        if (!found.oldest) found.oldest = &f;
        found.newest = &f;
        found.newest_record = &record;
      }
  return found;
}

// Ksplice's "run-pre" check: the bytes in the target are the bytes the bundle was built against,
// or exactly what earlier patches left there.
TargetFunction CheckTargetFunction(const bundle::ReplacedFunction& f, const Module& module,
                                   const elf::ElfFile& elf, const RemoteMemory& memory,
                                   const std::vector<PatchRecord>& applied) {
  TargetFunction t;
  t.replaced = &f;
  t.entry = module.load_bias + static_cast<int64_t>(f.target_offset);
  std::string where = "function " + f.name + " at " + t.entry.ToString() + " in pid " +
                      std::to_string(memory.pid());
  // The function plus what follows it: a function shorter than the entry jump (`lea; ret` is 4
  // bytes) can still be patched when the jump runs on into the nop/int3 fill after it.
  auto bytes = memory.Read(t.entry, f.target_size);
  bytes.resize(f.target_size + kFillWindow);
  bytes.resize(f.target_size + memory.TryRead(t.entry + static_cast<int64_t>(f.target_size),
                                               std::span(bytes).subspan(f.target_size)));
  auto earlier = FindEarlierPatches(applied, t.entry);
  if (earlier.newest) {
    auto expected_now = EntryBytes(*earlier.newest, EntryTarget::kReplacement);
    size_t at = earlier.newest->jump_at - t.entry;
    if (at + 5 > bytes.size() || !std::equal(expected_now.begin(), expected_now.end(), bytes.begin() + at))
      throw Error(ErrorCode::kMismatch, where + ": its entry is not what patch " +
                                            earlier.newest_record->patch_id + " left there");
    // Reconstruct the original bytes under the jumps.
    std::copy(earlier.oldest->previous_bytes.begin(), earlier.oldest->previous_bytes.end(),
              bytes.begin() + (earlier.oldest->jump_at - t.entry));
  }
  auto digest = Sha256(std::span(bytes).first(f.target_size));
  if (digest != f.expected_sha256)
    throw Error(ErrorCode::kMismatch,
                where + ": its bytes differ from those the bundle was built against (expected sha256 " +
                    HexDigits(f.expected_sha256) + ", found " + HexDigits(digest) + ")");

  t.cold_parts = ColdParts(module, elf, f);
  std::vector<std::vector<uint8_t>> cold_bytes;
  std::vector<x86_64::FunctionPart> other_parts;
  for (const auto& c : t.cold_parts) cold_bytes.push_back(memory.Read(c.begin, c.size()));
  for (size_t i = 0; i < cold_bytes.size(); ++i)
    other_parts.push_back({cold_bytes[i], t.cold_parts[i].begin});
  size_t fill = TrailingFill(bytes, f.target_size, t.entry, module, elf);
  t.jump_at = x86_64::AnalyzeEntry(f.name, std::span(bytes).first(f.target_size + fill), t.entry,
                                   other_parts)
                  .jump_at;
  // A loop can run through .cold (GCC moves its unlikely blocks there), and a jump from the hot
  // part into .cold is not a way out of the function: decode every part together.
  try {
    auto instructions = x86_64::DecodeFunction(std::span(bytes).first(f.target_size), t.entry);
    for (const auto& [code, address] : other_parts) {
      auto cold = x86_64::DecodeFunction(code, address);
      instructions.insert(instructions.end(), cold.begin(), cold.end());
    }
    t.never_returns = !x86_64::HasReturnPath(instructions);
  } catch (const Error&) {
    t.never_returns = false;  // undecodable data in code: make no claim
  }
  // What the gate displaces is what is there now (an earlier patch's jump, or the original).
  t.displaced = memory.Read(t.jump_at, 32);
  t.previous_bytes.assign(t.displaced.begin(), t.displaced.begin() + 5);
  return t;
}

std::vector<ImageSection> ImageSections(const bundle::Bundle& b) {
  std::vector<ImageSection> sections;
  for (const auto& s : b.sections) {
    ImageSection image{s.name, s.bytes, s.size(), s.alignment,
                       (s.flags & SHF_EXECINSTR) != 0, (s.flags & SHF_WRITE) != 0, {}};
    for (const auto& r : s.relocations)
      image.relocations.push_back({r.offset, r.type, r.symbol, r.addend});
    sections.push_back(std::move(image));
  }
  return sections;
}

// One stop without a safety check, for what needs remote syscalls or a roll-back.
void RunStopped(ProcessAttachment& process, bool scheduling_boost, QuiescenceStats& stats,
                PauseBreakdown& breakdown, const std::function<void()>& fn) {
  ScopedTracerPriority tracer_priority(scheduling_boost);
  ActionStopTimer timer(process, nullptr);
  ++stats.attempts;
  // An error inside an earlier stop may have left the process stopped; roll-back reuses it.
  if (!process.stopped()) process.StopAll();
  timer.ActionBegins();
  fn();
  timer.ActionEnds();
  process.ResumeAll();
  stats.pause_us += static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(process.last_pause()).count());
  timer.StopEnded(breakdown);
}

}  // namespace

static ApplyResult ApplyOnTracerThread(pid_t pid, std::span<const uint8_t> bundle_bytes,
                                       const ApplyOptions& options) {
  auto deadline = std::chrono::steady_clock::now() + options.timeout;
  bundle::Bundle b = bundle::ReadBundle(bundle_bytes);
  std::string checksum = bundle::ChecksumHex(bundle::BundleChecksum(bundle_bytes));

  // Identity, before anything is stopped.
  RemoteMemory memory(pid);
  auto modules = ReadModules(pid);
  std::string build_id = HexDigits(b.target_build_id);
  const Module* found = FindModuleByBuildId(modules, build_id);
  if (!found) {
    std::string seen;
    for (const auto& m : modules)
      if (m.path.ends_with("/" + b.target_module) || m.path == b.target_module)
        seen += " " + m.path + " has build-id " + (m.build_id_hex.empty() ? "(none)" : m.build_id_hex) + ";";
    throw Error(ErrorCode::kMismatch, "bundle " + b.patch_id + " targets " + b.target_module +
                                          " with build-id " + build_id + ", which pid " +
                                          std::to_string(pid) + " does not map;" +
                                          (seen.empty() ? " no module of that name is mapped" : seen));
  }
  const Module module = *found;
  elf::ElfFile module_elf = OpenModuleElf(pid, module);

  ApplyResult result;
  result.patch_id = b.patch_id;
  result.pid = pid;
  for (const auto& f : b.replaced) result.functions.push_back(f.name);

  auto registry = TargetRegistry::TryOpen(pid, memory);
  if (registry) {
    for (const auto& p : registry->patches()) {
      if (p.patch_id != b.patch_id) continue;
      if (p.checksum_hex != checksum)
        throw Error(ErrorCode::kMismatch, "pid " + std::to_string(pid) + " already has a different patch with id " +
                                              b.patch_id + " (checksum " + p.checksum_hex + ")");
      if (p.state == PatchState::kApplied) {
        result.already_applied = true;
        result.placement = p.placement;
        return result;
      }
    }
  }

  ProcessAttachment process = ProcessAttachment::Seize(pid);
  process.set_boost_while_stopping(options.scheduling_boost);
  StackWalker walker(pid, process.memory());
  QuiescenceStats stats;
  if (registry && NeedsRecovery(*registry)) {
    ScopedTracerPriority tracer_priority(options.scheduling_boost);
    RecoverInterrupted(process, walker, *registry, deadline, stats);
    for (const auto& p : registry->patches())
      if (p.patch_id == b.patch_id && p.checksum_hex == checksum) {
        result.already_applied = true;
        result.placement = p.placement;
        return result;
      }
  }
  std::vector<PatchRecord> applied = registry ? registry->patches() : std::vector<PatchRecord>{};
  for (const auto& p : applied) AddPatchCodeToWalker(walker, p);

  std::vector<TargetFunction> functions;
  for (const auto& f : b.replaced)
    functions.push_back(CheckTargetFunction(f, module, module_elf, memory, applied));

  // Link layout and placement, still with the target running.
  TargetSymbols symbols(pid, module, module_elf, modules);
  std::vector<ResolvedSymbol> resolved = symbols.Resolve(b);
  std::vector<ImageSection> sections = ImageSections(b);
  PatchLayout layout = ComputePatchLayout(sections, resolved);
  uint64_t code_alignment = std::max<uint64_t>(layout.code_alignment, 16);
  uint64_t image_offset = AlignUp(kCommitFlagSize + functions.size() * kEntryGateSize, code_alignment);
  PlacementNeeds needs{image_offset + layout.code_size, code_alignment, layout.data_size,
                       std::max<uint64_t>(layout.data_alignment, 16)};
  // The patch code's CFI: its .eh_frame_hdr goes after the image (patch_cfi.h).
  std::optional<size_t> eh_frame_section;
  uint64_t eh_frame_hdr_offset = 0;
  for (size_t i = 0; i < sections.size(); ++i)
    if (sections[i].name == bundle::kEhFrameSectionName) eh_frame_section = i;
  if (eh_frame_section) {
    size_t fde_count = 0;
    for (const auto& record : bundle::ParseCarriedEhFrame(sections[*eh_frame_section].bytes))
      fde_count += record.is_cie ? 0 : 1;
    eh_frame_hdr_offset = AlignUp(needs.code_size, kEhFrameHdrAlignment);
    needs.code_size = eh_frame_hdr_offset + EhFrameHdrSize(fde_count);
  }
  bundle::Placement wanted = options.placement;
  PlacementChoice choice;
  if (wanted == bundle::Placement::kAuto && b.preferred_placement != bundle::Placement::kAuto) {
    try {
      choice = ChoosePlacement(b.preferred_placement, needs, module, module_elf, memory, applied);
    } catch (const Error&) {
      choice = ChoosePlacement(bundle::Placement::kAuto, needs, module, module_elf, memory, applied);
    }
  } else {
    choice = ChoosePlacement(wanted, needs, module, module_elf, memory, applied);
  }
  result.placement = bundle::PlacementName(choice.kind);

  PatchRecord record;
  record.patch_id = b.patch_id;
  record.description = b.description;
  record.checksum_hex = checksum;
  record.module_path = module.path;
  record.build_id_hex = module.build_id_hex;
  record.load_bias = module.load_bias;
  record.placement = result.placement;
  record.state = PatchState::kPrepared;
  record.applied_at_unix_us = NowUnixMicros();

  // Mappings and the registry need remote syscalls, hence one short stop without a safety
  // check: nothing reachable changes in it.
  if (choice.map_code || choice.map_data || !registry) {
    RunStopped(process, options.scheduling_boost, stats, result.pause_breakdown, [&] {
      if (!registry) registry = TargetRegistry::OpenOrCreate(process);
      if (choice.map_code) {
        choice.code = CreateNamedMapping(process, "hotpatch:" + b.patch_id + ":code", needs.code_size,
                                         PROT_READ | PROT_EXEC, Rel32Window(module.range));
        record.own_mappings.push_back(choice.code);
      }
      if (choice.map_data) {
        choice.data = CreateNamedMapping(process, "hotpatch:" + b.patch_id + ":data", needs.data_size,
                                         PROT_READ | PROT_WRITE, Rel32Window(choice.code));
        record.own_mappings.push_back(choice.data);
      }
    });
  }
  record.code = choice.code;
  record.data = choice.data;
  record.commit_flag = choice.code.begin;

  // Rolls back everything prepared so far; the record may or may not be in the registry yet.
  // Set in the flip stop before the first entry is written: until then, nothing the target's code
  // can reach has changed.
  bool entries_touched = false;
  auto roll_back = [&](const std::string& why) -> std::string {
    try {
      if (!entries_touched && record.own_mappings.empty()) {
        // The placement's bytes and the registry record are unreachable: restored while the target
        // runs, which also works when it cannot be stopped at all (a thread in an uninterruptible
        // sleep, the usual reason the flip stop failed). Only munmap would need a stop.
        ForgetPatch(process, *registry, record);
        return why;
      }
      PauseBreakdown ignored;
      RunStopped(process, options.scheduling_boost, stats, ignored, [&] {
        FlipWrites writes(process.memory());
        if (ReadCommitFlag(process.memory(), record)) SetCommitFlag(writes, record, false);
        PointEntries(writes, record, EntryTarget::kPrevious);
        writes.VerifyAll();
        ForgetPatch(process, *registry, record);
      });
      return why;
    } catch (const Error& e) {
      return why + " (and rolling back failed: " + e.what() + ")";
    }
  };

  try {
    PatchImage image = LinkPatchImage(sections, resolved, choice.code.begin + static_cast<int64_t>(image_offset),
                                      choice.data.begin);
    std::vector<uint8_t> code(needs.code_size, 0xcc);
    std::fill(code.begin(), code.begin() + kCommitFlagSize, 0);  // commit flag = 0: not applied
    for (size_t i = 0; i < functions.size(); ++i) {
      const auto& t = functions[i];
      const auto& symbol = b.symbols[t.replaced->replacement_symbol];
      PatchedFunction f;
      f.name = t.replaced->name;
      f.entry = t.entry;
      f.size = t.replaced->target_size;
      f.cold_parts = t.cold_parts;
      f.jump_at = t.jump_at;
      f.previous_bytes = t.previous_bytes;
      f.gate = choice.code.begin + static_cast<int64_t>(kCommitFlagSize + i * kEntryGateSize);
      f.replacement = image.section_addresses[symbol.section] + static_cast<int64_t>(symbol.value);
      auto gate = BuildEntryGate(f.gate, record.commit_flag, f.replacement, f.jump_at, t.displaced);
      std::copy(gate.begin(), gate.end(), code.begin() + (f.gate - choice.code.begin));
      record.functions.push_back(std::move(f));
    }
    std::copy(image.code.begin(), image.code.end(), code.begin() + image_offset);
    record.call_stubs = {image.code_base + static_cast<int64_t>(layout.stubs_offset),
                         image.code_base + static_cast<int64_t>(layout.code_size)};
    if (eh_frame_section) {
      const PatchLayout::Placement& placed = layout.sections[*eh_frame_section];
      auto linked = std::span<const uint8_t>(image.code).subspan(
          placed.offset, sections[*eh_frame_section].bytes.size());
      record.eh_frame_hdr = choice.code.begin + static_cast<int64_t>(eh_frame_hdr_offset);
      PatchCfi cfi = BuildPatchCfi(linked, image.section_addresses[*eh_frame_section],
                                   record.eh_frame_hdr);
      std::copy(cfi.eh_frame_hdr.begin(), cfi.eh_frame_hdr.end(), code.begin() + eh_frame_hdr_offset);
      record.cfi_ranges = std::move(cfi.covered);
    }

    if (choice.kind != bundle::Placement::kMapping) {
      record.saved_areas.push_back({choice.code.begin, memory.Read(choice.code.begin, code.size())});
      if (!image.data.empty())
        record.saved_areas.push_back({choice.data.begin, memory.Read(choice.data.begin, image.data.size())});
    }
    // Unreachable until the flip: written while the target runs.
    std::vector<PatchRecord> with = registry->patches();
    with.push_back(record);
    registry->Commit(memory, with);
    WriteAndVerify(memory, choice.code.begin, code);
    if (!image.data.empty()) WriteAndVerify(memory, choice.data.begin, image.data);
    FaultInjectionPoint("apply-prepared");

    std::vector<GuardedCode> guarded;
    for (const auto& t : functions) {
      guarded.push_back({{t.entry, t.entry + static_cast<int64_t>(t.replaced->target_size)},
                         t.replaced->name, t.never_returns});
      for (const auto& c : t.cold_parts) guarded.push_back({c, t.replaced->name + ".cold", false});
    }
    walker.LearnModulesWhileRunning();
    ScopedTracerPriority tracer_priority(options.scheduling_boost);
    ActionStopTimer timer(process, &walker);
    RunWhenQuiescent(process, walker, guarded, deadline, "apply " + b.patch_id, [&] {
      timer.ActionBegins();
      FaultInjectionPoint("apply-stopped");
      entries_touched = true;
      FlipWrites writes(process.memory());
      PointEntries(writes, record, EntryTarget::kGate, [] { FaultInjectionPoint("apply-mid-flip"); });
      SetCommitFlag(writes, record, true);
      FaultInjectionPoint("apply-committed");
      PointEntries(writes, record, EntryTarget::kReplacement);
      writes.VerifyAll();
      timer.ActionEnds();
    }, stats);
    timer.StopEnded(result.pause_breakdown);
  } catch (const Error& e) {
    std::string message = roll_back(e.what());
    throw Error(e.code(), message);
  }
  // The registry learns "applied" after the resume: until then it says "prepared" with the commit
  // flag set, which the next engine reads as committed and finishes (RecoverInterrupted). No
  // roll-back from here on: the target may already run the replacement.
  record.state = PatchState::kApplied;
  std::vector<PatchRecord> now = registry->patches();
  for (auto& p : now)
    if (p.patch_id == record.patch_id) p = record;
  try {
    registry->Commit(memory, now);
  } catch (const Error& e) {
    throw Error(e.code(), "pid " + std::to_string(pid) + ": patch " + record.patch_id +
                              " is applied, but recording it failed (the next engine call "
                              "records it): " + e.what());
  }
  FaultInjectionPoint("apply-recorded");
  // The flip's stop was the last: the kernel lets the threads go when this tracer thread ends
  // (or, if one still needs us, the destructor stops and detaches as on every error path).
  process.LeaveToTracerThreadExit();
  result.attempts = stats.attempts;
  result.pause_us = stats.pause_us;
  return result;
}

ApplyResult ApplyBundle(pid_t pid, std::span<const uint8_t> bundle_bytes, const ApplyOptions& options) {
  return RunOnOwnTracerThread([&] { return ApplyOnTracerThread(pid, bundle_bytes, options); });
}

}  // namespace hotpatch
