// The passes of `hotpatch-gen diff`, in the order RunDiff (diff_command.cc) calls them. Each
// lives in its own file, pass_<name>.cc, and throws hotpatch::Error naming the symbol, section
// or file when it refuses.
#pragma once

#include "diff_session.h"

namespace hotpatch::patchgen {

// Opens the target (and its debug file) and every object under --orig and --patched, and pairs
// each patched object with its original by relative path (then by source file name).
void LoadObjects(DiffSession& session);
// Refuses objects built without -ffunction-sections or -fdata-sections, naming the flag.
void CheckFlags(DiffSession& session);
// Indexes each object's functions and data by normalised name (symbol_names.h).
void CorrelateSections(DiffSession& session);
// Marks each patched function unchanged, changed, new, or changed only in __LINE__ constants.
void CompareFunctions(DiffSession& session);
// From the changed functions, follows relocations to everything the bundle must carry.
void ClosureOfNeededSymbols(DiffSession& session);
// Refuses changed initial values of existing data, new thread-locals, and changed layouts of
// types the kept functions use.
void RefuseUnsafeChanges(DiffSession& session);
// Finds each replaced function in the target and checks the original object built it.
void MatchTarget(DiffSession& session);
// Builds the bundle from the carried sections.
void EmitBundle(DiffSession& session);

}  // namespace hotpatch::patchgen
