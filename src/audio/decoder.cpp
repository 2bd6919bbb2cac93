#include "audio/decoder.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <system_error>

#include "audio/ffmpeg_util.h"
#include "common/text.h"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/samplefmt.h>
}

namespace spectrum::audio {
namespace {

namespace fs = std::filesystem;

// Container and codec bookkeeping that is not the user's metadata; carrying it into an output would
// be wrong (the muxer writes its own) or meaningless.
constexpr std::array<std::string_view, 9> kTechnicalTags = {"encoder",           "major_brand",  "minor_version",
                                                            "compatible_brands", "handler_name", "vendor_id",
                                                            "encoder_options",   "itunsmpb",     "duration"};

bool is_pcm(AVCodecID id) noexcept {
  return id >= AV_CODEC_ID_PCM_S16LE && id < AV_CODEC_ID_ADPCM_IMA_QT;
}

bool readable(const fs::path& path) noexcept {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return false;
  std::array<char, 1> byte{};
  const bool ok = std::fread(byte.data(), 1, byte.size(), file) == byte.size() || std::feof(file) != 0;
  std::fclose(file);
  return ok;
}

// A RIFF (WAV) or FORM (AIFF) file states its total size in its first 8 bytes: the bytes it claims beyond
// its end (0 when none, or when the size is the "unknown" 0 or 0xFFFFFFFF some recorders write).
std::int64_t bytes_missing_from_header(const fs::path& path) noexcept {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return 0;
  std::array<unsigned char, 8> head{};
  const bool read = std::fread(head.data(), 1, head.size(), file) == head.size();
  std::fclose(file);
  if (!read) return 0;
  const bool riff = std::memcmp(head.data(), "RIFF", 4) == 0;
  const bool form = std::memcmp(head.data(), "FORM", 4) == 0;
  if (!riff && !form) return 0;
  std::uint32_t size = 0;
  for (int i = 0; i < 4; ++i) {
    const std::uint32_t byte = head[static_cast<std::size_t>(riff ? 7 - i : 4 + i)];
    size = (size << 8) | byte;
  }
  if (size == 0 || size == 0xFFFFFFFFU) return 0;
  std::error_code ec;
  const auto actual = fs::file_size(path, ec);
  if (ec) return 0;
  const std::int64_t claimed = static_cast<std::int64_t>(size) + 8;
  return std::max<std::int64_t>(0, claimed - static_cast<std::int64_t>(actual));
}

bool is_float_format(int sample_format) noexcept {
  const auto packed = av_get_packed_sample_fmt(static_cast<AVSampleFormat>(sample_format));
  return packed == AV_SAMPLE_FMT_FLT || packed == AV_SAMPLE_FMT_DBL;
}

void append_tags(const AVDictionary* dict, std::vector<std::pair<std::string, std::string>>& tags) {
  const AVDictionaryEntry* entry = nullptr;
  while ((entry = av_dict_get(dict, "", entry, AV_DICT_IGNORE_SUFFIX)) != nullptr) {
    std::string key = ascii_lower(entry->key);
    if (std::find(kTechnicalTags.begin(), kTechnicalTags.end(), key) != kTechnicalTags.end()) continue;
    const bool seen = std::any_of(tags.begin(), tags.end(), [&](const auto& tag) { return tag.first == key; });
    if (!seen) tags.emplace_back(std::move(key), entry->value);
  }
}

Error not_decodable(const std::string& name, const std::string& why) {
  return make_error(ErrorCode::kCorruptInput, "not a decodable audio file: " + name + " (" + why + ")");
}

Error too_many_channels(int channels) {
  return make_error(ErrorCode::kUnsupported,
                    "input has " + std::to_string(channels) + " channels; only mono and stereo are supported");
}

Status check_rate(int sample_rate_hz) {
  if (sample_rate_hz < kMinSampleRateHz || sample_rate_hz > kMaxSampleRateHz) {
    return make_error(ErrorCode::kUnsupported,
                      "input sample rate " + std::to_string(sample_rate_hz) + " Hz is outside the supported range of " +
                          std::to_string(kMinSampleRateHz) + " to " + std::to_string(kMaxSampleRateHz) + " Hz");
  }
  return {};
}

// An AVChannelLayout that is released on scope exit (custom layouts own memory).
struct ChannelLayout {
  AVChannelLayout layout{};
  ChannelLayout() = default;
  ChannelLayout(const ChannelLayout&) = delete;
  ChannelLayout& operator=(const ChannelLayout&) = delete;
  ~ChannelLayout() { av_channel_layout_uninit(&layout); }
};

}  // namespace

struct Decoder::Impl {
  fs::path path;
  std::string name;  // the file name only: messages reach users, directories may be internal
  StreamInfo info;

