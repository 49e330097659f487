#include "hello.h"

const char *hello_greeting(void) { return "hello from a shared library"; }
int hello_twice(int x) { return 2 * x; }
