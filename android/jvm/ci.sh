#!/usr/bin/env bash
# CI for the Kotlin/JVM layer (run by `cargo xtask test` from the workspace root): the host
# cdylib in debug, then Maven (dependencies from Maven Central) compiles the committed
# generated bindings + the wrapper and runs the JUnit tests against the real Gateway.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/target-dir.sh
cargo build --quiet -p clawnode-ffi
mvn -B -ntp -f android/jvm/pom.xml test \
  -Dclawnode.lib.dir="$TARGET_DIR/debug" \
  -Dclawnode.gateway.fixture="$TARGET_DIR/debug/gateway-fixture"