  ffmpeg::InputFormatPtr format;
  ffmpeg::CodecContextPtr codec;
  ffmpeg::PacketPtr packet;
  ffmpeg::FramePtr frame;
  ffmpeg::SwrPtr swr;
  int stream_index = -1;

  // What swr is configured for; reconfigured if a frame arrives in another sample format or layout.
  int swr_in_format = AV_SAMPLE_FMT_NONE;
  AVChannelLayout swr_in_layout{};

  // Converted samples not yet handed out. Holds at most one decoded frame: memory is bounded.
  std::array<std::vector<float>, kMaxChannels> pending;
  std::size_t pending_frames = 0;
  std::size_t pending_offset = 0;

  bool read_from = false;   // read() has handed out audio: a rewind must reopen
  bool flush_sent = false;  // the demuxer ended and the decoder was told
  bool finished = false;    // the decoder returned its last frame
  std::int64_t nonfinite_replaced = 0;
  std::int64_t damaged_packets = 0;  // refused by the codec and skipped

  ~Impl() { av_channel_layout_uninit(&swr_in_layout); }

  Status open_input(const AVInputFormat* demuxer);
  Expected<bool> decode_more();
  Status convert(const AVFrame& decoded);
  Expected<bool> drain_resampler();
  void sanitize(std::size_t frames) noexcept;
  void ensure_pending_capacity(std::size_t frames);

