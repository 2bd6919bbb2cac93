#!/usr/bin/env python3
"""Benchmark of the HTTP service, against loopback only.

Measures, for POST /api/master-audio on a 3-minute file:
  - throughput (jobs/min) and latency (p50/p90/max) at concurrency 1, 2 and 8;
  - p99 latency of GET /health (wrk) while two jobs keep both cores busy;
  - peak RSS of the server process (VmHWM).

Usage: bench_server.py [--binary build/src/cli/spectrum-master] [--requests N] [--seconds 180] [--json out.json]
Starts its own server on 127.0.0.1 with an ephemeral port in a temporary directory and stops it at the end.
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request


def http(method, url, body=None, content_type="application/json", timeout=900):
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(p / 100.0 * (len(ordered) - 1)))))
    return ordered[k]


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def master_once(base, name):
    start = time.monotonic()
    status, body = http("POST", base + "/api/master-audio", {"fileName": name, "settings": {}})
    return status, time.monotonic() - start


def run_level(base, name, concurrency, requests):
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda _: master_once(base, name), range(requests)))
    wall = time.monotonic() - start
    ok = [t for s, t in results if s == 200]
    statuses = {}
    for s, _ in results:
        statuses[s] = statuses.get(s, 0) + 1
    return {
        "concurrency": concurrency,
        "requests": requests,
        "statuses": statuses,
        "wall_s": round(wall, 2),
        "jobs_per_min": round(60.0 * len(ok) / wall, 2) if wall > 0 else None,
        "latency_p50_s": round(percentile(ok, 50), 2) if ok else None,
        "latency_p90_s": round(percentile(ok, 90), 2) if ok else None,
        "latency_max_s": round(max(ok), 2) if ok else None,
    }


def health_p99_under_load(base, name, seconds):
    """Two jobs keep both cores busy while wrk measures /health."""
    if shutil.which("wrk") is None:
        return {"error": "wrk not installed"}
    stop = threading.Event()

    def keep_busy():
        while not stop.is_set():
            master_once(base, name)

    workers = [threading.Thread(target=keep_busy) for _ in range(2)]
    for w in workers:
        w.start()
    time.sleep(2.0)  # let both jobs start decoding
    out = subprocess.run(["wrk", "-t1", "-c4", f"-d{seconds}s", "--latency", base + "/health"],
                         capture_output=True, text=True, check=False).stdout
    stop.set()
    for w in workers:
        w.join()
    result = {"wrk_duration_s": seconds}
    m = re.search(r"99%\s+([0-9.]+)(us|ms|s)", out)
    if m:
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
        result["health_p99_ms"] = round(float(m.group(1)) * scale, 3)
    m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    if m:
        result["health_requests_per_s"] = float(m.group(1))
    return result


def main():
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(repo, "build", "src", "cli", "spectrum-master"))
    parser.add_argument("--requests", type=int, default=0, help="jobs per level (default: 2x concurrency, min 3)")
    parser.add_argument("--seconds", type=float, default=180.0, help="length of the test file")
    parser.add_argument("--wrk-seconds", type=int, default=15)
    parser.add_argument("--levels", default="1,2,8")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="spectrum-bench-")
    server = None
    try:
        audio = os.path.join(work, "track.wav")
        # Pink noise with a slow tremolo: broadband and dynamic, closer to music than a sine.
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"anoisesrc=color=pink:sample_rate=44100:duration={args.seconds}:amplitude=0.25",
                        "-af", "tremolo=f=0.5:d=0.6", "-ac", "2", "-c:a", "pcm_s16le", audio], check=True)
        cores = os.cpu_count() or 2
        port_file = os.path.join(work, "port")
        log = open(os.path.join(work, "server.log"), "w")
        server = subprocess.Popen([args.binary, "serve", "--host", "127.0.0.1", "--port", "0", "--port-file",
                                   port_file, "--data-dir", os.path.join(work, "data"), "--max-jobs", str(cores),
                                   "--max-queue", "16", "--rate-limit", "0", "--log-level", "warning"],
                                  stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not os.path.exists(port_file) and time.monotonic() < deadline:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{int(open(port_file).read())}"
        for _ in range(100):
            try:
                if http("GET", base + "/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)

        status, body = http("POST", base + "/api/upload-url", {"fileName": "bench/track.wav",
                                                                "contentType": "audio/wav"})
        upload_url = json.loads(body)["uploadUrl"]
        with open(audio, "rb") as f:
            status, _ = http("PUT", upload_url, f.read(), content_type="audio/wav")
        if status != 200:
            sys.exit(f"upload failed: {status}")

        results = {"cores": cores, "file_seconds": args.seconds, "levels": []}
        for level in [int(x) for x in args.levels.split(",")]:
            requests = args.requests or max(3, 2 * level)
            results["levels"].append(run_level(base, "bench/track.wav", level, requests))
            print(json.dumps(results["levels"][-1]), flush=True)
        results["health_under_load"] = health_p99_under_load(base, "bench/track.wav", args.wrk_seconds)
        print(json.dumps(results["health_under_load"]), flush=True)
        results["server_peak_rss_mib"] = round(peak_rss_mib(server.pid), 1)
        print(json.dumps({"server_peak_rss_mib": results["server_peak_rss_mib"]}), flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
