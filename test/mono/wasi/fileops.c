/* File operations through WASI: create, write, read back, rename, list
 * (sorted), stat and delete files and a directory; prints each result. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
  if (mkdir("wdir", 0755) != 0) { perror("mkdir"); return 1; }
  FILE *f = fopen("wdir/a.txt", "w");
  if (!f) { perror("fopen"); return 1; }
  for (int i = 0; i < 3; i++) fprintf(f, "line %d\n", i);
  fclose(f);
  f = fopen("wdir/a.txt", "r");
  char buf[64];
  while (fgets(buf, sizeof buf, f)) printf("read: %s", buf);
  fclose(f);
  if (rename("wdir/a.txt", "wdir/b.txt") != 0) { perror("rename"); return 1; }
  f = fopen("wdir/c.txt", "w");
  fputs("ccc", f);
  fclose(f);
  struct stat st;
  if (stat("wdir/b.txt", &st) == 0) printf("b.txt size %lld regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
  printf("a.txt gone: %d\n", access("wdir/a.txt", F_OK) != 0 && errno == ENOENT);
  DIR *d = opendir("wdir");
  char *names[16];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 16) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], cmp);
  for (int i = 0; i < n; i++) printf("entry: %s\n", names[i]);
  unlink("wdir/b.txt");
  unlink("wdir/c.txt");
  printf("rmdir: %d\n", rmdir("wdir"));
  printf("stat after rmdir: %d\n", stat("wdir", &st));
  return 3;
}
