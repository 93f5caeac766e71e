#!/usr/bin/env bash
# Builds libclawnode_ffi.so for the AAR's ABIs into android/aar/src/main/jniLibs/<abi>/.
# Needs the Android NDK (ANDROID_NDK_HOME) and cargo-ndk; CI has neither (it runs
# `cargo xtask phones`, a type check of the same code for these targets, instead):
#   rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
#   cargo install cargo-ndk
#   android/aar/build-native.sh            # then: gradle :aar:assembleRelease
# Why the NDK: linking a cdylib for Android needs bionic's libc/libdl/liblog stubs, the crt
# objects and the per-API-level clang wrappers, which only the NDK ships.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${ANDROID_NDK_HOME:?set ANDROID_NDK_HOME to the NDK (e.g. \$ANDROID_HOME/ndk/<version>)}"
command -v cargo-ndk >/dev/null || { echo "cargo install cargo-ndk" >&2; exit 1; }
cargo ndk --platform 26 -t arm64-v8a -t armeabi-v7a -t x86_64 -o android/aar/src/main/jniLibs \
  build --profile release-ffi -p clawnode-ffi
ls -l android/aar/src/main/jniLibs/*/libclawnode_ffi.so
