// The patch generator's corpus (issue 5, point 9): each case in tests/gen/corpus/ is built twice,
// diffed into a bundle by hotpatch-gen, and applied to and reverted from the running original.
#include <catch2/catch.hpp>

#include "corpus_case.h"

#define CORPUS_CASE(name)                \
  TEST_CASE("corpus " name) {            \
    hotpatch::test::RunCorpusCase(name); \
  }

CORPUS_CASE("cold_part")
CORPUS_CASE("cpp_anonymous_namespace")
CORPUS_CASE("cpp_anonymous_namespace_two_units")
CORPUS_CASE("cpp_inline_header")
CORPUS_CASE("cpp_inline_header_caller")
CORPUS_CASE("cpp_member")
CORPUS_CASE("cpp_template")
CORPUS_CASE("cpp_template_header")
CORPUS_CASE("cpp_virtual")
CORPUS_CASE("debug_patch_libc")
CORPUS_CASE("function_pointer")
CORPUS_CASE("inline_callee")
CORPUS_CASE("ipa_constprop")
CORPUS_CASE("ipa_isra")
CORPUS_CASE("ipa_split_part")
CORPUS_CASE("line_numbers_only")
CORPUS_CASE("new_function")
CORPUS_CASE("new_global")
CORPUS_CASE("recursion")
CORPUS_CASE("refuse_data_initializer")
CORPUS_CASE("refuse_missing_flags")
CORPUS_CASE("refuse_signature_global")
CORPUS_CASE("refuse_signature_pointer")
CORPUS_CASE("refuse_static_local_moved")
CORPUS_CASE("refuse_struct_layout")
CORPUS_CASE("refuse_struct_layout_global")
CORPUS_CASE("same_basename_static")
CORPUS_CASE("same_static_name")
CORPUS_CASE("shared_library")
CORPUS_CASE("simple_change")
CORPUS_CASE("static_local")
CORPUS_CASE("static_local_new_user")
CORPUS_CASE("static_local_renumbered")
CORPUS_CASE("static_signature_change")
CORPUS_CASE("string_literal")
CORPUS_CASE("switch_table")
CORPUS_CASE("thread_local")
