#!/usr/bin/env python3
"""Benchmark of the mastering engine on the real-music corpus (docs/real-music-corpus.md).

For each corpus track, side by side and interleaved over N rounds (medians reported):
  - `spectrum-master master IN OUT.wav --json` (target -14, default settings);
  - `spectrum-master master IN OUT.mp3 --bitrate 320 --json` against `ffmpeg -i IN -c:a libmp3lame -b:a 320k`;
  - `spectrum-master master IN OUT.m4a --bitrate 256 --json` against `ffmpeg -i IN -c:a aac -b:a 256k`.
Prints one Markdown table per track: input loudness and range, output range of the WAV (ffmpeg ebur128),
compressor and limiter max gain reduction (from the JSON report), encode passes and the delivered true peak of
the lossy files (ffmpeg ebur128), times and the ratio lossy mastering / plain transcode.

A benchmark, not a test: it exits 0 whatever the figures. The corpus must be fetched first
(scripts/fetch-corpus.sh); --binary lets it run against an older build.

Usage: bench_realmusic.py [--binary build/src/cli/spectrum-master] [--corpus DIR] [--rounds 3]
                          [--tracks ID,ID] [--markdown out.md]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANIFEST = os.path.join(REPO, "tests", "realmusic", "corpus.tsv")
CEILING_DBTP = -1.0
SUMMARY_HEADER = ("| track | in LUFS | in LRA | out LRA (WAV -14) | comp GR | lim GR | passes MP3/AAC | LUFS MP3/AAC |"
                  " TP MP3/AAC | time ratio MP3/AAC |")
SUMMARY_RULE = "|---|---|---|---|---|---|---|---|---|---|"


def read_manifest():
    rows = []
    header = None
    with open(MANIFEST, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cells = line.split("\t")
            if header is None:
                header = cells
                continue
            rows.append(dict(zip(header, cells)))
    return rows


def corpus_dir(arg):
    if arg:
        return arg
    return os.environ.get("SPECTRUM_CORPUS_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "spectrum-corpus")


def timed(cmd):
    """Runs cmd; returns (wall seconds, stdout). Exits on failure."""
    start = time.perf_counter()
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if res.returncode != 0:
        sys.exit(f"command failed ({res.returncode}): {' '.join(cmd)}\n{res.stderr[-2000:]}")
    return wall, res.stdout


def ebur128(path):
    res = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", path, "-af", "ebur128=peak=true", "-f", "null", "-"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    text = res.stderr[res.stderr.rfind("Summary:"):]
    def grab(pattern):
        m = re.search(pattern, text)
        return float(m.group(1)) if m else float("nan")
    return {"lufs": grab(r"I:\s+(-?[\d.]+) LUFS"), "lra": grab(r"LRA:\s+(-?[\d.]+) LU"),
            "tp": grab(r"Peak:\s+(-?[\d.]+|-inf) dBFS")}


def fmt(v, digits=2):
    return "n/a" if v is None or v != v else f"{v:.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(REPO, "build", "src", "cli", "spectrum-master"))
    ap.add_argument("--corpus", default=None)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tracks", default="", help="comma-separated track ids (default: all)")
    ap.add_argument("--markdown", default=None, help="also write the tables to this file")
    args = ap.parse_args()
    if args.rounds < 1:
        sys.exit("--rounds must be >= 1")
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"no spectrum-master binary at {binary}")
    cdir = corpus_dir(args.corpus)
    wanted = {t for t in args.tracks.split(",") if t}
    tracks = [r for r in read_manifest() if not wanted or r["id"] in wanted]

    out = ["# Real-music benchmark", "",
           f"binary `{binary}`, corpus `{cdir}`, {args.rounds} interleaved rounds, medians; ceiling {CEILING_DBTP} dBTP.",
           "Ratios: lossy mastering time / plain ffmpeg transcode time of the same file.", ""]
    summary = []
    with tempfile.TemporaryDirectory(prefix="bench-realmusic-") as tmp:
        for row in tracks:
            ext = os.path.splitext(row["path"].split("!")[-1])[1]
            src = os.path.join(cdir, row["id"] + ext)
            if not os.path.exists(src):
                sys.exit(f"{src} is missing: run scripts/fetch-corpus.sh")
            jobs = {
                "master_wav": [binary, "master", src, os.path.join(tmp, "m.wav"), "--json"],
                "master_mp3": [binary, "master", src, os.path.join(tmp, "m.mp3"), "--bitrate", "320", "--json"],
                "master_aac": [binary, "master", src, os.path.join(tmp, "m.m4a"), "--bitrate", "256", "--json"],
                "ffmpeg_mp3": ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-i", src, "-c:a", "libmp3lame",
                               "-b:a", "320k", os.path.join(tmp, "f.mp3")],
                "ffmpeg_aac": ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-i", src, "-c:a", "aac",
                               "-b:a", "256k", os.path.join(tmp, "f.m4a")],
            }
            times = {k: [] for k in jobs}
            reports = {}
            for _ in range(args.rounds):
                for key, cmd in jobs.items():  # interleaved: every job once per round
                    wall, stdout = timed(cmd)
                    times[key].append(wall)
                    if key.startswith("master"):
                        reports[key] = json.loads(stdout)
            med = {k: statistics.median(v) for k, v in times.items()}
            inp = ebur128(src)
            wav = ebur128(os.path.join(tmp, "m.wav"))
            mp3 = ebur128(os.path.join(tmp, "m.mp3"))
            aac = ebur128(os.path.join(tmp, "m.m4a"))
            rw, rm, ra = reports["master_wav"], reports["master_mp3"], reports["master_aac"]
            r_mp3 = med["master_mp3"] / med["ffmpeg_mp3"]
            r_aac = med["master_aac"] / med["ffmpeg_aac"]
            out += [f"## {row['id']}", "",
                    f"{row['package']} {row['version']}, {row['rate_hz']} Hz, {row['channels']} ch, "
                    f"{float(row['duration_s']):.0f} s; {row['character']}", "",
                    "| figure | value |", "|---|---|",
                    f"| input loudness / LRA / TP (ffmpeg) | {fmt(inp['lufs'], 1)} LUFS / {fmt(inp['lra'], 1)} LU / {fmt(inp['tp'], 1)} dBTP |",
                    f"| WAV -14: output loudness / LRA / TP (ffmpeg) | {fmt(wav['lufs'])} LUFS / {fmt(wav['lra'], 1)} LU / {fmt(wav['tp'])} dBTP |",
                    f"| WAV -14: LRA kept (out / in) | {fmt(wav['lra'] / inp['lra'] if inp['lra'] else float('nan'))} |",
                    f"| WAV -14: compressor / limiter max GR | {fmt(rw['compressor']['maxDb'])} / {fmt(rw['limiter']['maxDb'])} dB |",
                    f"| MP3 320k: loudness / TP (ffmpeg), encode passes | {fmt(mp3['lufs'])} LUFS / {fmt(mp3['tp'])} dBTP, {rm.get('encodePasses')} |",
                    f"| AAC 256k: loudness / TP (ffmpeg), encode passes | {fmt(aac['lufs'])} LUFS / {fmt(aac['tp'])} dBTP, {ra.get('encodePasses')} |",
                    f"| MP3 / AAC limiter max GR | {fmt(rm['limiter']['maxDb'])} / {fmt(ra['limiter']['maxDb'])} dB |",
                    f"| time: master WAV | {med['master_wav']:.2f} s |",
                    f"| time: master MP3 / ffmpeg MP3 (ratio) | {med['master_mp3']:.2f} s / {med['ffmpeg_mp3']:.2f} s ({r_mp3:.2f}) |",
                    f"| time: master AAC / ffmpeg AAC (ratio) | {med['master_aac']:.2f} s / {med['ffmpeg_aac']:.2f} s ({r_aac:.2f}) |",
                    ""]
            if rw.get("warnings") or rm.get("warnings") or ra.get("warnings"):
                out += ["Warnings: " + "; ".join(rw.get("warnings", []) + rm.get("warnings", []) + ra.get("warnings", [])), ""]
            summary.append(f"| {row['id']} | {fmt(inp['lufs'], 1)} | {fmt(inp['lra'], 1)} | {fmt(wav['lra'], 1)} | "
                           f"{fmt(rw['compressor']['maxDb'], 1)} | {fmt(rw['limiter']['maxDb'], 1)} | "
                           f"{rm.get('encodePasses')}/{ra.get('encodePasses')} | {fmt(mp3['lufs'])}/{fmt(aac['lufs'])} | "
                           f"{fmt(mp3['tp'])}/{fmt(aac['tp'])} | {r_mp3:.2f}/{r_aac:.2f} |")
            print(f"{row['id']}: done", file=sys.stderr)
            if args.markdown:  # written after every track, so a long run leaves its figures so far
                with open(args.markdown, "w", encoding="utf-8") as f:
                    f.write("\n".join(out + ["## Summary (so far)", "", SUMMARY_HEADER, SUMMARY_RULE] + summary + [""]))
    out += ["## Summary", "",
            SUMMARY_HEADER, SUMMARY_RULE] + summary + [""]
    text = "\n".join(out)
    print(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
