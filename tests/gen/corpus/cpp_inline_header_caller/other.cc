#include "scale.h"

int OtherScaled(int x) { return Scale(x); }
