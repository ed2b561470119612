// What a relocation in an object refers to, told in terms that survive a rebuild. The assembler
// turns references to local symbols into "section + offset" (a static variable becomes
// .bss.counter+0, a string literal .rodata.str1.1+0x2a), so a relocation is described by the
// entity owning the referenced place, or by the string or constant it points at.
#pragma once

#include <string>

#include "diff_session.h"

namespace hotpatch::patchgen {

// A stable description ("E counter+0", "S \"hello\"+0", "U printf+-4") for comparing one
// relocation of the original object with its counterpart in the patched object.
std::string DescribeReference(const ObjectFile& object, const elf::Relocation& relocation);

struct ReferenceTarget {
  enum class Kind {
    kUndefined,  // not defined in the object: the target or a library defines it
    kCarried,    // defined in a section of the patched object that goes into the bundle
    kOriginal,   // an unchanged function or existing data: bind to the target's original
  };
  Kind kind = Kind::kUndefined;
  const elf::Symbol* symbol = nullptr;     // the symbol the relocation names (patched object)
  uint32_t section = 0;                    // kCarried: the patched section that holds it
  std::string entity_key;                  // kCarried/kOriginal: the owning entity, if any
  const ObjectEntity* original = nullptr;  // kOriginal: the entity in the original object
  int64_t addend = 0;                      // kOriginal: relative to original->symbol's start
};

// Read-only data (PROGBITS, neither writable nor code): a running process cannot have changed
// it, so a changed constant (a table, a switch's CSWTCH lookup array) travels as a new copy, and
// every function that reads it counts as changed so that none keeps reading the old copy.
bool IsConstantData(const elf::Section& section);
// A fingerprint of an entity's bytes, for telling changed constants apart.
std::string ContentTag(const ObjectFile& object, const elf::Symbol& symbol);

// Decides where a relocation of a carried section of `pair.patched` must point. Functions are
// carried when kept (or new); data is carried only when new.
ReferenceTarget ClassifyReference(const DiffSession& session, const ObjectPair& pair,
                                  const elf::Relocation& relocation);

}  // namespace hotpatch::patchgen
