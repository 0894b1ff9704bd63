/*
 * townhall: the command-line tool.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "townhall.h"

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "version") == 0) {
    printf("townhall %s\n", th_version_string());
    return 0;
  }
  fprintf(stderr, "usage: townhall version\n");
  return 2;
}
