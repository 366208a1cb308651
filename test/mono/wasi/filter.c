/* A stdin-to-stdout filter: upper-cases its input and reports the line and
 * byte counts on stderr-free stdout at the end. */
#include <ctype.h>
#include <stdio.h>

int main(void) {
  int c;
  long lines = 0, bytes = 0;
  while ((c = getchar()) != EOF) {
    bytes++;
    if (c == '\n') lines++;
    putchar(toupper(c));
  }
  printf("-- %ld lines, %ld bytes\n", lines, bytes);
  return 0;
}
