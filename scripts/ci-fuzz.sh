#!/usr/bin/env bash
# CI: hostile-input checks (issue 7). Run by .ci/run after the tests.
#
# 1. Every fuzz target briefly (FUZZ_CI_SECONDS each, default 15) under
#    AddressSanitizer, starting from the committed seeds and regression
#    inputs in fuzz/seeds/ (so every past finding is replayed).
# 2. cargo deny: licences, bans and sources (offline), and advisories when
#    the RustSec database can be fetched.
#
# Installs what it needs on a fresh machine (cargo-fuzz, cargo-deny, a C++
# compiler for libFuzzer). Anything that cannot be installed or run is
# reported as "SKIPPED: <reason>", never passed over in silence; a crash or
# a licence/advisory problem fails the script.
set -uo pipefail
cd "$(dirname "$0")/.."
secs="${FUZZ_CI_SECONDS:-15}"
failed=0
skipped=0
skip() { echo "SKIPPED: $*"; skipped=$((skipped + 1)); }
ensure_cargo_tool() { # binary crate
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "installing $2 (cargo install --locked $2)"
  cargo install --locked "$2" >/tmp/ci-fuzz-install-"$2".log 2>&1 ||
    { tail -5 /tmp/ci-fuzz-install-"$2".log; return 1; }
}

echo "== fuzz targets (${secs}s each)"
fuzz_ok=1
if ! command -v c++ >/dev/null 2>&1 && ! command -v g++ >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++) >/dev/null 2>&1
  fi
fi
if ! command -v c++ >/dev/null 2>&1 && ! command -v g++ >/dev/null 2>&1; then
  skip "fuzzing: no C++ compiler for libFuzzer and none could be installed"
  fuzz_ok=0
elif ! ensure_cargo_tool cargo-fuzz cargo-fuzz; then
  skip "fuzzing: cargo-fuzz could not be installed"
  fuzz_ok=0
fi
if [ "$fuzz_ok" = 1 ]; then
  san=address
  # The sanitizer runtime ships with the standard library for x86_64 Linux;
  # where it does not, fuzz without it rather than not at all.
  if ! (cd fuzz && RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/../target}/fuzz-address" \
        cargo fuzz build -O -s address >/tmp/ci-fuzz-build.log 2>&1); then
    tail -20 /tmp/ci-fuzz-build.log
    echo "AddressSanitizer build failed; fuzzing without a sanitizer"
    san=none
  fi
  if FUZZ_SANITIZER="$san" bash scripts/fuzz.sh "$secs"; then
    echo "fuzz: no crash ($san)"
  else
    echo "FAILED: a fuzz target crashed (inputs in fuzz/artifacts/)"
    failed=1
  fi
fi

# The sanitizer build is not needed again in this run.
rm -rf "${CARGO_TARGET_DIR:-$PWD/target}/fuzz-address" "${CARGO_TARGET_DIR:-$PWD/target}/fuzz-none"

echo
echo "== cargo deny"
if ensure_cargo_tool cargo-deny cargo-deny; then
  if cargo deny check --hide-inclusion-graph licenses bans sources; then
    echo "cargo deny licenses bans sources: ok"
  else
    echo "FAILED: cargo deny licenses/bans/sources"
    failed=1
  fi
  out=$(cargo deny check --hide-inclusion-graph advisories 2>&1)
  rc=$?
  if [ "$rc" = 0 ]; then
    echo "cargo deny advisories: ok"
  elif echo "$out" | grep -q "failed to fetch advisory database"; then
    skip "cargo deny advisories: the RustSec advisory database cannot be fetched from this machine (no network beyond the package registries)"
  else
    echo "$out" | tail -40
    echo "FAILED: cargo deny advisories"
    failed=1
  fi
else
  skip "cargo deny: cargo-deny could not be installed"
fi

echo
echo "ci-fuzz: failed=$failed skipped=$skipped"
exit "$failed"
