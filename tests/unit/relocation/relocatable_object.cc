#include "relocatable_object.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>

#include <memory>
#include <stdexcept>

#include "base/unique_fd.h"

namespace hotpatch::test {
namespace {

struct ElfCloser {
  void operator()(Elf* elf) const { elf_end(elf); }
};

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what + ": " + elf_errmsg(-1));
}

}  // namespace

RelocatableObject ReadRelocatableObject(const std::string& path, const ResolveUndefined& resolve) {
  elf_version(EV_CURRENT);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw std::runtime_error("cannot open " + path);
  std::unique_ptr<Elf, ElfCloser> elf(elf_begin(fd.get(), ELF_C_READ, nullptr));
  if (!elf) Fail(path, "elf_begin");

  RelocatableObject object;
  std::map<size_t, uint32_t> image_index;  // ELF section index -> ImageSection index
  Elf_Scn* symtab = nullptr;
  std::vector<Elf_Scn*> rela_sections;
  size_t shstrndx;
  if (elf_getshdrstrndx(elf.get(), &shstrndx) != 0) Fail(path, "elf_getshdrstrndx");
  for (Elf_Scn* scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) Fail(path, "gelf_getshdr");
    if (shdr.sh_type == SHT_SYMTAB) symtab = scn;
    if (shdr.sh_type == SHT_RELA) rela_sections.push_back(scn);
    if (!(shdr.sh_flags & SHF_ALLOC)) continue;
    ImageSection section;
    section.name = elf_strptr(elf.get(), shstrndx, shdr.sh_name);
    section.size = shdr.sh_size;
    section.alignment = shdr.sh_addralign;
    section.executable = shdr.sh_flags & SHF_EXECINSTR;
    section.writable = shdr.sh_flags & SHF_WRITE;
    if (shdr.sh_type != SHT_NOBITS && shdr.sh_size > 0) {
      Elf_Data* data = elf_getdata(scn, nullptr);
      if (!data) Fail(path, "elf_getdata " + section.name);
      auto* bytes = static_cast<const uint8_t*>(data->d_buf);
      section.bytes.assign(bytes, bytes + data->d_size);
    }
    image_index[elf_ndxscn(scn)] = uint32_t(object.sections.size());
    object.sections.push_back(std::move(section));
  }
  if (!symtab) Fail(path, "no .symtab");

  GElf_Shdr symtab_header;
  gelf_getshdr(symtab, &symtab_header);
  Elf_Data* symbols = elf_getdata(symtab, nullptr);
  size_t count = symtab_header.sh_size / symtab_header.sh_entsize;
  for (size_t i = 0; i < count; ++i) {
    GElf_Sym sym;
    if (!gelf_getsym(symbols, int(i), &sym)) Fail(path, "gelf_getsym");
    std::string name = elf_strptr(elf.get(), symtab_header.sh_link, sym.st_name);
    ResolvedSymbol resolved{
        .kind = ResolvedSymbol::kAbsolute, .section = 0, .value = sym.st_value, .name = name};
    if (sym.st_shndx == SHN_UNDEF && !name.empty()) {
      resolved = resolve(name, GELF_ST_TYPE(sym.st_info) == STT_TLS);
    } else if (auto it = image_index.find(sym.st_shndx); it != image_index.end()) {
      resolved.kind = ResolvedSymbol::kInImage;
      resolved.section = it->second;
      if (GELF_ST_BIND(sym.st_info) != STB_LOCAL) object.defined[name] = uint32_t(i);
    }
    object.symbols.push_back(resolved);
  }

  for (Elf_Scn* scn : rela_sections) {
    GElf_Shdr shdr;
    gelf_getshdr(scn, &shdr);
    auto target = image_index.find(shdr.sh_info);
    if (target == image_index.end()) continue;  // relocations of a non-allocated section
    Elf_Data* data = elf_getdata(scn, nullptr);
    for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; ++i) {
      GElf_Rela rela;
      if (!gelf_getrela(data, int(i), &rela)) Fail(path, "gelf_getrela");
      object.sections[target->second].relocations.push_back(
          {.offset = rela.r_offset,
           .type = uint32_t(GELF_R_TYPE(rela.r_info)),
           .symbol = uint32_t(GELF_R_SYM(rela.r_info)),
           .addend = rela.r_addend});
    }
  }
  return object;
}

}  // namespace hotpatch::test
