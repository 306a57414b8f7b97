# Sourced by tools/quickstart.sh and tools/test.sh: installs the Debian
# packages Cascade builds with, only those that are missing.
cascade_packages=(
  cmake ninja-build g++ pkg-config
  librocksdb-dev libroaring-dev libicu-dev libstemmer-dev libsimdjson-dev libcli11-dev
  zlib1g-dev libgtest-dev libgmock-dev libbenchmark-dev libopenblas-dev
  libboost-dev curl
)

cascade_ensure_deps() {
  local missing=()
  local p
  for p in "${cascade_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing missing packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"; }
}

# Configures the build folder (Release; CUDA parts when nvcc and cuBLAS are
# found) unless it is configured already.
cascade_configure() {
  local root=$1 build=$2
  if [ ! -f "$build/build.ninja" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
  fi
}