  // `demuxer`: the one a first open found, so a reopen need not probe the file again (nullptr: probe).
  static Expected<std::unique_ptr<Impl>> open(const fs::path& path, const AVInputFormat* demuxer = nullptr);
};

Status Decoder::Impl::open_input(const AVInputFormat* demuxer) {
  AVFormatContext* raw = nullptr;
  int err = avformat_open_input(&raw, path.c_str(), demuxer, nullptr);
  if (err < 0) {
    if (err == AVERROR(ENOENT)) return make_error(ErrorCode::kNotFound, "file not found: " + name);
    // FFmpeg's demuxers also report a header cut short as EIO: only a file we cannot read ourselves is an
    // I/O fault; one we can read is simply not decodable.
    if ((err == AVERROR(EACCES) || err == AVERROR(EIO)) && !readable(path)) {
      return make_error(ErrorCode::kIoError, "cannot read " + name + ": " + ffmpeg::av_error_string(err));
    }
    return not_decodable(name, ffmpeg::av_error_string(err));
  }
  format.reset(raw);
  err = avformat_find_stream_info(format.get(), nullptr);
  if (err < 0) return not_decodable(name, ffmpeg::av_error_string(err));

  const AVCodec* decoder = nullptr;
  stream_index = av_find_best_stream(format.get(), AVMEDIA_TYPE_AUDIO, -1, -1, &decoder, 0);
  if (stream_index == AVERROR_STREAM_NOT_FOUND) return not_decodable(name, "no audio stream");
  AVStream* stream = format->streams[stream_index >= 0 ? stream_index : 0];
  if (stream_index == AVERROR_DECODER_NOT_FOUND || decoder == nullptr) {
    // av_find_best_stream does not say which stream it meant; name the first audio codec there is.
    for (unsigned i = 0; i < format->nb_streams; ++i) {
      if (format->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) {
        return make_error(ErrorCode::kUnsupported, std::string("no decoder for the audio codec '") +
                                                       avcodec_get_name(format->streams[i]->codecpar->codec_id) +
                                                       "' in " + name);
      }
    }
    return not_decodable(name, "no audio stream");
  }
  if (stream_index < 0) return not_decodable(name, ffmpeg::av_error_string(stream_index));
  for (unsigned i = 0; i < format->nb_streams; ++i) {
    if (static_cast<int>(i) != stream_index) format->streams[i]->discard = AVDISCARD_ALL;
  }

  const AVCodecParameters& par = *stream->codecpar;
  if (par.ch_layout.nb_channels > kMaxChannels) return too_many_channels(par.ch_layout.nb_channels);

  codec.reset(avcodec_alloc_context3(decoder));
  packet.reset(av_packet_alloc());
  frame.reset(av_frame_alloc());
  if (!codec || !packet || !frame) return make_error(ErrorCode::kInternal, "out of memory opening " + name);
  err = avcodec_parameters_to_context(codec.get(), &par);
  if (err < 0) return not_decodable(name, ffmpeg::av_error_string(err));
  codec->pkt_timebase = stream->time_base;
  err = avcodec_open2(codec.get(), decoder, nullptr);
  if (err < 0) return not_decodable(name, ffmpeg::av_error_string(err));

  info.container = format->iformat->name;
  info.codec = avcodec_get_name(par.codec_id);
  info.channels = par.ch_layout.nb_channels;
  info.sample_rate_hz = par.sample_rate;
  info.format = format_of_input(info.container, info.codec, is_pcm(par.codec_id));
  info.tags.clear();
  append_tags(format->metadata, info.tags);
  append_tags(stream->metadata, info.tags);
  return {};
}

// Decodes until at least one converted frame is pending. Returns false at the end of the stream.
Expected<bool> Decoder::Impl::decode_more() {
  // Corrupt packets are skipped (FFmpeg's own tools do the same); this bounds a hopeless stream.
  constexpr int kMaxConsecutiveErrors = 1000;
  int consecutive_errors = 0;
  while (!finished) {
    int err = avcodec_receive_frame(codec.get(), frame.get());
    if (err == 0) {
      const Status converted = convert(*frame);
      av_frame_unref(frame.get());
      SPECTRUM_TRY(converted);
      if (pending_frames > 0) return true;
      continue;
    }
    if (err == AVERROR_EOF) {
      finished = true;
      break;
    }
    if (err != AVERROR(EAGAIN)) {
      ++damaged_packets;
      if (err != AVERROR_INVALIDDATA || ++consecutive_errors > kMaxConsecutiveErrors) {
        return not_decodable(name, ffmpeg::av_error_string(err));
      }
      continue;
    }
    // The decoder wants input.
    if (flush_sent) {
      finished = true;  // should not happen: a flushed decoder returns EOF, not EAGAIN
      break;
    }
    err = av_read_frame(format.get(), packet.get());
    if (err < 0) {
      // End of file, or a truncated/corrupt tail: decode what was read so far.
      if (err != AVERROR_EOF && err != AVERROR_INVALIDDATA && err != AVERROR(EIO)) {
        return make_error(ErrorCode::kIoError, "cannot read " + name + ": " + ffmpeg::av_error_string(err));
      }
      avcodec_send_packet(codec.get(), nullptr);
      flush_sent = true;
      continue;
    }
    if (packet->stream_index != stream_index) {
      av_packet_unref(packet.get());
      continue;
    }
    err = avcodec_send_packet(codec.get(), packet.get());
    av_packet_unref(packet.get());
    if (err < 0 && err != AVERROR(EAGAIN)) {
      if (err == AVERROR(ENOMEM)) return make_error(ErrorCode::kInternal, "out of memory decoding " + name);
      ++damaged_packets;
      if (++consecutive_errors > kMaxConsecutiveErrors) return not_decodable(name, ffmpeg::av_error_string(err));
    } else {
      consecutive_errors = 0;
    }
  }
  return drain_resampler();
}

void Decoder::Impl::ensure_pending_capacity(std::size_t frames) {
  for (int c = 0; c < info.channels; ++c) {
    auto& channel = pending[static_cast<std::size_t>(c)];
    if (channel.size() < frames) channel.resize(frames);
  }
}

Status Decoder::Impl::convert(const AVFrame& decoded) {
  if (decoded.nb_samples <= 0) return {};
  if (decoded.sample_rate != info.sample_rate_hz) {
    return make_error(ErrorCode::kUnsupported, "the sample rate of " + name + " changes mid-stream (" +
                                                   std::to_string(info.sample_rate_hz) + " Hz to " +
                                                   std::to_string(decoded.sample_rate) + " Hz)");
  }
  if (!swr || decoded.format != swr_in_format || av_channel_layout_compare(&decoded.ch_layout, &swr_in_layout) != 0) {
    ChannelLayout in;
    ChannelLayout out;
    // An "unspecified order" layout cannot be mapped by swr; the channel count is all that matters here.
    if (decoded.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
      av_channel_layout_default(&in.layout, decoded.ch_layout.nb_channels);
    } else if (av_channel_layout_copy(&in.layout, &decoded.ch_layout) < 0) {
      return make_error(ErrorCode::kInternal, "out of memory decoding " + name);
    }
    // Same layout in and out: swr only converts the sample format. A frame whose channel count differs
    // from the stream's (a rare mid-stream change) is mixed to the stream's count.
    if (in.layout.nb_channels == info.channels) {
      av_channel_layout_copy(&out.layout, &in.layout);
    } else {
      av_channel_layout_default(&out.layout, info.channels);
    }
    SwrContext* raw = nullptr;
    int err = swr_alloc_set_opts2(&raw, &out.layout, AV_SAMPLE_FMT_FLTP, info.sample_rate_hz, &in.layout,
                                  static_cast<AVSampleFormat>(decoded.format), decoded.sample_rate, 0, nullptr);
    swr.reset(raw);
    if (err >= 0) err = swr_init(swr.get());
    if (err < 0) {
      swr.reset();
      return make_error(ErrorCode::kUnsupported,
                        "cannot convert the samples of " + name + ": " + ffmpeg::av_error_string(err));
    }
    swr_in_format = decoded.format;
    av_channel_layout_uninit(&swr_in_layout);
    av_channel_layout_copy(&swr_in_layout, &decoded.ch_layout);
  }
  const int capacity = swr_get_out_samples(swr.get(), decoded.nb_samples);
  if (capacity < 0) return make_error(ErrorCode::kInternal, "sample conversion failed for " + name);
  ensure_pending_capacity(static_cast<std::size_t>(capacity));
  std::array<std::uint8_t*, kMaxChannels> out{};
  for (int c = 0; c < info.channels; ++c) {
    out[static_cast<std::size_t>(c)] = reinterpret_cast<std::uint8_t*>(pending[static_cast<std::size_t>(c)].data());
  }
  // swr_convert only reads the input planes; C++ cannot add const two pointer levels down implicitly.
  const auto** in = const_cast<const std::uint8_t**>(decoded.extended_data);  // NOLINT(*-pro-type-const-cast)
  const int converted = swr_convert(swr.get(), out.data(), capacity, in, decoded.nb_samples);
  if (converted < 0) {
    return make_error(ErrorCode::kInternal,
                      "sample conversion failed for " + name + ": " + ffmpeg::av_error_string(converted));
  }
  pending_offset = 0;
  pending_frames = static_cast<std::size_t>(converted);
  sanitize(pending_frames);
  return {};
}

// Without a rate change swr holds nothing back, but draining costs little and keeps that an assumption
// we do not depend on.
Expected<bool> Decoder::Impl::drain_resampler() {
  if (!swr) return false;
  const int capacity = swr_get_out_samples(swr.get(), 0);
  if (capacity <= 0) return false;
  ensure_pending_capacity(static_cast<std::size_t>(capacity));
  std::array<std::uint8_t*, kMaxChannels> out{};
  for (int c = 0; c < info.channels; ++c) {
    out[static_cast<std::size_t>(c)] = reinterpret_cast<std::uint8_t*>(pending[static_cast<std::size_t>(c)].data());
  }
  const int converted = swr_convert(swr.get(), out.data(), capacity, nullptr, 0);
  if (converted <= 0) return false;
  pending_offset = 0;
  pending_frames = static_cast<std::size_t>(converted);
  sanitize(pending_frames);
  return true;
}

void Decoder::Impl::sanitize(std::size_t frames) noexcept {
  // Branch-free, so it vectorises: a float is non-finite when all its exponent bits are set.
  constexpr std::uint32_t kExponent = 0x7F800000U;
  for (int c = 0; c < info.channels; ++c) {
    float* samples = pending[static_cast<std::size_t>(c)].data();
    std::uint32_t replaced = 0;
    for (std::size_t i = 0; i < frames; ++i) {
      const std::uint32_t nonfinite = (std::bit_cast<std::uint32_t>(samples[i]) & kExponent) == kExponent ? 1U : 0U;
      replaced += nonfinite;
      samples[i] = nonfinite != 0 ? 0.0F : samples[i];
    }
    nonfinite_replaced += replaced;
  }
}

Expected<std::unique_ptr<Decoder::Impl>> Decoder::Impl::open(const fs::path& path, const AVInputFormat* demuxer) {
  ffmpeg::configure_logging_once();
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->name = path.filename().string();
  if (impl->name.empty()) impl->name = path.string();

  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) return make_error(ErrorCode::kNotFound, "file not found: " + impl->name);
  if (fs::is_directory(status)) return not_decodable(impl->name, "it is a directory");
  if (fs::is_regular_file(status) && fs::file_size(path, ec) == 0 && !ec) {
    return not_decodable(impl->name, "the file is empty");
  }

