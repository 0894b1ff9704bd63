#include "helpers.h"
int main(void) {
  TAP_OK(1, "placeholder");
  return tap_done();
}
