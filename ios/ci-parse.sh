#!/usr/bin/env bash
# CI for the Swift package (no Swift toolchain here): parse every Swift file, generated and
# hand-written, and the root Package.swift with tree-sitter-swift (any syntax error fails),
# then compare the Swift wrapper's public API with the Kotlin wrapper's (ios/api_parity.py).
# Tools in a venv under the target dir.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/target-dir.sh
VENV="$TARGET_DIR/bindings-venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check tree-sitter==0.26.1 tree-sitter-swift==0.7.4
"$VENV/bin/python" ios/parse_swift.py ios Package.swift
"$VENV/bin/python" ios/api_parity.py .
