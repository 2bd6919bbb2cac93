// Right way: mastering sees the audio layer below it. This must compile (the control for the other fixtures).
#include "audio/format.h"
#include "mastering/settings.h"

int layering_fixture() {
  return spectrum::audio::is_lossy(spectrum::audio::Format::kMp3) ? 1 : 0;
}
