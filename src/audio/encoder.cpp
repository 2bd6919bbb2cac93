#include "audio/encoder.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "audio/dither.h"
#include "audio/ffmpeg_util.h"
#include "common/atomic_file.h"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/opt.h>
}

namespace spectrum::audio {
namespace {

// PCM encoders take any frame count; a fixed one keeps the output independent of the caller's blocks.
constexpr int kPcmFrameFrames = 4096;
// Opus input is resampled in chunks of this many input frames, so memory stays bounded for any block.
constexpr std::size_t kResampleChunkFrames = 4096;

// What FFmpeg needs to write one of our formats: the table's muxer and encoder, and for PCM the encoder and
// sample format of the depth.
struct CodecChoice {
  std::string muxer;
  std::string encoder;  // by name: several encoders can share a codec id
  AVSampleFormat sample_format = AV_SAMPLE_FMT_NONE;
  int bits = 0;  // integer quantisation depth, 0 for float output
};

Expected<CodecChoice> choose_codec(const EncoderOptions& options) {
  const FormatTraits& format = traits(options.format);
  const bool is_float = options.is_float || options.bits_per_sample == 32;
  const int bits = options.bits_per_sample;
  CodecChoice choice{std::string(format.muxer), std::string(format.encoder), AV_SAMPLE_FMT_FLTP, 0};
  if (format.lossy) {
    if (options.format == Format::kOpus) choice.sample_format = AV_SAMPLE_FMT_FLT;
    return choice;
  }
  if (bits != 16 && bits != 24 && bits != 32) {
    return make_error(
        ErrorCode::kInvalidArgument,
        std::string(format.display_name) + " output must be 16, 24 or 32 bits (got " + std::to_string(bits) + ")");
  }
  if (options.format == Format::kFlac) {
    // FLAC has no float; 32-bit input is written at 24 bits, FLAC's practical maximum.
    choice.bits = bits == 16 ? 16 : 24;
    choice.sample_format = bits == 16 ? AV_SAMPLE_FMT_S16 : AV_SAMPLE_FMT_S32;
    return choice;
  }
  const std::string_view endian = options.format == Format::kWav ? "le" : "be";
  if (is_float) {
    choice.encoder = "pcm_f32" + std::string(endian);
    choice.sample_format = AV_SAMPLE_FMT_FLT;
    return choice;
  }
  choice.encoder = (bits == 16 ? "pcm_s16" : "pcm_s24") + std::string(endian);
  choice.sample_format = bits == 16 ? AV_SAMPLE_FMT_S16 : AV_SAMPLE_FMT_S32;
  choice.bits = bits;
  return choice;
}

bool rate_listed(const AVCodec& codec, int rate) {
  if (codec.supported_samplerates == nullptr) return true;  // the encoder takes any rate
  for (const int* r = codec.supported_samplerates; *r != 0; ++r) {
    if (*r == rate) return true;
  }
  return false;
}

bool format_listed(const AVCodec& codec, AVSampleFormat format) {
  if (codec.sample_fmts == nullptr) return true;
  for (const AVSampleFormat* f = codec.sample_fmts; *f != AV_SAMPLE_FMT_NONE; ++f) {
    if (*f == format) return true;
  }
  return false;
}

Status check_rate_for_format(const EncoderOptions& options, const AVCodec& codec) {
  const FormatTraits& format = traits(options.format);
  const int rate = options.sample_rate_hz;
  const std::string keep_rate = "; choose wav or flac to keep the sample rate";
  if (format.max_rate_hz > 0 && rate > format.max_rate_hz) {
    return make_error(ErrorCode::kUnsupported, std::string(format.display_name) + " cannot be written at " +
                                                   std::to_string(rate) + " Hz (at most " +
                                                   std::to_string(format.max_rate_hz) + " Hz)" + keep_rate);
  }
  if (format.fixed_rate_hz == 0 && !rate_listed(codec, rate)) {
    return make_error(ErrorCode::kUnsupported, std::string(format.display_name) + " cannot be written at " +
                                                   std::to_string(rate) + " Hz" + keep_rate);
  }
  return {};
}

}  // namespace

struct Encoder::Impl {
  EncoderOptions options;
  CodecChoice choice;
  std::string name;  // destination file name, for messages
  int output_rate_hz = 0;

