"""Compares the public API of the Kotlin wrapper (android/jvm/src/main/kotlin/.../*.kt, shared
with the AAR) with the Swift wrapper's (ios/Sources/ClawNode/*.swift): the same types with the
same members, names compared case-insensitively on their first letter (Kotlin's `Failed`
subclass is Swift's `.failed` case, `PENDING_BUFFER` is `pendingBuffer`). Differences that are
the languages' own idioms are listed in ALLOWED with the reason; anything else fails.
Usage: python ios/api_parity.py [repo root]   (prints both surfaces and the diff)"""

import pathlib
import re
import sys

KOTLIN_DIR = "android/jvm/src/main/kotlin/ai/openclaw/clawnode"
SWIFT_DIR = "ios/Sources/ClawNode"
COMPARED = ["ClawNode", "Invoke", "Commands", "CommandError", "ClawNodeLog"]

# (type, member, side): the member exists on that side only, on purpose.
ALLOWED = {
    ("ClawNode", "states", "swift"): "Kotlin's `state` is a StateFlow (value + stream); Swift has `state` + `states`",
    ("Commands", "typedCommandWith", "kotlin"): "explicit kotlinx.serialization serializers (Swift infers Codable)",
    ("Invoke", "decodeWith", "kotlin"): "explicit kotlinx.serialization serializer (Swift infers Decodable)",
    ("CommandError", "description", "swift"): "CustomStringConvertible (Kotlin overrides toString)",
    ("ClawNodeLog", "level", "swift"): "typealias of the library's LogLevel (Kotlin uses java.util.logging.Level)",
}
# Top-level declarations compared by name (outside the types above).
TOP_LEVEL_ALLOWED = {
    ("ClawJson", "kotlin"): "the kotlinx.serialization Json settings (Swift uses JSONDecoder/JSONEncoder)",
}


def camel(name: str) -> str:
    if re.fullmatch(r"[A-Z][A-Z0-9_]+", name):
        head, *rest = name.lower().split("_")
        return head + "".join(p.capitalize() for p in rest)
    return name[:1].lower() + name[1:]


def kotlin_surface(root: pathlib.Path) -> tuple[dict[str, set[str]], set[str]]:
    types: dict[str, set[str]] = {}
    top: set[str] = set()
    for path in sorted((root / KOTLIN_DIR).glob("*.kt")):
        current = None
        for line in path.read_text().splitlines():
            m = re.match(r"^(?:sealed |data |abstract |open )?(class|object|interface) (\w+)(.*)", line)
            if m:
                current = m.group(2)
                types.setdefault(current, set())
                # constructor `val`s are members
                for mod, v in re.findall(r"(\w+ )?val (\w+)", m.group(3)):
                    if mod.strip() not in ("private", "internal", "protected"):
                        types[current].add(v)
                continue
            m = re.match(r"^(?:val|fun|typealias) (\w+)", line)
            if m:
                top.add(m.group(1))
                current = None
                continue
            if current is None:
                continue
            m = re.match(r"^    (?:@\w+\s+)*(?:(inline|suspend|const|open|override)\s+)*(val|var|fun|class|object)\s+(?:<[^>]+>\s+)?(\w+)", line)
            if m and not re.match(r"^    (private|internal|protected|override fun toString)", line):
                types[current].add(m.group(3))
    # public companion members: `companion object { ... }` at 4 spaces
    for path in sorted((root / KOTLIN_DIR).glob("*.kt")):
        text = path.read_text()
        for cls, body in re.findall(r"\nclass (\w+)[\s\S]*?\n    companion object \{([\s\S]*?)\n    \}", text):
            for v in re.findall(r"\n        (?:(?:suspend|const) )*(?:val|fun) (\w+)", body):
                types.setdefault(cls, set()).add(v)
    return types, top


def swift_surface(root: pathlib.Path) -> tuple[dict[str, set[str]], set[str]]:
    types: dict[str, set[str]] = {}
    top: set[str] = set()
    for path in sorted((root / SWIFT_DIR).glob("*.swift")):
        current = None
        for line in path.read_text().splitlines():
            m = re.match(r"^public (?:final )?(class|struct|enum) (\w+)", line)
            if m:
                current = m.group(2)
                types.setdefault(current, set())
                continue
            m = re.match(r"^public (?:typealias|func|let|var) (\w+)", line)
            if m:
                top.add(m.group(1))
                continue
            if re.match(r"^\S", line):
                current = None
                continue
            if current is None:
                continue
            m = re.match(r"^    public (?:static )?(?:func|var|let|typealias|init)\s*(\w*)", line)
            if m and m.group(1):
                types[current].add(m.group(1))
            m = re.match(r"^    case (\w+)", line)
            if m:
                types[current].add(m.group(1))
    return types, top


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[1])
    kt, kt_top = kotlin_surface(root)
    sw, sw_top = swift_surface(root)
    problems = []
    for t in COMPARED:
        k = {camel(m) for m in kt.get(t, set()) if m != "companion"}
        s = {camel(m) for m in sw.get(t, set())}
        if t not in kt or t not in sw:
            problems.append(f"{t}: missing on the {'Kotlin' if t not in kt else 'Swift'} side")
            continue
        print(f"{t}: {len(k & s)} shared: {', '.join(sorted(k & s))}")
        for m in sorted(k - s):
            why = ALLOWED.get((t, m, "kotlin"))
            print(f"  kotlin only: {m}" + (f"  ({why})" if why else "  <-- not in Swift"))
            if not why:
                problems.append(f"{t}.{m}: Kotlin only")
        for m in sorted(s - k):
            why = ALLOWED.get((t, m, "swift"))
            print(f"  swift only:  {m}" + (f"  ({why})" if why else "  <-- not in Kotlin"))
            if not why:
                problems.append(f"{t}.{m}: Swift only")
    for name in sorted(kt_top ^ sw_top):
        side = "kotlin" if name in kt_top else "swift"
        why = TOP_LEVEL_ALLOWED.get((name, side))
        print(f"top level, {side} only: {name}" + (f"  ({why})" if why else ""))
        if not why:
            problems.append(f"top-level {name}: {side} only")
    for p in problems:
        print(f"API parity: {p}", file=sys.stderr)
    print(f"api parity: {'FAILED' if problems else 'ok'} ({len(problems)} unexplained differences)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
