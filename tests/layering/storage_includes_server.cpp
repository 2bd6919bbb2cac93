// Wrong way: storage must not see the HTTP service above it. This must not compile.
#include "server/config.h"

int layering_fixture() {
  return 0;
}
