/*
 * fuzz_http: arbitrary bytes as one client connection to the real server:
 * llhttp with the server's callbacks and limits, pipelining, routing, every
 * handler, the writer thread, responses. The two-byte marker FE FF splits
 * the input into separately read segments (see fuzz_server.h).
 */
#include "config.h"

#include "fuzz_server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_server_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_server_feed(data, size, NULL);
  return 0;
}
