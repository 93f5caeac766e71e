#!/usr/bin/env bash
# CI for the AAR's Kotlin (run by `cargo xtask test`): compiles the Android glue, the shared
# wrapper and the Android flavour of the generated bindings against Robolectric's android-all
# jar and runs the glue's tests under Robolectric 4.17 offline. No Android SDK, no daemon left
# behind (in-process Kotlin compiler: pom.xml).
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -B -ntp -f android/aar/pom.xml test
