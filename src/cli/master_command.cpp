// `master`, `analyze` and `eq-curves`: the engine from the command line.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audio/format.h"
#include "cli/commands.h"
#include "mastering/album.h"
#include "mastering/engine.h"
#include "mastering/eq_curves.h"

namespace spectrum::cli {
namespace {

using nlohmann::json;
namespace m = spectrum::mastering;

struct MasterOptions {
  std::string input;
  std::string output;
  std::optional<double> target_loudness;
  std::optional<double> compression_ratio;
  std::optional<std::string> eq_profile;
  std::optional<double> stereo_width;
  std::optional<double> tonal_match;
  std::optional<double> true_peak_ceiling;
  std::optional<double> loudness_range;
  std::optional<std::string> reference;
  std::optional<std::string> format;
  std::optional<double> bitrate;
  std::optional<std::string> preset;
  std::vector<std::string> inputs;  // master-album
  bool individual = false;          // master-album
  double max_duration_s = 0.0;
  bool json_output = false;
  bool quiet = false;
};

// The CLI builds the same JSON object the API receives, so both go through the one settings parser.
json settings_json(const MasterOptions& o) {
  json j = json::object();
  if (o.target_loudness) j["targetLoudness"] = *o.target_loudness;
  if (o.compression_ratio) j["compressionRatio"] = *o.compression_ratio;
  if (o.eq_profile) j["eqProfile"] = *o.eq_profile;
  if (o.stereo_width) j["stereoWidth"] = *o.stereo_width;
  if (o.tonal_match) j["tonalMatch"] = *o.tonal_match;
  if (o.true_peak_ceiling) j["truePeakCeiling"] = *o.true_peak_ceiling;
  if (o.loudness_range) j["loudnessRange"] = *o.loudness_range;
  if (o.format) j["outputFormat"] = *o.format;
  if (o.bitrate) j["bitrate"] = *o.bitrate;
  if (o.preset) {
    j["preset"] = *o.preset;
    // The output path names its format, so a preset's format must not contradict it.
    const std::string extension = std::filesystem::path(o.output).extension().string();
    if (!o.format && !extension.empty()) {
      if (const auto format = audio::format_from_name(extension)) j["outputFormat"] = audio::traits(*format).name;
    }
  }
  return j;
}

int report_error(const Error& e) {
  std::cerr << "error: " << e.message << "\n";
  return exit_code_for(e);
}

std::string fmt_db(double v, const char* unit) {
  if (!std::isfinite(v)) return "-inf " + std::string(unit);
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << v << " " << unit;
  return s.str();
}

void print_measurement_row(std::ostream& out, const char* label, double in, double out_v, const char* unit) {
  out << "  " << std::left << std::setw(18) << label << std::right << std::setw(14) << fmt_db(in, unit) << "  ->"
      << std::setw(14) << fmt_db(out_v, unit) << "\n";
}

void print_master_report(const m::MasterReport& r, std::ostream& out) {
  out << "Mastered to " << fmt_db(r.target_loudness_lufs, "LUFS") << " (ceiling "
      << fmt_db(r.settings.true_peak_ceiling_dbtp, "dBTP") << ", " << r.output.format << ", " << r.output.sample_rate_hz
      << " Hz, " << r.output.channels << " ch)\n";
  print_measurement_row(out, "integrated", r.input.integrated_lufs, r.output.integrated_lufs, "LUFS");
  print_measurement_row(out, "loudness range", r.input.loudness_range_lu, r.output.loudness_range_lu, "LU");
  print_measurement_row(out, "true peak", r.input.true_peak_dbtp, r.output.true_peak_dbtp, "dBTP");
  print_measurement_row(out, "sample peak", r.input.sample_peak_dbfs, r.output.sample_peak_dbfs, "dBFS");
  out << "  gain " << fmt_db(r.gain_applied_db, "dB") << "; compressor reduction max "
      << fmt_db(r.compressor.max_db, "dB") << " / mean " << fmt_db(r.compressor.mean_db, "dB") << "; limiter max "
      << fmt_db(r.limiter.max_db, "dB") << " / mean " << fmt_db(r.limiter.mean_db, "dB") << "\n";
  for (const auto& w : r.warnings) out << "  warning: " << w << "\n";
}

void print_measurement(const m::Measurement& mm, std::ostream& out) {
  out << "  format            " << mm.format << ", " << mm.sample_rate_hz << " Hz, " << mm.channels << " ch, "
      << std::fixed << std::setprecision(2) << mm.duration_s << " s\n"
      << "  integrated        " << fmt_db(mm.integrated_lufs, "LUFS") << "\n"
      << "  loudness range    " << fmt_db(mm.loudness_range_lu, "LU") << "\n"
      << "  true peak         " << fmt_db(mm.true_peak_dbtp, "dBTP") << "\n"
      << "  sample peak       " << fmt_db(mm.sample_peak_dbfs, "dBFS") << "\n";
}

// Progress on stderr, only for a person watching a terminal.
m::ProgressCallback terminal_progress(bool quiet) {
  if (quiet || isatty(STDERR_FILENO) == 0) return {};
  // The same stages the service streams (docs/api.md): analyse, master (with the loop's pass), encode, verify.
  return [](const m::ProgressUpdate& update) {
    std::string stage(update.stage);
    if (update.pass > 0) stage += " pass " + std::to_string(update.pass);
    std::fprintf(stderr, "\r%-16s %3d%%", stage.c_str(), static_cast<int>(std::lround(update.fraction * 100.0)));
    if (update.fraction >= 1.0) std::fputc('\n', stderr);
    std::fflush(stderr);
  };
}

int run_master(const MasterOptions& o) {
  auto settings = m::parse_settings(settings_json(o));
  if (!settings) return report_error(settings.error());
  m::MasterJob job;
  job.input = o.input;
  job.output = o.output;
  job.settings = *settings;
  if (o.reference) job.reference = *o.reference;
  job.limits.max_duration_s = o.max_duration_s;
  job.on_progress = terminal_progress(o.quiet || o.json_output);
  auto report = m::master_file(job);
  if (!report) return report_error(report.error());
  if (o.json_output) {
    std::cout << m::to_json(*report).dump(2) << "\n";
  } else if (!o.quiet) {
    print_master_report(*report, std::cout);
  }
  return kExitOk;
}

int run_analyze(const std::string& path, bool json_output) {
  auto report = m::analyze_file(path);
  if (!report) return report_error(report.error());
  if (json_output) {
    std::cout << m::to_json(*report).dump(2) << "\n";
  } else {
    std::cout << path << "\n";
    print_measurement(report->measurement, std::cout);
    for (const auto& w : report->warnings) std::cout << "  warning: " << w << "\n";
  }
  return kExitOk;
}

// The documented profile curves, in dB at the third-octave centres (docs/eq-curves.md is this output).
int run_eq_curves() {
  const m::EqProfile profiles[] = {m::EqProfile::kNeutral, m::EqProfile::kBright, m::EqProfile::kWarm,
                                   m::EqProfile::kBassBoost};
  std::cout << "| Hz | neutral | bright | warm | bass-boost | reference tilt |\n|---:|---:|---:|---:|---:|---:|\n";
  for (double f : m::third_octave_centres_hz()) {
    std::cout << "| " << std::fixed << std::setprecision(f < 100 ? 1 : 0) << f;
    for (auto p : profiles)
      std::cout << " | " << std::showpos << std::setprecision(2) << m::profile_gain_db(p, f) << std::noshowpos;
    std::cout << " | " << std::showpos << std::setprecision(2) << m::reference_tilt_db(f) << std::noshowpos << " |\n";
  }
  return kExitOk;
}

// The settings both master commands take, as the API names them (settings_json turns them into its object).
void add_settings_options(CLI::App* command, MasterOptions& opts) {
  command->add_option("--target-loudness", opts.target_loudness,
                      "Integrated loudness target, LUFS (-20..-10; default -14, or the reference's)");
  command->add_option("--compression-ratio", opts.compression_ratio, "Compressor ratio (1..10; 1 = off; default 4)");
  command->add_option("--eq-profile", opts.eq_profile, "neutral | bright | warm | bass-boost (default neutral)");
  command->add_option("--stereo-width", opts.stereo_width, "Stereo width, percent (0..200; default 100)");
  command->add_option("--tonal-match", opts.tonal_match,
                      "Adaptive tonal matching amount, percent (0..100; default 50)");
  command->add_option("--true-peak-ceiling", opts.true_peak_ceiling, "Limiter ceiling, dBTP (-9..0; default -1)");
  command->add_option("--loudness-range", opts.loudness_range,
                      "Level a wider input towards this loudness range, LU (1..30; default: keep the input's)");
  command->add_option("--format", opts.format, "Output format: wav, aiff, flac, mp3, aac (m4a), ogg, opus");
  command->add_option("--bitrate", opts.bitrate, "Lossy bitrate, kbps (32..512)");
  command->add_option("--preset", opts.preset,
                      "Platform preset: spotify, apple-music, youtube, tidal, amazon-music, soundcloud, club, "
                      "aes-streaming (sets target and ceiling; explicit options win; docs/presets.md)");
  command->add_option("--max-duration", opts.max_duration_s,
                      "Refuse inputs longer than this many seconds (0 = no limit)");
  command->add_flag("--json", opts.json_output, "Print the report as JSON");
  command->add_flag("-q,--quiet", opts.quiet, "Print nothing on success");
}

int run_master_album(const MasterOptions& o) {
  auto settings = m::parse_settings(settings_json(o));
  if (!settings) return report_error(settings.error());
  std::error_code ec;
  std::filesystem::create_directories(o.output, ec);
  if (ec) return report_error(make_error(ErrorCode::kIoError, "cannot create the folder " + o.output));
  m::AlbumJob job;
  job.settings = *settings;
  job.mode = o.individual ? m::AlbumMode::kIndividual : m::AlbumMode::kAlbum;
  job.limits.max_duration_s = o.max_duration_s;
  for (const auto& input : o.inputs) {
    const std::filesystem::path path(input);
    const std::string extension = settings->output_format
                                      ? "." + std::string(audio::traits(*settings->output_format).extension)
                                      : path.extension().string();
    job.tracks.push_back({path, std::filesystem::path(o.output) / (path.stem().string() + "_mastered" + extension)});
  }
  auto report = m::master_album(job);
  if (!report) return report_error(report.error());
  if (o.json_output) {
    std::cout << m::to_json(*report).dump(2) << "\n";
  } else if (!o.quiet) {
    std::cout << "Album ("
              << (o.individual ? "each track to the target"
                               : "loudest track on the target, the rest "
                                 "keep their distance")
              << "): loudest input " << fmt_db(report->loudest_input_lufs, "LUFS") << "\n";
    for (std::size_t i = 0; i < job.tracks.size(); ++i) {
      std::cout << job.tracks[i].output.string() << "\n";
      print_master_report(report->tracks[i], std::cout);
    }
  }
  return kExitOk;
}

}  // namespace

void register_master_commands(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<MasterOptions>();
  CLI::App* master = app.add_subcommand("master", "Master an audio file: IN -> OUT");
  master->add_option("input", opts->input, "Input audio file (any format FFmpeg decodes)")->required();
  master
      ->add_option("output", opts->output, "Output file; its extension picks the format (default: the input's format)")
      ->required();
  add_settings_options(master, *opts);
  master->add_option("--reference", opts->reference,
                     "Reference track: its tonal balance and loudness become the targets");
  master->callback([opts, &exit_code] { exit_code = run_master(*opts); });

  auto album_opts = std::make_shared<MasterOptions>();
  CLI::App* album = app.add_subcommand("master-album", "Master an album as one: OUT_DIR IN IN...");
  album->add_option("out_dir", album_opts->output, "Folder for the masters (<name>_mastered.<ext>)")->required();
  album->add_option("inputs", album_opts->inputs, "The tracks, 2 to 30")->required();
  album->add_flag("--individual", album_opts->individual,
                  "Master each track to the target on its own (default: the loudest on the target, the rest keep "
                  "their loudness differences, one tonal correction for all)");
  add_settings_options(album, *album_opts);
  album->callback([album_opts, &exit_code] { exit_code = run_master_album(*album_opts); });

  auto path = std::make_shared<std::string>();
  auto json_flag = std::make_shared<bool>(false);
  CLI::App* analyze = app.add_subcommand("analyze", "Measure a file: loudness, range, peaks");
  analyze->add_option("file", *path, "Audio file")->required();
  analyze->add_flag("--json", *json_flag, "Print the measurements as JSON");
  analyze->callback([path, json_flag, &exit_code] { exit_code = run_analyze(*path, *json_flag); });

  CLI::App* curves = app.add_subcommand("eq-curves", "Print the EQ profile curves at third-octave centres (Markdown)");
  curves->callback([&exit_code] { exit_code = run_eq_curves(); });
}

}  // namespace spectrum::cli
