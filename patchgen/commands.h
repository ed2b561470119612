// hotpatch-gen's subcommands; each returns the process exit code and throws UsageError (exit 2)
// or hotpatch::Error (exit 1, or 4 for a bundle that does not fit its target).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bundle/bundle.h"

namespace hotpatch::patchgen {

int PackCommand(const std::vector<std::string>& args);
int DiffCommand(const std::vector<std::string>& args);
int BuildCommand(const std::vector<std::string>& args);
int KeygenCommand(const std::vector<std::string>& args);
int SignCommand(const std::vector<std::string>& args);

struct DiffSession;
// Runs the passes of diff_passes.h in order; returns the bundle (also left in the session).
bundle::Bundle RunDiff(DiffSession& session);
// The notes, replaced and new functions, and the file written, for the user.
void PrintBundleSummary(const bundle::Bundle& b, const std::string& output,
                        const std::vector<std::string>& notes);

// "auto", "reserved", "dead" or "mapping"; a UsageError otherwise.
bundle::Placement ParsePlacement(const std::string& text);

// Writes `bytes` to `path` atomically (temporary file + rename).
void WriteBundleFile(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace hotpatch::patchgen
