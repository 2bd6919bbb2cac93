#include "support/wav_file.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

namespace spectrum::test {
namespace {

std::uint32_t le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint16_t le16(const unsigned char* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

void put32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v & 0xFF));
  out.push_back(static_cast<char>(v >> 8));
}

constexpr std::uint16_t kFormatPcm = 1;
constexpr std::uint16_t kFormatFloat = 3;
constexpr std::uint16_t kFormatExtensible = 0xFFFE;

}  // namespace

Expected<WavData> read_wav(const std::filesystem::path& path) {
  std::error_code ec;
  const auto file_size = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in) return make_error(ErrorCode::kNotFound, "cannot open " + path.filename().string());
  std::string bytes(static_cast<std::size_t>(file_size), '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
    return make_error(ErrorCode::kIoError, "cannot read " + path.filename().string());
  }
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 12 || std::memcmp(data, "RIFF", 4) != 0 || std::memcmp(data + 8, "WAVE", 4) != 0) {
    return make_error(ErrorCode::kCorruptInput, "not a RIFF/WAVE file: " + path.filename().string());
  }
  std::uint16_t format = 0;
  int channels = 0;
  int bits = 0;
  WavData out;
  const unsigned char* samples = nullptr;
  std::size_t sample_bytes = 0;
  for (std::size_t pos = 12; pos + 8 <= bytes.size();) {
    const std::uint32_t size = le32(data + pos + 4);
    const unsigned char* body = data + pos + 8;
    const std::size_t available = std::min<std::size_t>(size, bytes.size() - pos - 8);
    if (std::memcmp(data + pos, "fmt ", 4) == 0 && available >= 16) {
      format = le16(body);
      channels = le16(body + 2);
      out.sample_rate_hz = static_cast<int>(le32(body + 4));
      bits = le16(body + 14);
      if (format == kFormatExtensible && available >= 26) format = le16(body + 24);  // sub-format GUID
    } else if (std::memcmp(data + pos, "data", 4) == 0) {
      samples = body;
      sample_bytes = available;
    }
    pos += 8 + size + (size & 1U);
  }
  const bool pcm = format == kFormatPcm && (bits == 16 || bits == 24 || bits == 32);
  const bool flt = format == kFormatFloat && bits == 32;
  if (channels <= 0 || samples == nullptr || (!pcm && !flt)) {
    return make_error(ErrorCode::kUnsupported, "unsupported WAV layout in " + path.filename().string());
  }
  const std::size_t bytes_per_sample = static_cast<std::size_t>(bits / 8);
  const std::size_t frames = sample_bytes / (bytes_per_sample * static_cast<std::size_t>(channels));
  out.channels.assign(static_cast<std::size_t>(channels), std::vector<float>(frames));
  const double scale = 1.0 / static_cast<double>(1U << (bits - 1));
  for (std::size_t i = 0; i < frames; ++i) {
    for (std::size_t c = 0; c < static_cast<std::size_t>(channels); ++c) {
      const unsigned char* p = samples + (i * static_cast<std::size_t>(channels) + c) * bytes_per_sample;
      float v = 0.0F;
      if (flt) {
        const std::uint32_t u = le32(p);
        std::memcpy(&v, &u, sizeof v);
      } else {
        std::uint32_t u = 0;
        for (std::size_t b = 0; b < bytes_per_sample; ++b) u |= static_cast<std::uint32_t>(p[b]) << (8 * b);
        u <<= 32 - bits;  // sign-extend via the top bits
        std::int32_t s = 0;
        std::memcpy(&s, &u, sizeof s);
        v = static_cast<float>(static_cast<double>(s >> (32 - bits)) * scale);
      }
      out.channels[c][i] = v;
    }
  }
  return out;
}

Status write_wav_float(const std::filesystem::path& path, const WavData& data) {
  const auto channels = static_cast<std::uint16_t>(data.channels.size());
  const std::size_t frames = data.num_frames();
  const auto data_bytes = static_cast<std::uint32_t>(frames * channels * 4U);
  std::string out;
  out.reserve(58 + data_bytes);
  out += "RIFF";
  put32(out, 50 + data_bytes);
  out += "WAVEfmt ";
  put32(out, 18);
  put16(out, kFormatFloat);
  put16(out, channels);
  put32(out, static_cast<std::uint32_t>(data.sample_rate_hz));
  put32(out, static_cast<std::uint32_t>(data.sample_rate_hz) * channels * 4U);
  put16(out, static_cast<std::uint16_t>(channels * 4U));
  put16(out, 32);
  put16(out, 0);
  out += "fact";
  put32(out, 4);
  put32(out, static_cast<std::uint32_t>(frames));
  out += "data";
  put32(out, data_bytes);
  for (std::size_t i = 0; i < frames; ++i) {
    for (const auto& ch : data.channels) {
      std::uint32_t u = 0;
      std::memcpy(&u, &ch[i], sizeof u);
      put32(out, u);
    }
  }
  std::ofstream file(path, std::ios::binary);
  file.write(out.data(), static_cast<std::streamsize>(out.size()));
  if (!file) return make_error(ErrorCode::kIoError, "cannot write " + path.filename().string());
  return {};
}

Status write_wav_float(const std::filesystem::path& path, const AudioBuffer& buffer, int sample_rate_hz) {
  WavData data;
  data.sample_rate_hz = sample_rate_hz;
  for (int c = 0; c < buffer.num_channels(); ++c) {
    data.channels.emplace_back(buffer.channel(c), buffer.channel(c) + buffer.num_frames());
  }
  return write_wav_float(path, data);
}

}  // namespace spectrum::test
