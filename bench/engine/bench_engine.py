#!/usr/bin/env python3
"""Benchmark of the mastering engine against FFmpeg's command line, plus a per-stage profile.

Measures, side by side and interleaved over N rounds (medians reported):
  - WAV -> WAV: `spectrum-master master in.wav out.wav` against an FFmpeg chain of comparable work
    (highpass, equalizer, acompressor, extrastereo, loudnorm=I=-14:TP=-1); target ratio <= 0.10;
  - MP3 -> MP3: `spectrum-master master in.mp3 out.mp3` against a plain FFmpeg 320 kbps transcode;
    target ratio <= 1.3 (long-term goal 1.1);
  - peak RSS of `master` on the 3-minute WAV (target <= 150 MB) and on a 60-minute 48 kHz WAV
    (target <= 1.5x the 3-minute figure).
Wall time, user+sys CPU time and peak RSS come from os.wait4() on each child, so CPU/wall > 1 shows both
cores at work. Then profiles one WAV -> WAV run (perf when hardware counters exist, else callgrind on an
excerpt) and maps the hottest functions to the chain's stages.

A benchmark, not a test: it exits 0 when a target is missed, and prints MISSED.

Usage: bench_engine.py [--binary build/src/cli/spectrum-master] [--data build-bench/bench-data] [--rounds 5]
                       [--markdown out.md] [--json out.json] [--skip-long] [--profiler auto|perf|callgrind|none]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA_VERSION = "1"  # bump when the generated material changes
SHORT_SECONDS = 180
LONG_MINUTES = 60

FFMPEG_WAV_CHAIN = "highpass=f=25,equalizer=f=100:t=q:w=1:g=2,acompressor=ratio=4,extrastereo=m=1.0,loudnorm=I=-14:TP=-1"

WAV_TARGET_RATIO = 0.10
MP3_TARGET_RATIO = 1.3
MP3_GOAL_RATIO = 1.1
RSS_TARGET_MB = 150.0
RSS_LONG_FACTOR = 1.5


# ---------------------------------------------------------------------------------------------------------
# Test material


def music_graph(seconds, rate):
    """A lavfi graph of a plausible mix: chord pad, bass, kick, hats and a noise bed, 120 bpm, 4-chord loop.

    Every 64 s an 8 s breakdown drops kick and bass so the loudness range is not flat.
    """
    d = f"d={seconds}"
    # Chord root cycles every 2 s through A, F, C, G (Hz).
    root = "st(0,floor(mod(t/2,4)));st(1,if(eq(ld(0),0),220,if(eq(ld(0),1),174.61,if(eq(ld(0),2),261.63,196))))"
    pad = (f"{root};0.10*(sin(2*PI*ld(1)*t)+0.7*sin(2*PI*ld(1)*1.26*t)+0.6*sin(2*PI*ld(1)*1.498*t)"
           f"+0.25*sin(2*PI*ld(1)*2.003*t)+0.15*sin(2*PI*ld(1)*3.01*t))")
    pad_r = pad.replace("*t)", "*1.002*t)")  # slight detune between channels
    breakdown = "if(lt(mod(t,64),8),0,1)"
    bass = f"{root};{breakdown}*0.32*sin(2*PI*ld(1)/4*t)*(0.55+0.45*exp(-6*mod(t,0.25)))"
    kick = (f"{breakdown}*0.9*sin(2*PI*(45*mod(t,0.5)+4*(1-exp(-15*mod(t,0.5)))))"
            f"*exp(-9*mod(t,0.5))")
    return (
        f"aevalsrc=exprs='{pad}|{pad_r}':s={rate}:{d},tremolo=f=0.5:d=0.3,apulsator=hz=0.125:amount=0.4[pad];"
        f"aevalsrc=exprs='{bass}':s={rate}:{d},aformat=channel_layouts=stereo[bass];"
        f"aevalsrc=exprs='{kick}':s={rate}:{d},aformat=channel_layouts=stereo[kick];"
        f"anoisesrc=color=white:amplitude=0.5:r={rate}:seed=7:{d},highpass=f=7000,"
        f"aeval=exprs='val(0)*exp(-70*mod(t,0.25))|val(0)*exp(-70*mod(t+0.125,0.25))':c=stereo[hats];"
        f"anoisesrc=color=pink:amplitude=0.04:r={rate}:seed=11:{d},"
        f"aeval=exprs='val(0)|0.8*val(0)':c=stereo,lowpass=f=3000[bed];"
        f"[pad][bass][kick][hats][bed]amix=inputs=5:normalize=0,aformat=sample_fmts=flt:channel_layouts=stereo[out]"
    )


def run_quiet(cmd):
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if res.returncode != 0:
        sys.exit(f"command failed ({res.returncode}): {' '.join(cmd)}\n{res.stderr[-2000:]}")
    return res


def integrated_lufs(ffmpeg, path):
    res = run_quiet([ffmpeg, "-hide_banner", "-nostats", "-i", path, "-af", "ebur128", "-f", "null", "-"])
    found = re.findall(r"I:\s+(-?[\d.]+|-inf) LUFS", res.stderr)
    return float(found[-1])


def generate_inputs(ffmpeg, data_dir, want_long):
    os.makedirs(data_dir, exist_ok=True)
    short_wav = os.path.join(data_dir, "music_3min_44k1_s24.wav")
    short_mp3 = os.path.join(data_dir, "music_3min_44k1_320k.mp3")
    long_wav = os.path.join(data_dir, "music_60min_48k_s24.wav")
    stamp = os.path.join(data_dir, "VERSION")
    fresh = os.path.exists(stamp) and open(stamp).read().strip() == DATA_VERSION
    if not fresh:
        for p in (short_wav, short_mp3, long_wav):
            if os.path.exists(p):
                os.remove(p)
    if not os.path.exists(short_wav):
        print(f"generating {short_wav} ...", flush=True)
        raw = os.path.join(data_dir, "raw_mix.wav")
        run_quiet([ffmpeg, "-y", "-hide_banner", "-filter_complex", music_graph(SHORT_SECONDS, 44100), "-map", "[out]",
                   "-c:a", "pcm_f32le", raw])
        gain_db = -18.0 - integrated_lufs(ffmpeg, raw)
        run_quiet([ffmpeg, "-y", "-hide_banner", "-i", raw, "-af", f"volume={gain_db:.3f}dB", "-c:a", "pcm_s24le",
                   short_wav])
        os.remove(raw)
    if not os.path.exists(short_mp3):
        print(f"generating {short_mp3} ...", flush=True)
        run_quiet([ffmpeg, "-y", "-hide_banner", "-i", short_wav, "-c:a", "libmp3lame", "-b:a", "320k", short_mp3])
    if want_long and not os.path.exists(long_wav):
        print(f"generating {long_wav} ...", flush=True)
        loops = LONG_MINUTES * 60 // SHORT_SECONDS
        run_quiet([ffmpeg, "-y", "-hide_banner", "-stream_loop", str(loops - 1), "-i", short_wav, "-af",
                   "aresample=48000", "-c:a", "pcm_s24le", long_wav])
    with open(stamp, "w") as f:
        f.write(DATA_VERSION + "\n")
    return short_wav, short_mp3, long_wav


# ---------------------------------------------------------------------------------------------------------
# Measurement


def run_measured(cmd):
    """Runs cmd; returns wall s, user+sys CPU s and peak RSS MB of that child alone (os.wait4)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr_chunks = []
    # stderr is small for both tools; drain it so a chatty child cannot block on a full pipe.
    for chunk in iter(lambda: proc.stderr.read(65536), b""):
        stderr_chunks.append(chunk)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode != 0:
        err = b"".join(stderr_chunks).decode(errors="replace")[-2000:]
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024.0}


