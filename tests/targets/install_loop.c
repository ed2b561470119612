/* engine_loop under another name, for the daemon's install tests. An installed bundle is applied
 * to every process on the machine that maps its target's build-id, so those tests need a binary
 * that no other test runs at the same time (ctest -j2): another file name gives another build-id. */
#include "engine_loop.c"
