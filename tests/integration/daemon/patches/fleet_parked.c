/* For the fleet tests: version() returns 2, and parked() is replaced too, so that a process whose
 * "parker" thread sits inside parked() (fleet_loop THREADS PARK_MS) can never pass the safety
 * check, while the others can. */
#include <unistd.h>

int version(void) { return 2; }

void parked(int ms) { usleep((useconds_t)ms); }
