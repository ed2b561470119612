/* engine_loop under another name, for the daemon's fleet tests. A fleet apply patches every
 * process on the machine that maps its target's build-id, so those tests need a binary that no
 * other test runs at the same time: another file name gives another build-id. */
#include "engine_loop.c"
