#include "unwind/cfi_address_space.h"

#include <algorithm>

#include "base/error.h"
#include "process/maps.h"

// Exported by libunwind-x86_64 (1.6.2) but not declared in its headers: the binary search of an
// .eh_frame_hdr table, which _UPT_find_proc_info also ends in. With UNW_INFO_FORMAT_REMOTE_TABLE
// it reads the table and the FDEs through our access_mem, so nothing is read from files.
extern "C" int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t address_space, unw_word_t ip,
                                                  unw_dyn_info_t* table, unw_proc_info_t* info,
                                                  int need_unwind_info, void* arg);

namespace hotpatch::unwind {

namespace {

WalkContext& ContextOf(void* arg) {
  return *static_cast<WalkContext*>(arg);
}

int FindProcInfoAccessor(unw_addr_space_t, unw_word_t ip, unw_proc_info_t* info,
                         int need_unwind_info, void* arg) {
  WalkContext& context = ContextOf(arg);
  return context.space->FindProcInfo(ip, info, need_unwind_info, &context);
}

// dwarf_search_unwind_table returns unwind info of format UNW_INFO_FORMAT_TABLE, which libunwind
// allocates and frees itself (Gparser.c put_unwind_info); it only calls this for dynamic info,
// which we never return.
void PutUnwindInfoAccessor(unw_addr_space_t, unw_proc_info_t*, void*) {}

// No target registers JIT code with libunwind's _U_dyn_register; patch code is declared to the
// walker directly (AddCodeRange...).
int GetDynInfoListAddrAccessor(unw_addr_space_t, unw_word_t*, void*) {
  return -UNW_ENOINFO;
}

int AccessMemAccessor(unw_addr_space_t, unw_word_t address, unw_word_t* value, int write,
                      void* arg) {
  // Walking a stack must never change the target.
  if (write) return -UNW_EINVAL;
  auto word = ContextOf(arg).space->memory().TryReadWord(RemotePtr(address));
  if (!word) return -UNW_EINVAL;
  *value = *word;
  return 0;
}

int AccessRegAccessor(unw_addr_space_t, unw_regnum_t reg, unw_word_t* value, int write, void* arg) {
  if (write) return -UNW_EREADONLYREG;
  const user_regs_struct& regs = ContextOf(arg).regs;
  switch (reg) {
    case UNW_X86_64_RAX:
      *value = regs.rax;
      return 0;
    case UNW_X86_64_RDX:
      *value = regs.rdx;
      return 0;
    case UNW_X86_64_RCX:
      *value = regs.rcx;
      return 0;
    case UNW_X86_64_RBX:
      *value = regs.rbx;
      return 0;
    case UNW_X86_64_RSI:
      *value = regs.rsi;
      return 0;
    case UNW_X86_64_RDI:
      *value = regs.rdi;
      return 0;
    case UNW_X86_64_RBP:
      *value = regs.rbp;
      return 0;
    case UNW_X86_64_RSP:
      *value = regs.rsp;
      return 0;
    case UNW_X86_64_R8:
      *value = regs.r8;
      return 0;
    case UNW_X86_64_R9:
      *value = regs.r9;
      return 0;
    case UNW_X86_64_R10:
      *value = regs.r10;
      return 0;
    case UNW_X86_64_R11:
      *value = regs.r11;
      return 0;
    case UNW_X86_64_R12:
      *value = regs.r12;
      return 0;
    case UNW_X86_64_R13:
      *value = regs.r13;
      return 0;
    case UNW_X86_64_R14:
      *value = regs.r14;
      return 0;
    case UNW_X86_64_R15:
      *value = regs.r15;
      return 0;
    case UNW_X86_64_RIP:
      *value = regs.rip;
      return 0;
  }
  return -UNW_EBADREG;
}

// CFI on x86-64 never restores floating-point registers to find a caller.
int AccessFpregAccessor(unw_addr_space_t, unw_regnum_t, unw_fpreg_t*, int, void*) {
  return -UNW_EBADREG;
}

int ResumeAccessor(unw_addr_space_t, unw_cursor_t*, void*) {
  return -UNW_EINVAL;
}

unw_accessors_t accessors = {
    .find_proc_info = FindProcInfoAccessor,
    .put_unwind_info = PutUnwindInfoAccessor,
    .get_dyn_info_list_addr = GetDynInfoListAddrAccessor,
    .access_mem = AccessMemAccessor,
    .access_reg = AccessRegAccessor,
    .access_fpreg = AccessFpregAccessor,
    .resume = ResumeAccessor,
    .get_proc_name = nullptr,
};

const RemoteRange* RangeContaining(const std::vector<RemoteRange>& ranges, uint64_t pc) {
  for (const RemoteRange& range : ranges)
    if (range.contains(RemotePtr(pc))) return &range;
  return nullptr;
}

}  // namespace

CfiAddressSpace::CfiAddressSpace(pid_t pid, const RemoteMemory& memory)
    : pid_(pid), memory_(memory) {
  address_space_ = unw_create_addr_space(&accessors, 0);
  if (address_space_ == nullptr)
    throw Error(ErrorCode::kInternal,
                "libunwind could not create an address space for pid " + std::to_string(pid));
  // UNW_CACHE_PER_THREAD keeps one thread-local cache keyed by pc alone, shared by every address
  // space: two walkers for two processes on one daemon thread would read each other's CFI.
  // The global policy caches per address space (behind a lock we never contend).
  unw_set_caching_policy(address_space_, UNW_CACHE_GLOBAL);
}

CfiAddressSpace::~CfiAddressSpace() {
  unw_destroy_addr_space(address_space_);
}

void CfiAddressSpace::ScanMappings(const std::vector<Mapping>& mappings) {
  std::vector<Mapping> code_mappings = CodeMappings(mappings);
  // The headers and tables are read only when code was mapped or unmapped: reading libc's CFI
  // search table alone is dozens of pages.
  if (!modules_.empty() && SameCodeMappings(code_mappings, code_mappings_)) return;
  std::vector<CodeModule> modules = FindCodeModules(mappings, memory_);
  // libunwind caches register rules by pc; they stay true while the same objects are mapped at
  // the same addresses, and are wrong once dlclose/dlopen put other code there.
  if (modules != modules_) unw_flush_cache(address_space_, 0, 0);
  modules_ = std::move(modules);
  code_mappings_ = std::move(code_mappings);
  KeepCfiRegionsLasting();
}

void CfiAddressSpace::KeepCfiRegionsLasting() {
  memory_.ForgetLasting();
  for (const CodeModule& module : modules_) {
    if (!module.has_cfi) continue;
    for (const Mapping& mapping : code_mappings_) {
      if (!mapping.range.contains(module.cfi.section)) continue;
      // Only what no code of the target can write and the engine never writes: read-only file
      // mappings (.eh_frame_hdr and .eh_frame sit in the read-only segment after the code with
      // GNU ld's -z separate-code, the default since binutils 2.31) and the vDSO. CFI inside a
      // writable or patched executable segment is read anew in every stop.
      bool lasting = !mapping.writable && (!mapping.executable || mapping.path == "[vdso]");
      if (!lasting) break;
      RemotePtr begin(module.cfi.section.value() & ~(StopMemoryCache::kPageSize - 1));
      // .eh_frame follows .eh_frame_hdr in the same segment; 8 MiB bounds a hostile header.
      RemotePtr end = std::min(mapping.range.end, begin + static_cast<int64_t>(8 << 20));
      memory_.KeepLasting({begin, end});
      break;
    }
  }
}

void CfiAddressSpace::LearnModules() {
  if (!mapping_query_) mapping_query_.emplace(pid_);
  ++maps_reads_;
  ScanMappings(ReadMappings(pid_));
}

void CfiAddressSpace::EnsureModulesKnown() {
  if (modules_known_) return;
  confirmed_.clear();
  confirming_by_query_ = !modules_.empty() && mapping_query_ && mapping_query_->supported();
  if (!confirming_by_query_) LearnModules();
  added_modules_.clear();
  for (const EhFrameHdrRange& added : eh_frame_hdr_ranges_) {
    CodeModule module;
    module.name = "patch code at " + added.range.begin.ToString();
    module.code = {added.range};
    module.has_cfi =
        ReadEhFrameSearchTable(memory_, added.eh_frame_hdr, &module.cfi, &module.cfi_problem);
    added_modules_.push_back(std::move(module));
  }
  modules_known_ = true;
}

void CfiAddressSpace::ForgetCachedMemory() {
  memory_.Clear();
  modules_known_ = false;
}

bool CfiAddressSpace::ConfirmStillMapped(uint64_t pc) {
  for (const RemoteRange& range : confirmed_)
    if (range.contains(RemotePtr(pc))) return true;
  std::optional<Mapping> now = mapping_query_->TryFind(RemotePtr(pc));
  if (!now) return false;
  for (const Mapping& learned : code_mappings_) {
    if (!learned.range.contains(RemotePtr(pc))) continue;
    if (!SameMappingIgnoringPath(*now, learned)) return false;
    confirmed_.push_back(now->range);
    return true;
  }
  return false;
}

CodeLocation CfiAddressSpace::LocateVerified(uint64_t pc) {
  CodeLocation location = Locate(pc);
  if (!confirming_by_query_ || location.cfi_free_rule) return location;
  bool learned_module = location.module != nullptr && location.module >= modules_.data() &&
                        location.module < modules_.data() + modules_.size();
  if (location.module != nullptr && !learned_module) return location;  // patch code, ours
  if (learned_module && ConfirmStillMapped(pc)) return location;
  // In no code we learned of (a library loaded since), or its mapping changed: what
  // EnsureModulesKnown does without queries, for the rest of this stop.
  confirming_by_query_ = false;
  LearnModules();
  return Locate(pc);
}

CodeLocation CfiAddressSpace::Locate(uint64_t pc) const {
  CodeLocation location;
  for (const CfiFreeRange& cfi_free : cfi_free_ranges_)
    if (cfi_free.range.contains(RemotePtr(pc))) {
      location.cfi_free_rule = cfi_free.rule;
      return location;
    }
  for (const auto* modules : {&added_modules_, &modules_})
    for (const CodeModule& module : *modules)
      if (RangeContaining(module.code, pc) != nullptr) {
        location.module = &module;
        return location;
      }
  return location;
}

int CfiAddressSpace::FindProcInfo(uint64_t ip, unw_proc_info_t* info, int need_unwind_info,
                                  WalkContext* context) {
  CodeLocation location = Locate(ip);
  const RemoteRange* range =
      location.module != nullptr ? RangeContaining(location.module->code, ip) : nullptr;
  if (range == nullptr || !location.module->has_cfi) {
    context->cfi_missing = true;
    context->cfi_missing_pc = ip;
    return -UNW_ENOINFO;
  }
  const EhFrameSearchTable& cfi = location.module->cfi;
  unw_dyn_info_t table{};
  table.format = UNW_INFO_FORMAT_REMOTE_TABLE;
  // dwarf_search_unwind_table asserts start_ip <= ip < end_ip.
  table.start_ip = range->begin.value();
  table.end_ip = range->end.value();
  // Entries are DW_EH_PE_datarel: offsets from the .eh_frame_hdr section itself.
  table.u.rti.segbase = cfi.section.value();
  table.u.rti.table_data = cfi.entries.value();
  // In words; one entry is two int32, one word.
  table.u.rti.table_len = cfi.fde_count * 8 / sizeof(unw_word_t);
  int result = UNW_OBJ(dwarf_search_unwind_table)(address_space_, ip, &table, info,
                                                  need_unwind_info, context);
  if (result < 0) {
    context->cfi_missing = true;
    context->cfi_missing_pc = ip;
  }
  return result;
}

void CfiAddressSpace::AddCfiFreeRange(RemoteRange range, CfiFreeRule rule) {
  cfi_free_ranges_.push_back({range, rule});
  unw_flush_cache(address_space_, range.begin.value(), range.end.value());
}

void CfiAddressSpace::AddEhFrameHdrRange(RemoteRange range, RemotePtr eh_frame_hdr) {
  eh_frame_hdr_ranges_.push_back({range, eh_frame_hdr});
  unw_flush_cache(address_space_, range.begin.value(), range.end.value());
  modules_known_ = false;
}

void CfiAddressSpace::RemoveRange(RemoteRange range) {
  std::erase_if(cfi_free_ranges_, [&](const CfiFreeRange& r) { return r.range == range; });
  std::erase_if(eh_frame_hdr_ranges_, [&](const EhFrameHdrRange& r) { return r.range == range; });
  unw_flush_cache(address_space_, range.begin.value(), range.end.value());
  modules_known_ = false;
}

}  // namespace hotpatch::unwind
