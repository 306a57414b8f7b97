#!/usr/bin/env bash
# Copies the Debian development files that the GPU machine lacks (simdjson,
# which reads model configs, and GoogleTest) into .devdeps/ at the
# repository root, a folder .gitignore names, so that the device tool can carry
# it: run this here once, then on the GPU machine
#   bash bench/gpu/run_device.sh        (with carry: [".devdeps"])
# run_device.sh points CMake at .devdeps/usr when the folder is there.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dest=$root/.devdeps
rm -rf "$dest"
mkdir -p "$dest"
for pkg in libsimdjson-dev libsimdjson14 libgtest-dev; do
  dpkg -L "$pkg" >/dev/null 2>&1 || {
    echo "pack_device_deps: package $pkg is not installed (apt-get install $pkg)" >&2
    exit 1
  }
  dpkg -L "$pkg" | while read -r f; do
    case "$f" in /usr/share/* | /usr/src/*) continue ;; esac
    if [ -f "$f" ]; then cp -L --parents "$f" "$dest"; fi
  done
done
echo "pack_device_deps: $(du -sh "$dest" | cut -f1) in $dest"
