#!/usr/bin/env bash
# CI for the Python package (run by `cargo xtask test` from the workspace root): a venv under
# the target dir with pinned tools, the wheel built by maturin (debug profile: fast, shares the
# workspace's debug artifacts), `mypy --strict` on the wheel as shipped (with its `py.typed`),
# the tests and the program of docs/python.md, then pytest against the real Gateway.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/target-dir.sh
VENV="$TARGET_DIR/bindings-venv"
PY="$VENV/bin/python"
# Every tool runs as `python -m …`: a venv copied from another checkout keeps script shebangs
# that point into the original one, `python -m` always uses this venv.
if [ ! -x "$PY" ] || [ "$("$PY" -c 'import sys; print(sys.prefix)')" != "$(cd "$VENV" && pwd -P)" ]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
fi
"$PY" -m pip install --quiet --disable-pip-version-check \
  maturin==1.16.0 pytest==9.2.0 mypy==2.4.1 tree-sitter==0.26.1 tree-sitter-swift==0.7.4
rm -rf "$TARGET_DIR"/wheels/clawnode-*.whl
(cd bindings/python && "$PY" -m maturin build --quiet --profile dev -o "$TARGET_DIR/wheels")
WHEEL=$(ls "$TARGET_DIR"/wheels/clawnode-*.whl)
"$PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$WHEEL"

# Type check what ships: the wheel's Python files (not the native library) unpacked where
# MYPYPATH finds them first, the tests, and the docs' program as a user would write it.
TC="$TARGET_DIR/py-typecheck"
rm -rf "$TC" && mkdir -p "$TC"
"$PY" - "$WHEEL" "$TC" <<'EOF'
import re, sys, zipfile, pathlib
wheel, out = sys.argv[1], pathlib.Path(sys.argv[2])
with zipfile.ZipFile(wheel) as z:
    names = z.namelist()
    if "clawnode/py.typed" not in names:
        sys.exit("the wheel has no clawnode/py.typed")
    z.extractall(out, [n for n in names if n.startswith("clawnode/") and n.endswith((".py", "py.typed"))])
doc = pathlib.Path("docs/python.md").read_text(encoding="utf-8")
(out / "docs_python_example.py").write_text(re.search(r"```python\n(.*?)```", doc, re.S).group(1))
EOF
(cd bindings/python && MYPYPATH="$TC" "$PY" -m mypy --cache-dir "$TC/.mypy_cache" \
  "$TC/clawnode" tests "$TC/docs_python_example.py")

CLAWNODE_GATEWAY_FIXTURE="$TARGET_DIR/debug/gateway-fixture" "$PY" -m pytest -q -p no:cacheprovider bindings/python/tests
