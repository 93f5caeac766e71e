# Sourced by the binding CI scripts (from the workspace root): sets TARGET_DIR to the
# workspace's target directory. `cargo xtask test` passes the one it resolved as
# $CLAWNODE_TARGET_DIR (clawnode_testkit::workspace::target_dir); run by hand, the script asks
# cargo the same way (`cargo metadata` → target_directory), so CARGO_TARGET_DIR and
# build.target-dir are honoured. Never assume `target/`.
if [ -n "${CLAWNODE_TARGET_DIR:-}" ]; then
  TARGET_DIR="$CLAWNODE_TARGET_DIR"
else
  TARGET_DIR="$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
fi
export TARGET_DIR
