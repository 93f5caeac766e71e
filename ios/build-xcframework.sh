#!/usr/bin/env bash
# Builds build/ClawNodeFFI.xcframework (static libclawnode_ffi for iOS devices, the iOS
# simulator and macOS) for the Swift package. macOS with Xcode and rustup only:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin
#   ios/build-xcframework.sh            # then: swift build / open in Xcode; swift test runs the XCTests
# The Swift sources are the committed ios/Sources/ClawNodeFFI/generated (regenerate with
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
cp ios/Sources/ClawNodeFFI/generated/clawnodeFFI.h "$OUT/headers/"
cp ios/Sources/ClawNodeFFI/generated/clawnodeFFI.modulemap "$OUT/headers/module.modulemap"
lipo -create target/aarch64-apple-ios-sim/$PROFILE/libclawnode_ffi.a target/x86_64-apple-ios/$PROFILE/libclawnode_ffi.a \
  -output "$OUT/sim/libclawnode_ffi.a"
lipo -create target/aarch64-apple-darwin/$PROFILE/libclawnode_ffi.a target/x86_64-apple-darwin/$PROFILE/libclawnode_ffi.a \
  -output "$OUT/mac/libclawnode_ffi.a"
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/$PROFILE/libclawnode_ffi.a -headers "$OUT/headers" \
  -library "$OUT/sim/libclawnode_ffi.a" -headers "$OUT/headers" \
  -library "$OUT/mac/libclawnode_ffi.a" -headers "$OUT/headers" \
  -output "$OUT/ClawNodeFFI.xcframework"
echo "built $OUT/ClawNodeFFI.xcframework"
