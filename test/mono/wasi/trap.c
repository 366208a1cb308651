/* Traps (an unreachable instruction): the process dies, the kernel goes on. */
#include <stdio.h>
int main(void) {
  puts("about to trap");
  fflush(stdout);
  __builtin_trap();
}