def summarise(samples):
    return {
        "wall_s": statistics.median(s["wall_s"] for s in samples),
        "cpu_s": statistics.median(s["cpu_s"] for s in samples),
        "rss_mb": max(s["rss_mb"] for s in samples),
        "wall_all_s": [round(s["wall_s"], 3) for s in samples],
    }


def bench_pairs(pairs, rounds):
    """pairs: {name: (ours_cmd, theirs_cmd)}. Interleaved; the order inside a pair alternates each round."""
    samples = {name: ([], []) for name in pairs}
    for r in range(rounds):
        for name, (ours, theirs) in pairs.items():
            order = [(0, ours), (1, theirs)] if r % 2 == 0 else [(1, theirs), (0, ours)]
            for idx, cmd in order:
                samples[name][idx].append(run_measured(cmd))
        line = "  ".join(f"{n}: {samples[n][0][-1]['wall_s']:.2f}s vs {samples[n][1][-1]['wall_s']:.2f}s" for n in pairs)
        print(f"round {r + 1}/{rounds}  {line}", flush=True)
    return {name: (summarise(a), summarise(b)) for name, (a, b) in samples.items()}


def verdict(ok):
    return "pass" if ok else "**MISSED**"


def markdown_table(results, meta):
    rows = [
        "| Case | Command | Median wall s | Median CPU s (user+sys) | CPU/wall | Ratio | Target | Result |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]

    def timing_row(case, label, s, ratio="", target="", result=""):
        rows.append(f"| {case} | {label} | {s['wall_s']:.2f} | {s['cpu_s']:.2f} | {s['cpu_s'] / s['wall_s']:.2f} "
                    f"| {ratio} | {target} | {result} |")

    ours, ff = results["wav"]
    ratio = ours["wall_s"] / ff["wall_s"]
    timing_row("WAV→WAV", "`spectrum-master master in.wav out.wav`", ours, f"{ratio:.3f}",
               f"≤ {WAV_TARGET_RATIO:.2f}× FFmpeg", verdict(ratio <= WAV_TARGET_RATIO))
    timing_row("WAV→WAV", f"`ffmpeg -i in.wav -af \"{FFMPEG_WAV_CHAIN}\" out.wav`", ff)
    rt = SHORT_SECONDS / ours["wall_s"]
    rows.append(f"| WAV→WAV | real-time factor of `master` | | | | {rt:.0f}× | ≥ 300× | {verdict(rt >= 300)} |")
    ours, ff = results["mp3"]
    ratio = ours["wall_s"] / ff["wall_s"]
    timing_row("MP3→MP3", "`spectrum-master master in.mp3 out.mp3`", ours, f"{ratio:.2f}",
               f"≤ {MP3_TARGET_RATIO}× FFmpeg (goal {MP3_GOAL_RATIO}×)",
               verdict(ratio <= MP3_TARGET_RATIO) + ("" if ratio <= MP3_GOAL_RATIO else ", goal missed"))
    timing_row("MP3→MP3", "`ffmpeg -i in.mp3 -c:a libmp3lame -b:a 320k out.mp3`", ff)
    rss_short = results["wav"][0]["rss_mb"]
    rows.append(f"| Memory | peak RSS of `master`, 3-min 44.1 kHz WAV | | | | {rss_short:.0f} MB | ≤ {RSS_TARGET_MB:.0f} MB "
                f"| {verdict(rss_short <= RSS_TARGET_MB)} |")
    if "long" in results:
        long = results["long"]
        factor = long["rss_mb"] / rss_short
        rows.append(f"| Memory | peak RSS of `master`, 60-min 48 kHz WAV (wall {long['wall_s']:.1f} s, "
                    f"CPU {long['cpu_s']:.1f} s) | | | | {long['rss_mb']:.0f} MB = {factor:.2f}× 3-min "
                    f"| ≤ {RSS_LONG_FACTOR}× 3-min | {verdict(factor <= RSS_LONG_FACTOR)} |")
    head = (f"{meta['rounds']} interleaved rounds, medians; {meta['cpus']} CPUs; {meta['date']}; input: "
            f"{SHORT_SECONDS // 60}-min 44.1 kHz stereo 24-bit music-like WAV at -18 LUFS and its 320 kbps MP3.\n")
    return head + "\n" + "\n".join(rows) + "\n"


# ---------------------------------------------------------------------------------------------------------
# Profile

# Stages by the inclusive cost of their entry points (one regex per entry point; the largest match counts, so
# a wrapper and the function it calls are not added twice). Nested entries are marked "(of which)".
STAGE_ROOTS = [
    ("process start (dynamic loader, relocations)", [r"_dl_start\b"]),
    ("decode", [r"audio::Decoder::read\(", r"audio::Decoder::open\("]),
    ("analysis: loudness meter (K-weighting, gating)", [r"dsp::LoudnessMeter::process\(spectrum::AudioBlock"]),
    ("analysis: band spectrum (FFT)", [r"BandSpectrum::process\(", r"BandSpectrum::prepare\("]),
    ("HPF / low-pass biquads", [r"BiquadCascade::process\("]),
    ("EQ FIR: design (prepare)", [r"LinearPhaseEq::prepare\("]),
    ("EQ FIR: filtering", [r"LinearPhaseEq::process\("]),
    ("compressor", [r"dsp::Compressor::process\("]),
    ("stereo width", [r"StereoWidth::process\("]),
    ("limiter", [r"dsp::Limiter::process\("]),
    ("in-memory track copies", [r"MemoryTrack::read\(", r"MemoryTrack::append\(", r"MemoryTrack::overwrite\("]),
    ("encode/dither", [r"audio::Encoder::write\(", r"audio::Encoder::commit\(", r"audio::Encoder::create\("]),
    ("(of which) true-peak oversampling, inside limiter and loudness meter", [r"TruePeakDetector::process_block\("]),
    ("(of which) FFTW planning, all users", [r"fftwf_mkapiplan"]),
]

# Inclusive cost of the engine's passes (functions of src/mastering/engine.cpp; the pre-limiter pass and the
# output pass are inlined into master_file, so they are what master_file has beyond the named passes).
PASS_ROOTS = [
    ("pass 1: decode + analyse + cache in memory", r"analyse_input\("),
    ("loudness loop: gain + limiter + loudness meter, all passes", r"solve_gain\("),
]

# Self-cost classes, for the top-function tables. First match wins; matched against "function [object]".
STAGE_RULES = [
    ("engine pass", r"master_file|solve_gain|analyse_input|mastering::measure|TrackAnalyzer::process"),
    ("pre-limiter chain", r"PreLimiterChain"),
    ("encode/dither", r"Encoder|[Dd]ither|pcm_encode|libmp3lame"),
    ("decode", r"Decoder|libavcodec|libavformat|libswresample|libavutil"),
    ("band spectrum", r"BandSpectrum"),
    ("FFT (EQ, band spectrum) or planning", r"RealFft|libfftw3f"),
    ("true-peak meter", r"TruePeak|peaks_of_eights"),
    ("loudness meter", r"LoudnessMeter|KWeighting"),
    ("analysis", r"TrackAnalyzer"),
    ("HPF / low-pass", r"Biquad|ButterworthHighPass"),
    ("EQ FIR", r"LinearPhaseEq"),
    ("compressor", r"Compressor"),
    ("stereo width", r"StereoWidth"),
    ("limiter", r"Limiter"),
    ("output gain", r"OutputStage"),
    ("memory track / chain plumbing", r"MemoryTrack|ProcessedSource"),
    ("copies/alloc (libc)", r"memcpy|memmove|memset|malloc|_int_free|cfree"),
    ("dynamic loader", r"ld-linux"),
    ("libm", r"libm\.so"),
]


def classify(name, rules):
    # Match the qualified name and object, not the parameter list (which names other classes).
    bare = name.replace("(anonymous namespace)::", "")
    bare = re.sub(r"\(.*\)(?=(?: \[clone [^]]*\])*(?: \[[^]]*\])?$)", "", bare)
    bare = re.sub(r"^\S*?:(?=[A-Za-z_(])", "", bare, count=1)
    for stage, pattern in rules:
        if re.search(pattern, bare):
            return stage
    return "other"


def parse_annotate(text):
    """(total, [(cost, name), ...]) from callgrind_annotate output."""
    total = None
    rows = []
    for line in text.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(.*?)\s*$", line)
        if not m:
            continue
        cost = int(m.group(1).replace(",", ""))
        rest = m.group(2)
        if "PROGRAM TOTALS" in rest:
            total = cost
        elif rest and not rest.startswith("file:function") and ":" in rest:
            rows.append((cost, rest))
    return total, rows


def short_name(name, width=110):
    name = re.sub(r"^\S*?:(?=[A-Za-z_(])", "", name, count=1)  # drop the "file:" prefix
    name = re.sub(r"\(anonymous namespace\)::", "", name)
    name = re.sub(r"spectrum::", "", name)
    name = re.sub(r" \[/\S*/(?=[^/\]]+\]$)", " [", name)  # object basename only
    return name if len(name) <= width else name[: width - 1] + "…"


def profile_callgrind(binary, ffmpeg, short_wav, work, seconds):
    excerpt = os.path.join(work, f"excerpt_{seconds}s.wav")
    run_quiet([ffmpeg, "-y", "-hide_banner", "-ss", "30", "-t", str(seconds), "-i", short_wav, "-c:a", "pcm_s24le", excerpt])
    out_file = os.path.join(work, "callgrind.out")
    print(f"callgrind on a {seconds}-s excerpt (slow) ...", flush=True)
    start = time.monotonic()
    run_quiet(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", binary, "master", excerpt,
               os.path.join(work, "excerpt_out.wav")])
    elapsed = time.monotonic() - start
    self_text = run_quiet(["callgrind_annotate", "--inclusive=no", "--threshold=100", out_file]).stdout
    incl_text = run_quiet(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out_file]).stdout
    total, self_rows = parse_annotate(self_text)
    _, incl_rows = parse_annotate(incl_text)
    return {"tool": "callgrind (instructions)", "excerpt_s": seconds, "run_s": elapsed, "total": total,
            "self": self_rows, "inclusive": incl_rows}


