/* What SQLite's shell (shell.c) links against but wasi-libc does not have:
 * WASI preview1 has no way to run a command, change a file's mode or
 * resolve a path against the host, so each fails the POSIX way with ENOSYS
 * (the shell reports the error for `.system`, `.shell`, `writefile(...,
 * mode)` and `realpath()`; nothing else uses them). */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

char *realpath(const char *restrict path, char *restrict resolved) {
  (void)path;
  (void)resolved;
  errno = ENOSYS;
  return NULL;
}

int chmod(const char *path, mode_t mode) {
  (void)path;
  (void)mode;
  errno = ENOSYS;
  return -1;
}

int system(const char *command) {
  (void)command;
  errno = ENOSYS;
  return -1;
}
