#!/usr/bin/env bash
# Builds ios/build/clawnodeFFI.xcframework (static libclawnode_ffi for iOS devices, the iOS
# simulator and macOS) for the Swift package. macOS with Xcode and rustup only:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin
#   ios/build-xcframework.sh            # then, at the repo root: CLAWNODE_LOCAL_FFI=1 swift test
# The Swift sources are the committed ios/Sources/ClawNodeBindings/generated (regenerate with
# `cargo xtask bindings`). Profile release-ffi keeps the symbols UniFFI needs.
set -euo pipefail
[ "$(uname)" = Darwin ] || { echo "build-xcframework.sh runs on macOS only" >&2; exit 1; }
cd "$(dirname "$0")/.."
PROFILE=release-ffi
for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin; do
  cargo build -p clawnode-ffi --lib --profile "$PROFILE" --target "$t"
done
OUT=ios/build
rm -rf "$OUT" && mkdir -p "$OUT/headers" "$OUT/sim" "$OUT/mac"
cp ios/Sources/ClawNodeBindings/generated/clawnodeFFI.h "$OUT/headers/"
cp ios/Sources/ClawNodeBindings/generated/clawnodeFFI.modulemap "$OUT/headers/module.modulemap"
lipo -create target/aarch64-apple-ios-sim/$PROFILE/libclawnode_ffi.a target/x86_64-apple-ios/$PROFILE/libclawnode_ffi.a \
  -output "$OUT/sim/libclawnode_ffi.a"
lipo -create target/aarch64-apple-darwin/$PROFILE/libclawnode_ffi.a target/x86_64-apple-darwin/$PROFILE/libclawnode_ffi.a \
  -output "$OUT/mac/libclawnode_ffi.a"
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/$PROFILE/libclawnode_ffi.a -headers "$OUT/headers" \
  -library "$OUT/sim/libclawnode_ffi.a" -headers "$OUT/headers" \
  -library "$OUT/mac/libclawnode_ffi.a" -headers "$OUT/headers" \
  -output "$OUT/clawnodeFFI.xcframework"
echo "built $OUT/clawnodeFFI.xcframework"