  SPECTRUM_TRY(impl->open_input(demuxer));
  StreamInfo& info = impl->info;

  // The first decoded frame is the authority on channels and rate (some containers do not say).
  // Decoding it here means a Decoder that opened can deliver audio.
  if (info.channels <= 0) info.channels = impl->codec->ch_layout.nb_channels;
  if (info.sample_rate_hz <= 0) info.sample_rate_hz = impl->codec->sample_rate;
  if (info.channels > kMaxChannels) return too_many_channels(info.channels);
  if (info.channels <= 0) return not_decodable(impl->name, "unknown channel count");
  SPECTRUM_TRY(check_rate(info.sample_rate_hz));
  auto first = impl->decode_more();
  if (!first) return std::move(first).error();
  if (!*first) return not_decodable(impl->name, "it contains no audio samples");

  const AVCodecParameters& par = *impl->format->streams[impl->stream_index]->codecpar;
  const AVCodecDescriptor* descriptor = avcodec_descriptor_get(par.codec_id);
  const bool lossless = descriptor != nullptr && (descriptor->props & AV_CODEC_PROP_LOSSLESS) != 0;
  if (lossless) {
    const int sample_format = impl->swr_in_format;
    info.is_float = is_float_format(sample_format);
    int bits = impl->codec->bits_per_raw_sample;
    if (bits <= 0) bits = par.bits_per_raw_sample;
    if (bits <= 0) bits = par.bits_per_coded_sample;
    if (bits <= 0) bits = av_get_bytes_per_sample(static_cast<AVSampleFormat>(sample_format)) * 8;
    info.bits_per_sample = bits;
  }

