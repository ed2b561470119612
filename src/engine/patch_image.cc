#include "engine/patch_image.h"

#include <algorithm>
#include <bit>
#include <span>

#include "base/error.h"
#include "base/hex.h"
#include "engine/got_table.h"
#include "engine/relocation.h"

namespace hotpatch {
namespace {

// int3: gaps between code sections trap instead of sliding into the next function.
constexpr uint8_t kCodePadding = 0xcc;

struct LinkPlan {
  PatchLayout layout;
  GotTable got;
};

uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

// ELF: sh_addralign 0 and 1 both mean no constraint; otherwise it is a power of two.
uint64_t EffectiveAlignment(const ImageSection& section) {
  if (section.alignment <= 1) return 1;
  if (!std::has_single_bit(section.alignment))
    throw Error(ErrorCode::kBadBundle, "section " + section.name + " has alignment " +
                                           Hex(section.alignment) + ", not a power of two");
  return section.alignment;
}

void CheckSection(const ImageSection& section) {
  if (section.bytes.size() > section.size)
    throw Error(ErrorCode::kBadBundle, "section " + section.name + " has " +
                                           std::to_string(section.bytes.size()) +
                                           " bytes but a size of " + std::to_string(section.size));
  if (section.executable && section.writable)
    throw Error(ErrorCode::kUnsupported,
                "section " + section.name + " is both writable and executable");
  // SHF_TLS sections would need a new block in every thread's static TLS area, which is sized
  // when the thread starts.
  if (section.name.starts_with(".tdata") || section.name.starts_with(".tbss"))
    throw Error(ErrorCode::kUnsupported,
                "section " + section.name +
                    " defines thread-locals; a patch can only use the target executable's");
}

std::string_view SymbolName(const ResolvedSymbol& symbol,
                            const std::vector<ImageSection>& sections) {
  // Section symbols (STT_SECTION) usually have no name; the section's is the useful one.
  if (symbol.name.empty() && symbol.kind == ResolvedSymbol::kInImage &&
      symbol.section < sections.size())
    return sections[symbol.section].name;
  return symbol.name;
}

const ResolvedSymbol& SymbolOf(const ImageSection& section, const ImageRelocation& relocation,
                               const std::vector<ImageSection>& sections,
                               const std::vector<ResolvedSymbol>& symbols) {
  if (relocation.symbol >= symbols.size())
    throw Error(ErrorCode::kBadBundle, "relocation " + RelocationTypeName(relocation.type) +
                                           " at " + section.name + "+" + Hex(relocation.offset) +
                                           " names symbol #" + std::to_string(relocation.symbol) +
                                           " of " + std::to_string(symbols.size()));
  const ResolvedSymbol& symbol = symbols[relocation.symbol];
  if (symbol.kind == ResolvedSymbol::kInImage && symbol.section >= sections.size())
    throw Error(ErrorCode::kBadBundle, "symbol " + symbol.name + " is defined in section #" +
                                           std::to_string(symbol.section) + " of " +
                                           std::to_string(sections.size()));
  return symbol;
}

RelocationSite SiteOf(const ImageSection& section, const ImageRelocation& relocation,
                      const ResolvedSymbol& symbol, const std::vector<ImageSection>& sections) {
  return RelocationSite{.type = relocation.type,
                        .section = section.name,
                        .offset = relocation.offset,
                        .symbol = SymbolName(symbol, sections)};
}

LinkPlan PlanLink(const std::vector<ImageSection>& sections,
                  const std::vector<ResolvedSymbol>& symbols) {
  LinkPlan plan;
  PatchLayout& layout = plan.layout;
  layout.sections.resize(sections.size());

  auto place = [&](size_t index, bool in_code_area) {
    const ImageSection& section = sections[index];
    uint64_t alignment = EffectiveAlignment(section);
    uint64_t& size = in_code_area ? layout.code_size : layout.data_size;
    uint64_t& area_alignment = in_code_area ? layout.code_alignment : layout.data_alignment;
    size = AlignUp(size, alignment);
    layout.sections[index] = {.in_code_area = in_code_area, .offset = size};
    size += section.size;
    area_alignment = std::max(area_alignment, alignment);
  };
  for (const ImageSection& section : sections) CheckSection(section);
  // Code first so that functions sit together, then constants, as ld's default script does.
  for (size_t i = 0; i < sections.size(); ++i)
    if (sections[i].executable) place(i, true);
  for (size_t i = 0; i < sections.size(); ++i)
    if (!sections[i].executable && !sections[i].writable) place(i, true);
  for (size_t i = 0; i < sections.size(); ++i)
    if (sections[i].writable) place(i, false);

  for (const ImageSection& section : sections) {
    for (const ImageRelocation& relocation : section.relocations) {
      const ResolvedSymbol& symbol = SymbolOf(section, relocation, sections, symbols);
      RelocationSite site = SiteOf(section, relocation, symbol, sections);
      RelocationNeed need = ClassifyRelocation(site, symbol.kind);
      uint64_t width = RelocationFieldSize(relocation.type);
      if (relocation.offset > section.bytes.size() ||
          section.bytes.size() - relocation.offset < width)
        throw Error(ErrorCode::kBadBundle, site.Describe() +
                                               ": the place is outside the section's " +
                                               std::to_string(section.bytes.size()) + " bytes");
      if (need == RelocationNeed::kGotSlot) plan.got.RequireSlot(relocation.symbol);
      if (need == RelocationNeed::kCallStub) plan.got.RequireStub(relocation.symbol);
    }
  }

  if (plan.got.size() > 0) {
    layout.code_size = AlignUp(layout.code_size, GotTable::kAlignment);
    layout.code_alignment = std::max(layout.code_alignment, GotTable::kAlignment);
  }
  layout.got_offset = layout.code_size;
  layout.stubs_offset = layout.got_offset + plan.got.slots_size();
  layout.code_size += plan.got.size();
  return plan;
}

void CheckBase(std::string_view area, RemotePtr base, uint64_t alignment) {
  if (base.value() % alignment != 0)
    throw Error(ErrorCode::kBadRequest, std::string(area) + " area at " + base.ToString() +
                                            " is not aligned to " + Hex(alignment) +
                                            " as its sections require");
}

}  // namespace

PatchLayout ComputePatchLayout(const std::vector<ImageSection>& sections,
                               const std::vector<ResolvedSymbol>& symbols) {
  return PlanLink(sections, symbols).layout;
}

size_t ComputeCodeSize(const std::vector<ImageSection>& sections,
                       const std::vector<ResolvedSymbol>& symbols) {
  return ComputePatchLayout(sections, symbols).code_size;
}

size_t ComputeDataSize(const std::vector<ImageSection>& sections,
                       const std::vector<ResolvedSymbol>& symbols) {
  return ComputePatchLayout(sections, symbols).data_size;
}

PatchImage LinkPatchImage(const std::vector<ImageSection>& sections,
                          const std::vector<ResolvedSymbol>& symbols, RemotePtr code_base,
                          RemotePtr data_base) {
  const LinkPlan plan = PlanLink(sections, symbols);
  const PatchLayout& layout = plan.layout;
  if (layout.code_size > 0) CheckBase("code", code_base, layout.code_alignment);
  if (layout.data_size > 0) CheckBase("data", data_base, layout.data_alignment);
  RemoteRange code_range{code_base, code_base + int64_t(layout.code_size)};
  RemoteRange data_range{data_base, data_base + int64_t(layout.data_size)};
  if (layout.code_size > 0 && layout.data_size > 0 && code_range.overlaps(data_range))
    throw Error(ErrorCode::kBadRequest, "code area " + code_range.begin.ToString() + "-" +
                                            code_range.end.ToString() + " overlaps data area " +
                                            data_range.begin.ToString() + "-" +
                                            data_range.end.ToString());

  PatchImage image{.code_base = code_base,
                   .code = std::vector<uint8_t>(layout.code_size, kCodePadding),
                   .data_base = data_base,
                   .data = std::vector<uint8_t>(layout.data_size, 0),
                   .section_addresses = {}};
  auto area_bytes = [&](const PatchLayout::Placement& placement) {
    return std::span<uint8_t>(placement.in_code_area ? image.code : image.data)
        .subspan(placement.offset);
  };

  for (size_t i = 0; i < sections.size(); ++i) {
    const PatchLayout::Placement& placement = layout.sections[i];
    image.section_addresses.push_back((placement.in_code_area ? code_base : data_base) +
                                      int64_t(placement.offset));
    std::span<uint8_t> destination = area_bytes(placement);
    std::copy(sections[i].bytes.begin(), sections[i].bytes.end(), destination.begin());
    // NOBITS tail: zeros, also in the code area where the padding default is int3.
    std::fill_n(destination.begin() + sections[i].bytes.size(),
                sections[i].size - sections[i].bytes.size(), 0);
  }

  std::vector<uint64_t> symbol_values;  // S for each symbol
  symbol_values.reserve(symbols.size());
  for (const ResolvedSymbol& symbol : symbols) {
    if (symbol.kind == ResolvedSymbol::kInImage && symbol.section < sections.size())
      symbol_values.push_back(image.section_addresses[symbol.section].value() + symbol.value);
    else
      symbol_values.push_back(symbol.value);
  }

  const RemotePtr got_base = code_base + int64_t(layout.got_offset);
  plan.got.Emit(std::span<uint8_t>(image.code).subspan(layout.got_offset, plan.got.size()),
                got_base, symbol_values);

  for (size_t i = 0; i < sections.size(); ++i) {
    const ImageSection& section = sections[i];
    std::span<uint8_t> section_bytes = area_bytes(layout.sections[i]).first(section.bytes.size());
    for (const ImageRelocation& relocation : section.relocations) {
      const ResolvedSymbol& symbol = symbols[relocation.symbol];
      RelocationOperands operands;
      operands.S = symbol_values[relocation.symbol];
      operands.A = relocation.addend;
      operands.P = image.section_addresses[i].value() + relocation.offset;
      if (auto slot = plan.got.SlotOffset(relocation.symbol))
        operands.got_slot = (got_base + int64_t(*slot)).value();
      if (auto stub = plan.got.StubOffset(relocation.symbol))
        operands.call_stub = (got_base + int64_t(*stub)).value();
      ApplyRelocation(SiteOf(section, relocation, symbol, sections), operands,
                      section_bytes.subspan(relocation.offset));
    }
  }
  return image;
}

}  // namespace hotpatch
