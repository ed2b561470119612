#include "multiply.h"

int OtherMultiplied(int x) { return Multiply<2>(x); }
