#!/usr/bin/env python3
"""Checks the Dockerfile without a Docker engine.

1. Every package the Dockerfile installs (both stages) exists in the Debian archive (`apt-cache show`).
2. Every shared library `ldd` reports for the built spectrum-master belongs (`dpkg -S`) to a package the
   runtime stage gets: one it installs, a dependency of those (`apt-cache depends --recurse`), or one the
   debian:bookworm-slim base already holds.
3. The runtime stage is debian:bookworm-slim, runs as a non-root user, has a HEALTHCHECK on /health and
   leaves the port to PORT.

usage: check_dockerfile.py DOCKERFILE SPECTRUM_MASTER
"""
import re
import subprocess
import sys

# Packages of debian:bookworm-slim that provide shared libraries (its Essential/required set).
BASE_IMAGE_PACKAGES = {
    "libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1", "liblzma5", "libbz2-1.0", "libselinux1",
    "libpcre2-8-0", "libacl1", "libattr1", "libcrypt1", "libgmp10", "libtinfo6", "libudev1", "libsystemd0",
    "liblz4-1", "libgcrypt20", "libgpg-error0", "libcap2", "libaudit1", "libdb5.3", "libpam0g", "libmd0",
    "libdebconfclient0", "libsemanage2", "libsepol2", "libsmartcols1", "libuuid1", "libblkid1", "libmount1",
    "libxxhash0", "libhogweed6", "libnettle8", "libgnutls30", "libp11-kit0", "libtasn1-6", "libunistring2",
    "libidn2-0", "libffi8", "libapt-pkg6.0", "libseccomp2", "libcap-ng0", "libext2fs2", "libcom-err2",
    "libss2", "libprocps8", "libncursesw6",
}


def stages(dockerfile_text):
    """{stage name: text} for each FROM ... AS name."""
    parts = re.split(r"^FROM\s+", dockerfile_text, flags=re.M)[1:]
    result = {}
    for part in parts:
        header = part.splitlines()[0]
        match = re.search(r"\bAS\s+(\S+)", header, flags=re.I)
        result[match.group(1) if match else header.split()[0]] = "FROM " + part
    return result


def installed_packages(stage_text):
    """Package names from `apt-get install` lines (continuations joined, options dropped)."""
    joined = re.sub(r"\\\n", " ", stage_text)
    packages = []
    for command in re.findall(r"apt-get install([^&;\n]*)", joined):
        packages += [word for word in command.split() if not word.startswith("-")]
    return packages


def run(args):
    return subprocess.run(args, capture_output=True, text=True)


def dependency_closure(packages):
    out = run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
               "--no-breaks", "--no-replaces", "--no-enhances"] + packages).stdout
    names = set(packages)
    for line in out.splitlines():
        line = line.strip()
        if not line:
            continue
        if ":" in line and (line.startswith("Depends:") or line.startswith("PreDepends:") or line.startswith("|")):
            name = line.split(":", 1)[1].strip().strip("<>")
        else:
            name = line.strip("<>")
        names.add(name.split(":")[0])
    return names


def usrmerge_aliases(path):
    """/lib/x.so and /usr/lib/x.so are one file on Debian 12; dpkg knows it under one of the two names."""
    if path.startswith("/usr/"):
        return [path, path[len("/usr"):]]
    return [path, "/usr" + path]


def owning_packages(paths):
    """{path: package} from one dpkg -S call over every path and its usrmerge alias."""
    queries = sorted({alias for path in paths for alias in usrmerge_aliases(path)})
    found = {}
    for line in run(["dpkg", "-S"] + queries).stdout.splitlines():
        package, _, owned = line.partition(": ")
        found[owned.strip()] = package.split(":")[0]
    owners = {}
    for path in paths:
        for alias in usrmerge_aliases(path):
            if alias in found:
                owners[path] = found[alias]
                break
    return owners


def main():
    dockerfile, binary = sys.argv[1], sys.argv[2]
    text = open(dockerfile, encoding="utf-8").read()
    failures = []
    all_stages = stages(text)
    if set(all_stages) != {"build", "runtime"}:
        failures.append(f"expected stages build and runtime, found {sorted(all_stages)}")
    runtime = all_stages.get("runtime", "")

    # 1. every package exists
    for stage_name, stage_text in all_stages.items():
        packages = installed_packages(stage_text)
        if not packages:
            failures.append(f"stage {stage_name} installs no packages")
        for package in packages:
            if run(["apt-cache", "show", package]).returncode != 0:
                failures.append(f"stage {stage_name}: package {package} is not in the Debian archive")
        print(f"stage {stage_name}: {len(packages)} packages, all checked with apt-cache show")

    # 2. every library the binary loads is carried by the runtime stage
    runtime_packages = installed_packages(runtime)
    provided = dependency_closure(runtime_packages) | BASE_IMAGE_PACKAGES
    ldd = run(["ldd", binary])
    if ldd.returncode != 0:
        failures.append(f"ldd {binary} failed: {ldd.stderr.strip()}")
    libraries = {}
    for line in ldd.stdout.splitlines():
        match = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line)
        if not match:
            continue
        soname, path = match.groups()
        if path == "not":
            failures.append(f"{soname} is not found even on the build machine")
            continue
        libraries[path] = soname
    owners = owning_packages(sorted(libraries)) if libraries else {}
    for path, soname in sorted(libraries.items()):
        package = owners.get(path)
        if package is None:
            failures.append(f"{soname} ({path}) belongs to no Debian package")
        elif package not in provided:
            failures.append(f"{soname} comes from {package}, which the runtime stage does not install")
    print(f"ldd: {len(libraries)} shared libraries, each mapped to a package the runtime stage carries")
    if not libraries:
        failures.append("ldd reported no shared libraries; is the binary dynamically linked?")

    # 3. runtime stage shape
    if not re.search(r"^FROM debian:bookworm-slim AS runtime", runtime, flags=re.M):
        failures.append("the runtime stage is not based on debian:bookworm-slim")
    user = re.findall(r"^USER\s+(\S+)", runtime, flags=re.M)
    if not user or user[-1].split(":")[0] in ("root", "0"):
        failures.append("the runtime stage does not switch to a non-root user")
    if not re.search(r"^HEALTHCHECK .*?/health", runtime, flags=re.M | re.S):
        failures.append("the runtime stage has no HEALTHCHECK on /health")
    if any("--port" in line for line in re.findall(r"^(?:CMD|ENTRYPOINT)\s.*$", runtime, flags=re.M)):
        failures.append("the runtime stage pins --port; Cloud Run's PORT must win")
    if "-dev" in " ".join(runtime_packages):
        failures.append("the runtime stage installs development packages")

    for failure in failures:
        print("FAIL: " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
