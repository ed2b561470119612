// Both units have an anonymous-namespace Helper: GCC mangles both _ZN12_GLOBAL__N_16HelperEi,
// two locals of one name in the target, told apart by their source file.
namespace {

__attribute__((noinline)) int Helper(int x) {
  int total = 0;
  for (int i = 0; i < x; ++i) total += 2;
  return total;
}

}  // namespace

int First(int x) { return Helper(x); }