  const AVStream* stream = impl->format->streams[impl->stream_index];
  if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0) {
    info.duration_frames_estimate =
        av_rescale_q(stream->duration, stream->time_base, AVRational{1, info.sample_rate_hz});
  } else if (impl->format->duration != AV_NOPTS_VALUE && impl->format->duration > 0) {
    info.duration_frames_estimate = av_rescale(impl->format->duration, info.sample_rate_hz, AV_TIME_BASE);
  } else {
    info.duration_frames_estimate = -1;
  }
  // A duration from the bitrate is a guess, except for PCM, whose bitrate is exact.
  const bool pcm = is_pcm(par.codec_id);
  if (info.duration_frames_estimate > 0 &&
      (pcm || impl->format->duration_estimation_method != AVFMT_DURATION_FROM_BITRATE)) {
    info.stated_frames = info.duration_frames_estimate;
  }
  if (pcm && info.stated_frames > 0) {
    const std::int64_t frame_bytes = static_cast<std::int64_t>(info.channels) * std::max(info.bits_per_sample, 8) / 8;
    info.stated_frames += bytes_missing_from_header(path) / frame_bytes;
  }
  return impl;
}

Decoder::Decoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)), info_(impl_->info) {}
Decoder::~Decoder() = default;

Expected<std::unique_ptr<Decoder>> Decoder::open(const fs::path& path) {
  auto impl = Impl::open(path);
  if (!impl) return std::move(impl).error();
  return std::unique_ptr<Decoder>(new Decoder(std::move(impl).value()));
}