def profile_perf(binary, short_wav, work):
    data = os.path.join(work, "perf.data")
    out = os.path.join(work, "perf_out.wav")
    event = "cycles" if hardware_counters() else "cpu-clock"
    # Frame-pointer call graphs: inclusive figures are only as good as the binaries' frame pointers.
    run_quiet(["perf", "record", "-e", event, "-F", "2000", "-g", "-o", data, "--", binary, "master", short_wav, out])
    rows = {}
    for mode, flag in (("self", "--no-children"), ("inclusive", "--children")):
        text = run_quiet(["perf", "report", "-i", data, flag, "--stdio", "-g", "none", "--percent-limit", "0.05",
                          "--sort", "symbol,dso"]).stdout
        parsed = []
        for line in text.splitlines():
            # "children% self% [.] symbol dso" (--children) or "self% [.] symbol dso" (--no-children)
            m = re.match(r"^\s*([\d.]+)%\s+(?:[\d.]+%\s+)?\[[.k]\]\s+(.*?)\s{2,}(\S+)(?:\s+-)*\s*$", line)
            if m:
                parsed.append((int(float(m.group(1)) * 1000), f"{m.group(2)} [{m.group(3)}]"))
        rows[mode] = parsed
    return {"tool": f"perf ({event})", "excerpt_s": SHORT_SECONDS, "run_s": 0.0, "total": 100000,
            "self": rows["self"], "inclusive": rows["inclusive"]}


