// Replaced by the processors.
namespace spectrum::dsp {}
