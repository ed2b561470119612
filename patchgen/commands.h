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

// "auto", "reserved", "dead" or "mapping"; a UsageError otherwise.
bundle::Placement ParsePlacement(const std::string& text);

// Writes `bytes` to `path` atomically (temporary file + rename).
void WriteBundleFile(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace hotpatch::patchgen
