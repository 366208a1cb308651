/* Spins forever without a system call: only a signal's default action ends it. */
int main(void) {
  volatile unsigned long n = 0;
  for (;;) n++;
}