const StreamInfo& Decoder::info() const noexcept {
  return info_;
}

std::int64_t Decoder::nonfinite_samples_replaced() const noexcept {
  return impl_->nonfinite_replaced;
}

std::int64_t Decoder::damaged_packets_skipped() const noexcept {
  return impl_->damaged_packets;
}

Expected<std::size_t> Decoder::read(AudioBuffer& buffer) {
  Impl& d = *impl_;
  if (buffer.num_channels() != d.info.channels) {
    return make_error(ErrorCode::kInvalidArgument, "Decoder::read: buffer has " +
                                                       std::to_string(buffer.num_channels()) +
                                                       " channels, the stream " + std::to_string(d.info.channels));
  }
  if (buffer.capacity() == 0) return make_error(ErrorCode::kInvalidArgument, "Decoder::read: buffer has no capacity");
  std::size_t filled = 0;
  while (filled < buffer.capacity()) {
    if (d.pending_offset == d.pending_frames) {
      d.pending_offset = d.pending_frames = 0;
      auto more = d.decode_more();
      if (!more) return std::move(more).error();
      if (!*more) break;
    }
    const std::size_t count = std::min(buffer.capacity() - filled, d.pending_frames - d.pending_offset);
    for (int c = 0; c < d.info.channels; ++c) {
      const float* source = d.pending[static_cast<std::size_t>(c)].data() + d.pending_offset;
      std::copy_n(source, count, buffer.channel(c) + filled);
    }
    d.pending_offset += count;
    filled += count;
  }
  buffer.set_num_frames(filled);
  d.read_from = d.read_from || filled > 0;
  return filled;
}

Status Decoder::rewind() {
  // Nothing handed out yet (open() decodes only the first frame, and keeps it): already at the first sample.
  if (!impl_->read_from) return {};
  auto reopened = Impl::open(impl_->path, impl_->format->iformat);
  if (!reopened) return std::move(reopened).error();
  if (reopened.value()->info.channels != impl_->info.channels ||
      reopened.value()->info.sample_rate_hz != impl_->info.sample_rate_hz) {
    return make_error(ErrorCode::kIoError, impl_->name + " changed while it was being read");
  }
  impl_ = std::move(reopened).value();
  return {};
}

}  // namespace spectrum::audio