def hardware_counters():
    if shutil.which("perf") is None:
        return False
    res = subprocess.run(["perf", "stat", "-x,", "-e", "instructions", "true"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    return res.returncode == 0 and "not supported" not in res.stderr and "<not counted>" not in res.stderr


def profile_markdown(prof, top):
    total = prof["total"] or 1
    lines = [f"Profile: {prof['tool']} of `master` WAV→WAV on {prof['excerpt_s']} s of the input"
             + (f" (under valgrind {prof['run_s']:.0f} s)" if prof["run_s"] else "") + ".", ""]
    by_class = {}
    for cost, name in prof["self"]:
        label = classify(name, STAGE_RULES)
        by_class[label] = by_class.get(label, 0) + cost
    lines += ["| Class (self cost of every function) | % |", "|---|---:|"]
    for label, cost in sorted(by_class.items(), key=lambda kv: -kv[1]):
        if cost == 0:
            continue
        lines.append(f"| {label} | {100.0 * cost / total:.1f} |")
    lines.append("")
    if not prof["tool"].startswith("callgrind"):  # perf's frame-pointer call graphs are too thin for the rest
        return "\n".join(lines) + "\n"
    incl = prof["inclusive"]

    def cost_of(pattern):
        return max((c for c, n in incl if re.search(pattern, n) and not re.search(r"'\d", n)), default=0)

    lines += ["| Stage (inclusive cost of its entry points) | % |", "|---|---:|"]
    accounted = 0
    for stage, patterns in STAGE_ROOTS:
        cost = sum(cost_of(p) for p in patterns)
        if not stage.startswith("(of which)"):
            accounted += cost
        lines.append(f"| {stage} | {100.0 * cost / total:.1f} |")
    lines.append(f"| rest (report, delivered-file checks, libc, setup) | {100.0 * (total - accounted) / total:.1f} |")
    master = cost_of(r"mastering::master_file\(")
    lines += ["", "| Engine pass (inclusive) | % |", "|---|---:|"]
    named = 0
    for label, pattern in PASS_ROOTS:
        cost = cost_of(pattern)
        named += cost
        lines.append(f"| {label} | {100.0 * cost / total:.1f} |")
    lines.append(f"| pre-limiter pass + output pass (encode) + setup, inside master_file | "
                 f"{100.0 * (master - named) / total:.1f} |")
    lines.append(f"| outside master_file (process start, CLI, exit) | {100.0 * (total - master) / total:.1f} |")
    for title, rows in (("self", prof["self"]), ("inclusive", prof["inclusive"])):
        lines += ["", f"| Top {top} by {title} cost | % | Stage |", "|---|---:|---|"]
        # The call path down to master_file says nothing about stages; leave it out of the inclusive list.
        wrappers = r"\(below main\)|libc_start|\bmain \[|CLI::App|_Function_handler|run_master|0x[0-9a-f]+ \[.*ld-linux"
        # Entries inside a call cycle (name'2) carry the cycle's cost, not their own.
        shown = [(c, n) for c, n in rows if title == "self" or not re.search(wrappers + r"|'\d", n)]
        for cost, name in shown[:top]:
            lines.append(f"| `{short_name(name)}` | {100.0 * cost / total:.1f} | {classify(name, STAGE_RULES)} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(REPO, "build/src/cli/spectrum-master"))
    ap.add_argument("--ffmpeg", default="ffmpeg")
    ap.add_argument("--data", default=os.path.join(REPO, "build-bench/bench-data"), help="input cache directory")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--markdown", help="write the tables to this file")
    ap.add_argument("--json", help="write the raw figures to this file")
    ap.add_argument("--skip-long", action="store_true", help="skip the 60-minute memory run")
    ap.add_argument("--profiler", choices=["auto", "perf", "callgrind", "none"], default="auto",
                    help="auto: perf when hardware counters exist, else callgrind")
    ap.add_argument("--profile-seconds", type=int, default=30, help="excerpt length for callgrind")
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()

    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"no executable at {binary}; build it or pass --binary")
    short_wav, short_mp3, long_wav = generate_inputs(args.ffmpeg, os.path.abspath(args.data), not args.skip_long)

    work = tempfile.mkdtemp(prefix="bench-engine-")
    try:
        out_wav = os.path.join(work, "out.wav")
        out_mp3 = os.path.join(work, "out.mp3")
        ff = [args.ffmpeg, "-y", "-hide_banner", "-nostats", "-loglevel", "error"]
        pairs = {
            "wav": ([binary, "master", short_wav, out_wav], ff + ["-i", short_wav, "-af", FFMPEG_WAV_CHAIN, out_wav]),
            "mp3": ([binary, "master", short_mp3, out_mp3],
                    ff + ["-i", short_mp3, "-c:a", "libmp3lame", "-b:a", "320k", out_mp3]),
        }
        results = bench_pairs(pairs, args.rounds)
        if not args.skip_long:
            print("60-minute memory run ...", flush=True)
            results["long"] = run_measured([binary, "master", long_wav, out_wav])
        meta = {"rounds": args.rounds, "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M"),
                "binary": binary}
        table = markdown_table(results, meta)
        command = "python3 bench/engine/bench_engine.py " + " ".join(sys.argv[1:])
        text = f"Command: `{command}`\n\n{table}"

        profiler = args.profiler
        if profiler == "auto":
            profiler = "perf" if hardware_counters() else ("callgrind" if shutil.which("valgrind") else "none")
        prof = None
        if profiler == "callgrind":
            prof = profile_callgrind(binary, args.ffmpeg, short_wav, work, args.profile_seconds)
        elif profiler == "perf":
            prof = profile_perf(binary, short_wav, work)
        if prof is not None:
            text += "\n" + profile_markdown(prof, args.top)

        print("\n" + text)
        missed = "MISSED" in table
        print("RESULT: some targets MISSED (a benchmark: exit status stays 0)" if missed else "RESULT: all targets met")
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write(text)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"meta": meta, "results": results,
                           "profile": {k: v for k, v in (prof or {}).items() if k not in ("self", "inclusive")}},
                          f, indent=2)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
