// RAII owners for FFmpeg objects and error text. Internal to spectrum_audio: only .cpp files include it,
// so FFmpeg's headers never reach the module's users.
#pragma once

#include <memory>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libswresample/swresample.h>
}

namespace spectrum::audio::ffmpeg {

struct InputFormatDeleter {
  void operator()(AVFormatContext* ctx) const noexcept { avformat_close_input(&ctx); }
};
// An output context owns its AVIOContext, which must be closed separately from the muxer context.
struct OutputFormatDeleter {
  void operator()(AVFormatContext* ctx) const noexcept {
    if (ctx->pb != nullptr && (ctx->oformat->flags & AVFMT_NOFILE) == 0) avio_closep(&ctx->pb);
    avformat_free_context(ctx);
  }
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* ctx) const noexcept { avcodec_free_context(&ctx); }
};
struct FrameDeleter {
  void operator()(AVFrame* frame) const noexcept { av_frame_free(&frame); }
};
struct PacketDeleter {
  void operator()(AVPacket* packet) const noexcept { av_packet_free(&packet); }
};
struct SwrDeleter {
  void operator()(SwrContext* swr) const noexcept { swr_free(&swr); }
};

using InputFormatPtr = std::unique_ptr<AVFormatContext, InputFormatDeleter>;
using OutputFormatPtr = std::unique_ptr<AVFormatContext, OutputFormatDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using SwrPtr = std::unique_ptr<SwrContext, SwrDeleter>;

// FFmpeg's text for an AVERROR code, e.g. "Invalid data found when processing input".
std::string av_error_string(int errnum);

// FFmpeg logs to stderr by default, including internal paths and noise about corrupt input that we
// already report as error values. Called by Decoder::open and Encoder::create; sets the level once to
// AV_LOG_FATAL unless SPECTRUM_FFMPEG_LOG_LEVEL (an av_log level number, e.g. 32 = info) says otherwise.
void configure_logging_once();

}  // namespace spectrum::audio::ffmpeg
