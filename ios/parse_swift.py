"""Parses every Swift file under ios/ with tree-sitter-swift and fails on syntax errors
(these machines have no Swift toolchain). Usage: python ios/parse_swift.py [dir-or-file ...]"""

import pathlib
import re
import sys

import tree_sitter_swift
from tree_sitter import Language, Parser


def errors(node, out):
    if node.is_missing or node.type == "ERROR":
        out.append(node)
    elif node.has_error:
        for child in node.children:
            errors(child, out)
    return out


# tree-sitter-swift 0.7.4 cannot parse a conditional-compilation block that holds only an
# attribute of the next declaration, which UniFFI emits everywhere (valid Swift):
#     #if swift(>=5.8)
#     @_documentation(visibility: private)
#     #endif
# Nor a closure whose body is the empty tuple expression: `let writeReturn = { () }`.
# Rewrite exactly these patterns (keeping line numbers) before parsing; nothing else is touched.
GRAMMAR_GAP = re.compile(rb"^[ \t]*#if swift\(>=5\.8\)\n[ \t]*@_documentation\(visibility: private\)\n[ \t]*#endif$", re.M)


UNIT_CLOSURE = re.compile(rb"= \{ \(\) \}$", re.M)


def blank(match: "re.Match[bytes]") -> bytes:
    return b"\n" * match.group(0).count(b"\n")


def bridge(source: bytes) -> bytes:
    return UNIT_CLOSURE.sub(b"= { }", GRAMMAR_GAP.sub(blank, source))


def main() -> int:
    roots = [pathlib.Path(a) for a in sys.argv[1:]] or [pathlib.Path(__file__).parent]
    parser = Parser(Language(tree_sitter_swift.language()))
    files = sorted(
        p for root in roots for p in ([root] if root.is_file() else root.rglob("*.swift")) if "build" not in p.parts
    )
    bad = 0
    for path in files:
        tree = parser.parse(bridge(path.read_bytes()))
        found = errors(tree.root_node, [])
        for n in found[:5]:
            kind = "missing " + n.type if n.is_missing else "syntax error"
            print(f"{path}:{n.start_point[0] + 1}:{n.start_point[1] + 1}: {kind}")
        bad += bool(found)
    print(f"swift parse: {len(files) - bad} passed, {bad} failed")
    return 1 if bad or not files else 0


if __name__ == "__main__":
    sys.exit(main())
