#!/usr/bin/env bash
# CI for the Python package (run by `cargo xtask test` from the workspace root): a venv under
# the target dir with pinned tools, the wheel built by maturin (debug profile: fast, shares the
# workspace's debug artifacts), installed, and pytest against the real Gateway.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/target-dir.sh
VENV="$TARGET_DIR/bindings-venv"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check maturin==1.16.0 pytest==9.2.0 tree-sitter==0.26.1 tree-sitter-swift==0.7.4
rm -rf "$TARGET_DIR"/wheels/clawnode-*.whl
(cd bindings/python && PATH="$VENV/bin:$PATH" maturin build --quiet --profile dev -o "$TARGET_DIR/wheels")
"$VENV/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$TARGET_DIR"/wheels/clawnode-*.whl
CLAWNODE_GATEWAY_FIXTURE="$TARGET_DIR/debug/gateway-fixture" "$VENV/bin/python" -m pytest -q -p no:cacheprovider bindings/python/tests
