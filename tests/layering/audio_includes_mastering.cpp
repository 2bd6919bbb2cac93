// Wrong way: the codec layer must not see the mastering layer above it. This must not compile.
#include "mastering/settings.h"

int layering_fixture() {
  return 0;
}
