// hotpatch-gen diff --target BIN --orig OBJ|DIR... --patched OBJ|DIR... -o OUT.hpb [--id NAME]
//                   [--description TEXT] [--debug-file FILE] [--placement P]
#include <ctime>
#include <filesystem>
#include <iostream>

#include "bundle/bundle.h"
#include "command_line.h"
#include "commands.h"
#include "diff_passes.h"

namespace hotpatch::patchgen {

bundle::Bundle RunDiff(DiffSession& session) {
  LoadObjects(session);
  CheckFlags(session);
  CorrelateSections(session);
  CompareFunctions(session);
  ClosureOfNeededSymbols(session);
  RefuseUnsafeChanges(session);
  MatchTarget(session);
  EmitBundle(session);
  return std::move(session.bundle);
}

void PrintBundleSummary(const bundle::Bundle& b, const std::string& output,
                        const std::vector<std::string>& notes) {
  for (const std::string& note : notes) std::cout << "note: " << note << "\n";
  for (const auto& replaced : b.replaced) {
    std::cout << "replace " << replaced.name
              << (replaced.source_file.empty() ? "" : " (" + replaced.source_file + ")") << "\n";
  }
  for (uint32_t index : b.new_functions) std::cout << "new " << b.symbols[index].name << "\n";
  std::cout << "wrote " << output << ": patch " << b.patch_id << ", " << b.replaced.size()
            << " replaced and " << b.new_functions.size() << " new functions for "
            << b.target_module << "\n";
}

int DiffCommand(const std::vector<std::string>& args) {
  auto parsed = ParseArguments(
      args, {"--target", "-o", "--id", "--description", "--debug-file", "--placement"}, {},
      {"--orig", "--patched"});
  if (!parsed.positional.empty())
    throw UsageError("unexpected argument " + parsed.positional.front());
  DiffSession session;
  DiffOptions& options = session.options;
  options.target_path = parsed.Required("--target");
  options.debug_file = parsed.Optional("--debug-file");
  options.orig_roots = parsed.All("--orig");
  options.patched_roots = parsed.All("--patched");
  if (options.orig_roots.empty()) throw UsageError("missing --orig");
  if (options.patched_roots.empty()) throw UsageError("missing --patched");
  options.output = parsed.Required("-o");
  options.patch_id =
      parsed.Optional("--id").value_or(std::filesystem::path(options.output).stem().string());
  options.description = parsed.Optional("--description").value_or("");
  options.preferred_placement = ParsePlacement(parsed.Optional("--placement").value_or("auto"));
  options.created_unix = static_cast<uint64_t>(std::time(nullptr));
  const bundle::Bundle b = RunDiff(session);
  WriteBundleFile(options.output, bundle::WriteBundle(b));
  PrintBundleSummary(b, options.output, session.notes);
  return 0;
}

}  // namespace hotpatch::patchgen
