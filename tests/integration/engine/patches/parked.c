/* Replaces parked(), which the "parker" thread sits in for a while. */
#include <unistd.h>
void parked(int ms) { usleep((useconds_t)ms); }
