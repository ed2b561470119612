/* Replaces inner() of patch_code_frames, built with -fomit-frame-pointer: rbp is an ordinary
 * callee-saved register here. It loads rbp with the one value a frame-pointer rule would trust
 * most, the frame pointer of middle()'s caller, and sleeps with it: a walker that takes rbp for
 * this frame's frame pointer skips middle() and its caller, and a patch of middle() would look
 * safe while a thread is inside it. Only the patch's own CFI says where its return address is. */
#include <unistd.h>

void inner(void) {
  __asm__ volatile("mov (%%rbp), %%rbp" ::: "rbp");
  usleep(50 * 1000);
  __asm__ volatile("");  /* after the call: not a tail call, the sleep is below this frame */
}
