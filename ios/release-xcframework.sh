#!/usr/bin/env bash
# Packs ios/build/clawnodeFFI.xcframework (from build-xcframework.sh, macOS) for SwiftPM's
# binary target: writes ios/build/clawnodeFFI.xcframework.zip, prints its SHA-256 checksum
# (what `swift package compute-checksum` computes) and rewrites `ffiURL`/`ffiChecksum` in the
# root Package.swift. Upload the zip to <base-url>/clawnodeFFI.xcframework.zip, commit
# Package.swift, tag the release.
#   ios/build-xcframework.sh && ios/release-xcframework.sh https://github.com/<org>/clawnode/releases/download/v0.1.0
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 <download base url>" >&2; exit 2; }
cd "$(dirname "$0")/.."
BASE="${1%/}"
FW=ios/build/clawnodeFFI.xcframework
[ -d "$FW" ] || { echo "$FW missing: run ios/build-xcframework.sh first" >&2; exit 1; }
ZIP=ios/build/clawnodeFFI.xcframework.zip
rm -f "$ZIP"
(cd ios/build && zip -qry -X clawnodeFFI.xcframework.zip clawnodeFFI.xcframework)
if command -v swift >/dev/null 2>&1; then SUM=$(swift package compute-checksum "$ZIP"); else SUM=$(shasum -a 256 "$ZIP" | cut -d' ' -f1); fi
sed -i.bak -e "s|^let ffiURL = .*|let ffiURL = \"$BASE/clawnodeFFI.xcframework.zip\"|" \
  -e "s|^let ffiChecksum = .*|let ffiChecksum = \"$SUM\"|" Package.swift && rm -f Package.swift.bak
echo "zip:      $ZIP"
echo "checksum: $SUM"
echo "url:      $BASE/clawnodeFFI.xcframework.zip (Package.swift updated)"
