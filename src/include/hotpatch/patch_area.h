/* Reserving room for live patches in a target program (C and C++, header-only).
 *
 * A program that wants to be patched cheaply includes this header and, in exactly one
 * translation unit per module (executable or shared library), writes
 *
 *     HOTPATCH_DEFINE_AREAS(64 * 1024, 16 * 1024);
 *
 * at file scope. That reserves, inside the module itself:
 *   .hotpatch.text      code area   (SHF_ALLOC|SHF_EXECINSTR, PROGBITS, int3-filled, page-aligned)
 *   .hotpatch.data      data area   (SHF_ALLOC|SHF_WRITE, NOBITS, page-aligned)
 *   .hotpatch.state     the state record below (SHF_ALLOC|SHF_WRITE)
 * Functions marked HOTPATCH_RUN_ONCE go to .hotpatch.run_once (SHF_ALLOC|SHF_EXECINSTR); once the
 * program calls hotpatch_declare_init_done(), the engine may reuse their bytes for patch code.
 *
 * The engine finds all four by section header (read from the mapped file), not by symbol, so a
 * stripped binary keeps the benefit; the local symbols defined here only help humans in objdump.
 *
 * Sizes are assembler expressions: plain integers with + - * / << (no C suffixes like 64u, no
 * sizeof). Each area is rounded up to whole pages.
 */
#ifndef HOTPATCH_PATCH_AREA_H
#define HOTPATCH_PATCH_AREA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Section names: the engine looks them up by these macros, the definitions below emit them. */
#define HOTPATCH_SECTION_CODE ".hotpatch.text"
#define HOTPATCH_SECTION_DATA ".hotpatch.data"
#define HOTPATCH_SECTION_STATE ".hotpatch.state"
#define HOTPATCH_SECTION_RUN_ONCE ".hotpatch.run_once"

/* The in-memory layout the engine reads from the target; fixed-width fields only, since the
 * engine (C++) and the target (C or C++) must agree byte for byte. Bump the version on any
 * change of layout or meaning. */
#define HOTPATCH_STATE_MAGIC "HOTPATCH"
#define HOTPATCH_STATE_VERSION 1u

struct hotpatch_state {
  char magic[8];      /* "HOTPATCH", not NUL-terminated */
  uint32_t version;   /* HOTPATCH_STATE_VERSION */
  uint32_t init_done; /* 0 while initialising; 1 after hotpatch_declare_init_done() */
};

#ifdef __cplusplus
static_assert(sizeof(struct hotpatch_state) == 16, "hotpatch_state is read by offset");
#else
_Static_assert(sizeof(struct hotpatch_state) == 16, "hotpatch_state is read by offset");
#endif

/* Hidden: every module (the executable and each shared library that defines its areas) has its
 * own record, and the inline function below must reach this module's one. With default
 * visibility, ELF symbol interposition would bind a library's reference to the executable's
 * record, and the library would declare the executable's init done. */
extern __attribute__((visibility("hidden"))) struct hotpatch_state hotpatch_module_state;

/* Why the engine waits for this before reusing run-once code: until init is declared done, a
 * thread may still be about to call a run-once function (and the engine cannot see a call that
 * has not happened yet in any stack). After it, the program promises never to call one again, so
 * once the engine's stack check finds no thread inside one, its bytes are dead.
 * Release ordering: the store is ordered after everything init did, including the return from
 * every run-once function, for whoever reads the word with acquire (the engine reads it while the
 * threads are stopped, which orders it anyway). */
static inline void hotpatch_declare_init_done(void) {
  __atomic_store_n(&hotpatch_module_state.init_done, 1u, __ATOMIC_RELEASE);
}

#ifdef __cplusplus
}
#endif

/* noinline: an inlined copy would live in the caller, outside the section, and the caller's bytes
 * are not dead. used: keeps a function whose only call the optimiser could fold away.
 * An explicit section also keeps GCC from splitting a .cold part out into .text.unlikely (it does
 * not partition functions with a section attribute), so the whole function is in the section. */
#define HOTPATCH_RUN_ONCE __attribute__((section(HOTPATCH_SECTION_RUN_ONCE), noinline, used))

#define HOTPATCH_STRINGIFY_(x) #x
#define HOTPATCH_STRINGIFY(x) HOTPATCH_STRINGIFY_(x)

/* Why each choice:
 * - Top-level asm with .pushsection, not a C array with __attribute__((section)): GCC gives a
 *   data object's section "aw" flags, so the area would not be executable.
 * - .hotpatch.text "ax" PROGBITS: linked into the module's existing r-x segment, so patch code
 *   sits within +-2 GiB of every call site (jmp rel32 reaches) and needs no new mapping. The
 *   engine writes it through /proc/PID/mem, which writes through read-only text.
 * - Filled with int3 (0xcc): a stray jump into unused space traps at once (SIGTRAP) instead of
 *   sliding through zero bytes (add %al,(%rax)) into whatever comes next.
 * - .hotpatch.data "aw" NOBITS: zero-initialised like .bss, so it costs nothing in the file and
 *   no memory until the engine touches a page.
 * - Page-aligned and page-sized (.p2align 12, rounded up): each area owns whole pages, so the
 *   engine can change their protection without touching program code or data, and writing a
 *   patch copies-on-write only pages that hold nothing but patch code.
 * - "R" (SHF_GNU_RETAIN): nothing references the areas, so a link with --gc-sections would
 *   otherwise drop them.
 * The state record is plain C: initialised data, so "aw" PROGBITS in .hotpatch.state. */
/* clang-format off */
#define HOTPATCH_DEFINE_AREAS(code_bytes, data_bytes)                                    \
  __asm__(".pushsection " HOTPATCH_SECTION_CODE ",\"axR\",@progbits\n"                   \
          ".p2align 12\n"                                                                \
          "hotpatch_code_area:\n"                                                        \
          ".fill ((" HOTPATCH_STRINGIFY(code_bytes) ") + 4095) / 4096 * 4096, 1, 0xcc\n" \
          ".size hotpatch_code_area, . - hotpatch_code_area\n"                           \
          ".popsection\n"                                                                \
          ".pushsection " HOTPATCH_SECTION_DATA ",\"awR\",@nobits\n"                     \
          ".p2align 12\n"                                                                \
          "hotpatch_data_area:\n"                                                        \
          ".skip ((" HOTPATCH_STRINGIFY(data_bytes) ") + 4095) / 4096 * 4096\n"          \
          ".size hotpatch_data_area, . - hotpatch_data_area\n"                           \
          ".popsection\n");                                                              \
  __attribute__((section(HOTPATCH_SECTION_STATE), used, retain))                         \
  struct hotpatch_state hotpatch_module_state = {                                        \
      {'H', 'O', 'T', 'P', 'A', 'T', 'C', 'H'}, HOTPATCH_STATE_VERSION, 0}
/* clang-format on */

#endif /* HOTPATCH_PATCH_AREA_H */