  std::optional<AtomicFile> file;  // declared before the muxer so the muxer closes its file first
  ffmpeg::OutputFormatPtr muxer;
  ffmpeg::CodecContextPtr codec;
  ffmpeg::FramePtr frame;
  ffmpeg::PacketPtr packet;
  ffmpeg::SwrPtr resampler;  // Opus only
  AVStream* stream = nullptr;

  // Input waiting for a full codec frame; never more than frame_frames.
  std::array<std::vector<float>, kMaxChannels> fifo;
  std::size_t fifo_frames = 0;
  std::size_t frame_frames = 0;
  std::array<std::vector<float>, kMaxChannels> resampled;  // Opus: swr output before the fifo
  std::int64_t next_pts = 0;
  SampleRounder rounder{0, 1};  // to the integer grid, unless the caller did (options.input_rounded)

  bool failed = false;
  bool committed = false;

  std::array<std::vector<float>, kMaxChannels> rounded;  // write(): the caller's block, rounded

  Status open(const std::filesystem::path& destination);
  Status write(const AudioBlock& block);
  Status append(const float* const* channels, std::size_t frames);
  Status resample_and_append(const float* const* channels, std::size_t frames);
  template <class Sample, class Convert>
  void interleave(Sample* out, std::size_t frames, Convert convert) const noexcept;
  Status encode_fifo(std::size_t frames);
  Status drain_packets();
  Error fail(Error error);
};

Error Encoder::Impl::fail(Error error) {
  failed = true;
  muxer.reset();  // closes the temporary file
  file.reset();   // removes it
  return error;
}

Status Encoder::Impl::open(const std::filesystem::path& destination) {
  const AVCodec* encoder = avcodec_find_encoder_by_name(choice.encoder.c_str());
  if (encoder == nullptr) {
    return make_error(ErrorCode::kUnsupported, std::string(traits(options.format).display_name) +
                                                   " output needs the '" + choice.encoder +
                                                   "' encoder, which this FFmpeg build lacks");
  }
  SPECTRUM_TRY(check_rate_for_format(options, *encoder));
  if (!format_listed(*encoder, choice.sample_format)) {
    return make_error(ErrorCode::kInternal, std::string("encoder ") + choice.encoder + " does not take " +
                                                av_get_sample_fmt_name(choice.sample_format));
  }
  const int fixed_rate_hz = traits(options.format).fixed_rate_hz;
  output_rate_hz = fixed_rate_hz > 0 ? fixed_rate_hz : options.sample_rate_hz;

  auto created = AtomicFile::create(destination);
  if (!created) return std::move(created).error();
  file.emplace(std::move(created).value());

  AVFormatContext* raw = nullptr;
  // The muxer is named explicitly: the temporary file's name has no meaningful extension.
  int err = avformat_alloc_output_context2(&raw, nullptr, choice.muxer.c_str(), file->temp_path().c_str());
  if (err < 0 || raw == nullptr) {
    return make_error(ErrorCode::kUnsupported,
                      std::string("this FFmpeg build cannot write ") + choice.muxer + " files");
  }
  muxer.reset(raw);
  // Bit-exact: no random Ogg serial numbers, no version strings, so equal input gives equal bytes.
  muxer->flags |= AVFMT_FLAG_BITEXACT;

  codec.reset(avcodec_alloc_context3(encoder));
  frame.reset(av_frame_alloc());
  packet.reset(av_packet_alloc());
  if (!codec || !frame || !packet) return make_error(ErrorCode::kInternal, "out of memory creating " + name);
  codec->sample_fmt = choice.sample_format;
  codec->sample_rate = output_rate_hz;
  codec->time_base = AVRational{1, output_rate_hz};
  av_channel_layout_default(&codec->ch_layout, options.channels);
  codec->flags |= AV_CODEC_FLAG_BITEXACT;
  if (choice.bits > 0) codec->bits_per_raw_sample = choice.bits;
  const int default_kbps = traits(options.format).default_kbps;
  if (options.format == Format::kVorbis && !options.bitrate_kbps) {
    codec->flags |= AV_CODEC_FLAG_QSCALE;
    codec->global_quality = 8 * FF_QP2LAMBDA;  // libvorbis VBR quality 8
  } else if (options.bitrate_kbps || default_kbps > 0) {
    codec->bit_rate = static_cast<std::int64_t>(options.bitrate_kbps.value_or(default_kbps)) * 1000;
  }
  if ((muxer->oformat->flags & AVFMT_GLOBALHEADER) != 0) codec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  err = avcodec_open2(codec.get(), encoder, nullptr);
  if (err < 0) {
    const std::string why = std::string("cannot open the ") + choice.encoder + " encoder (" +
                            std::to_string(options.channels) + " ch, " + std::to_string(output_rate_hz) + " Hz" +
                            (options.bitrate_kbps ? ", " + std::to_string(*options.bitrate_kbps) + " kbps" : "") +
                            "): " + ffmpeg::av_error_string(err);
    return make_error(options.bitrate_kbps ? ErrorCode::kInvalidArgument : ErrorCode::kInternal, why);
  }

  stream = avformat_new_stream(muxer.get(), nullptr);
  if (stream == nullptr) return make_error(ErrorCode::kInternal, "out of memory creating " + name);
  stream->time_base = codec->time_base;
  err = avcodec_parameters_from_context(stream->codecpar, codec.get());
  if (err < 0)
    return make_error(ErrorCode::kInternal, "cannot configure the output stream: " + ffmpeg::av_error_string(err));

  for (const auto& [key, value] : options.tags) {
    av_dict_set(&muxer->metadata, key.c_str(), value.c_str(), 0);
    // Ogg keeps comments per stream; the ogg/opus muxers read them from the stream.
    if (options.format == Format::kVorbis || options.format == Format::kOpus) {
      av_dict_set(&stream->metadata, key.c_str(), value.c_str(), 0);
    }
  }

  err = avio_open(&muxer->pb, file->temp_path().c_str(), AVIO_FLAG_WRITE);
  if (err < 0) return make_error(ErrorCode::kIoError, "cannot write " + name + ": " + ffmpeg::av_error_string(err));
  AVDictionary* muxer_options = nullptr;
  // AIFF's own text chunks hold only name/author/copyright/annotation; ID3 carries every tag.
  if (options.format == Format::kAiff && !options.tags.empty()) av_dict_set(&muxer_options, "write_id3v2", "1", 0);
  err = avformat_write_header(muxer.get(), &muxer_options);
  av_dict_free(&muxer_options);
  if (err < 0) return make_error(ErrorCode::kIoError, "cannot write " + name + ": " + ffmpeg::av_error_string(err));

  const bool any_frame_size = codec->frame_size <= 0 || (encoder->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) != 0;
  frame_frames = static_cast<std::size_t>(any_frame_size ? kPcmFrameFrames : codec->frame_size);
  for (int c = 0; c < options.channels; ++c) fifo[static_cast<std::size_t>(c)].assign(frame_frames, 0.0F);

  if (options.format == Format::kOpus) {
    SwrContext* swr = nullptr;
    err = swr_alloc_set_opts2(&swr, &codec->ch_layout, AV_SAMPLE_FMT_FLTP, output_rate_hz, &codec->ch_layout,
                              AV_SAMPLE_FMT_FLTP, options.sample_rate_hz, 0, nullptr);
    resampler.reset(swr);
    if (err >= 0) err = swr_init(resampler.get());
    if (err < 0)
      return make_error(ErrorCode::kInternal, "cannot set up resampling to 48 kHz: " + ffmpeg::av_error_string(err));
  }
  rounder = SampleRounder(options.input_rounded ? 0 : choice.bits, options.dither_seed);
  return {};
}

// Copies input into the fifo, encoding each time it holds a full codec frame.
Status Encoder::Impl::append(const float* const* channels, std::size_t frames) {
  std::size_t done = 0;
  while (done < frames) {
    const std::size_t take = std::min(frames - done, frame_frames - fifo_frames);
    for (int c = 0; c < options.channels; ++c) {
      std::copy_n(channels[c] + done, take, fifo[static_cast<std::size_t>(c)].data() + fifo_frames);
    }
    fifo_frames += take;
    done += take;
    if (fifo_frames == frame_frames) SPECTRUM_TRY(encode_fifo(frame_frames));
  }
  return {};
}

// Opus: through swr to 48 kHz (planar float), in bounded chunks; frames == 0 drains the resampler.
Status Encoder::Impl::resample_and_append(const float* const* channels, std::size_t frames) {
  std::size_t done = 0;
  do {
    const std::size_t take = std::min(frames - done, kResampleChunkFrames);
    const int capacity = swr_get_out_samples(resampler.get(), static_cast<int>(take));
    if (capacity < 0) return make_error(ErrorCode::kInternal, "resampling to 48 kHz failed");
    std::array<std::uint8_t*, kMaxChannels> out{};
    std::array<const std::uint8_t*, kMaxChannels> in{};
    for (int c = 0; c < options.channels; ++c) {
      auto& buffer = resampled[static_cast<std::size_t>(c)];
      if (buffer.size() < static_cast<std::size_t>(capacity)) buffer.resize(static_cast<std::size_t>(capacity));
      out[static_cast<std::size_t>(c)] = reinterpret_cast<std::uint8_t*>(buffer.data());
      if (frames > 0) in[static_cast<std::size_t>(c)] = reinterpret_cast<const std::uint8_t*>(channels[c] + done);
    }
    const int produced =
        swr_convert(resampler.get(), out.data(), capacity, frames > 0 ? in.data() : nullptr, static_cast<int>(take));
    if (produced < 0)
      return make_error(ErrorCode::kInternal, "resampling to 48 kHz failed: " + ffmpeg::av_error_string(produced));
    std::array<const float*, kMaxChannels> planes{};
    for (int c = 0; c < options.channels; ++c)
      planes[static_cast<std::size_t>(c)] = resampled[static_cast<std::size_t>(c)].data();
    SPECTRUM_TRY(append(planes.data(), static_cast<std::size_t>(produced)));
    done += take;
  } while (done < frames);
  return {};
}

// Converts the fifo's planar floats into interleaved samples. Stereo gets its own loop, which vectorises.
template <class Sample, class Convert>
void Encoder::Impl::interleave(Sample* out, std::size_t frames, Convert convert) const noexcept {
  if (options.channels == 2) {
    const float* left = fifo[0].data();
    const float* right = fifo[1].data();
    for (std::size_t i = 0; i < frames; ++i) {
      out[2 * i] = convert(left[i]);
      out[2 * i + 1] = convert(right[i]);
    }
    return;
  }
  for (std::size_t i = 0; i < frames; ++i) {
    for (int c = 0; c < options.channels; ++c) *out++ = convert(fifo[static_cast<std::size_t>(c)][i]);
  }
}

Status Encoder::Impl::encode_fifo(std::size_t frames) {
  av_frame_unref(frame.get());
  frame->nb_samples = static_cast<int>(frames);
  frame->format = codec->sample_fmt;
  frame->sample_rate = codec->sample_rate;
  int err = av_channel_layout_copy(&frame->ch_layout, &codec->ch_layout);
  if (err >= 0) err = av_frame_get_buffer(frame.get(), 0);
  if (err < 0) return make_error(ErrorCode::kInternal, "out of memory encoding " + name);

  const int channels = options.channels;
  const auto ch = [&](int c) { return fifo[static_cast<std::size_t>(c)].data(); };
  switch (codec->sample_fmt) {
    // Interleaved integers; write() rounded (and dithered) the samples already. The depth is read from
    // choice.bits rather than written as a constant: GCC 12 vectorises quantize_sample() only that way.
    case AV_SAMPLE_FMT_S16:
      interleave(reinterpret_cast<std::int16_t*>(frame->data[0]), frames,
                 [bits = choice.bits](float x) { return static_cast<std::int16_t>(quantize_sample(x, bits, 0.0)); });
      break;
    case AV_SAMPLE_FMT_S32:  // 24-bit in the top bits of 32, as FFmpeg's s24 PCM and FLAC encoders take it
      interleave(reinterpret_cast<std::int32_t*>(frame->data[0]), frames, [bits = choice.bits](float x) {
        return static_cast<std::int32_t>(static_cast<std::uint32_t>(quantize_sample(x, bits, 0.0)) << 8);
      });
      break;
    case AV_SAMPLE_FMT_FLT: {
      auto* out = reinterpret_cast<float*>(frame->data[0]);
      for (std::size_t i = 0; i < frames; ++i) {
        for (int c = 0; c < channels; ++c) *out++ = ch(c)[i];
      }
      break;
    }
    case AV_SAMPLE_FMT_FLTP:
      for (int c = 0; c < channels; ++c) std::memcpy(frame->extended_data[c], ch(c), frames * sizeof(float));
      break;
    default:
      return make_error(ErrorCode::kInternal, "unexpected encoder sample format");
  }
  frame->pts = next_pts;
  next_pts += static_cast<std::int64_t>(frames);
  fifo_frames = 0;

  err = avcodec_send_frame(codec.get(), frame.get());
  if (err < 0)
    return make_error(ErrorCode::kInternal,
                      std::string("the ") + choice.encoder + " encoder failed: " + ffmpeg::av_error_string(err));
  return drain_packets();
}

// Not const: it advances the codec and muxer, which the Impl owns through pointers.
Status Encoder::Impl::drain_packets() {  // NOLINT(readability-make-member-function-const)
  while (true) {
    int err = avcodec_receive_packet(codec.get(), packet.get());
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return {};
    if (err < 0)
      return make_error(ErrorCode::kInternal,
                        std::string("the ") + choice.encoder + " encoder failed: " + ffmpeg::av_error_string(err));
    packet->stream_index = stream->index;
    av_packet_rescale_ts(packet.get(), codec->time_base, stream->time_base);
    err = av_interleaved_write_frame(muxer.get(), packet.get());  // takes the packet's reference
    if (err < 0) return make_error(ErrorCode::kIoError, "cannot write " + name + ": " + ffmpeg::av_error_string(err));
  }
}

int stored_bits(const EncoderOptions& options) {
  auto choice = choose_codec(options);
  return choice ? choice->bits : 0;
}

Encoder::Encoder(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Encoder::~Encoder() = default;

Expected<std::unique_ptr<Encoder>> Encoder::create(const std::filesystem::path& destination,
                                                   const EncoderOptions& options) {
  ffmpeg::configure_logging_once();
  if (options.channels < 1 || options.channels > kMaxChannels) {
    return make_error(ErrorCode::kInvalidArgument,
                      "output must be mono or stereo (got " + std::to_string(options.channels) + " channels)");
  }
  if (options.sample_rate_hz < kMinSampleRateHz || options.sample_rate_hz > kMaxSampleRateHz) {
    return make_error(ErrorCode::kInvalidArgument, "output sample rate must be " + std::to_string(kMinSampleRateHz) +
                                                       " to " + std::to_string(kMaxSampleRateHz) + " Hz (got " +
                                                       std::to_string(options.sample_rate_hz) + ")");
  }
  const FormatTraits& format = traits(options.format);
  if (options.bitrate_kbps && format.lossy &&
      (*options.bitrate_kbps < format.min_kbps || *options.bitrate_kbps > format.max_kbps)) {
    return make_error(ErrorCode::kInvalidArgument, std::string(format.display_name) + " bitrate must be " +
                                                       std::to_string(format.min_kbps) + " to " +
                                                       std::to_string(format.max_kbps) + " kbps (got " +
                                                       std::to_string(*options.bitrate_kbps) + ")");
  }
  auto choice = choose_codec(options);
  if (!choice) return std::move(choice).error();

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->choice = *choice;
  impl->name = destination.filename().string();
  if (Status opened = impl->open(destination); !opened) return impl->fail(std::move(opened).error());
  return std::unique_ptr<Encoder>(new Encoder(std::move(impl)));
}

int Encoder::output_sample_rate_hz() const noexcept {
  return impl_->output_rate_hz;
}

Status Encoder::write(const AudioBlock& block) {
  return impl_->write(block);
}

Status Encoder::Impl::write(const AudioBlock& block) {
  if (failed || committed) {
    return make_error(ErrorCode::kInternal, "Encoder::write after " + std::string(failed ? "an error" : "commit"));
  }
  if (block.num_channels() != options.channels) {
    return fail(
        make_error(ErrorCode::kInvalidArgument, "Encoder::write: block has " + std::to_string(block.num_channels()) +
                                                    " channels, the output " + std::to_string(options.channels)));
  }
  std::array<float*, kMaxChannels> planes{};
  for (int c = 0; c < block.num_channels(); ++c) {
    planes[static_cast<std::size_t>(c)] = block.channel(c);
    if (choice.bits == 0 || options.input_rounded) continue;  // nothing to round, or rounded already
    auto& copy = rounded[static_cast<std::size_t>(c)];
    copy.assign(block.channel(c), block.channel(c) + block.num_frames());
    planes[static_cast<std::size_t>(c)] = copy.data();
  }
  rounder.process(planes.data(), block.num_channels(), block.num_frames());
  Status status =
      resampler ? resample_and_append(planes.data(), block.num_frames()) : append(planes.data(), block.num_frames());
  if (!status) return fail(std::move(status).error());
  return {};
}

Status Encoder::commit() {
  Impl& e = *impl_;
  if (e.failed || e.committed) {
    return make_error(ErrorCode::kInternal, "Encoder::commit after " + std::string(e.failed ? "an error" : "commit"));
  }
  const auto finish = [&]() -> Status {
    if (e.resampler) SPECTRUM_TRY(e.resample_and_append(nullptr, 0));
    if (e.fifo_frames > 0) {
      // Codecs without a short last frame get silence up to a full frame.
      if ((e.codec->codec->capabilities & (AV_CODEC_CAP_SMALL_LAST_FRAME | AV_CODEC_CAP_VARIABLE_FRAME_SIZE)) == 0 &&
          e.codec->frame_size > 0) {
        for (int c = 0; c < e.options.channels; ++c) {
          std::fill(e.fifo[static_cast<std::size_t>(c)].begin() + static_cast<std::ptrdiff_t>(e.fifo_frames),
                    e.fifo[static_cast<std::size_t>(c)].end(), 0.0F);
        }
        e.fifo_frames = e.frame_frames;
      }
      SPECTRUM_TRY(e.encode_fifo(e.fifo_frames));
    }
    const int err = avcodec_send_frame(e.codec.get(), nullptr);
    if (err < 0 && err != AVERROR_EOF) {
      return make_error(ErrorCode::kInternal,
                        std::string("the ") + e.choice.encoder + " encoder failed: " + ffmpeg::av_error_string(err));
    }
    SPECTRUM_TRY(e.drain_packets());
    int written = av_write_trailer(e.muxer.get());
    if (written >= 0) written = avio_closep(&e.muxer->pb);
    if (written < 0)
      return make_error(ErrorCode::kIoError, "cannot write " + e.name + ": " + ffmpeg::av_error_string(written));
    e.muxer.reset();
    return e.file->commit();
  };
  Status status = finish();
  if (!status) return e.fail(std::move(status).error());
  e.committed = true;
  return {};
}

}  // namespace spectrum::audio
