// Replaced by the decoder and encoder.
namespace spectrum::audio {}
