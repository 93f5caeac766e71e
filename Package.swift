// swift-tools-version:6.0
// ClawNode for iOS/macOS, addable by URL (File ▸ Add Package Dependencies… or
// `.package(url: "<this repository>", from: "0.1.0")`, product "ClawNode").
//
// Targets: the native library as a binary target `clawnodeFFI` (an xcframework zip fetched by
// URL and verified by checksum; ios/release-xcframework.sh builds it and rewrites the two
// lines below), the generated UniFFI Swift (`ClawNodeBindings`, committed under
// ios/Sources/ClawNodeBindings/generated and drift-checked by `cargo xtask test`), the
// idiomatic layer (`ClawNode`, Swift 6 language mode) and its XCTests.
// Local development: `ios/build-xcframework.sh`, then `CLAWNODE_LOCAL_FFI=1 swift test`.
import PackageDescription

let ffiURL = "https://example.invalid/clawnode/releases/download/v0.1.0/clawnodeFFI.xcframework.zip"
let ffiChecksum = "0000000000000000000000000000000000000000000000000000000000000000"

let ffi: Target = Context.environment["CLAWNODE_LOCAL_FFI"] != nil
    ? .binaryTarget(name: "clawnodeFFI", path: "ios/build/clawnodeFFI.xcframework")
    : .binaryTarget(name: "clawnodeFFI", url: ffiURL, checksum: ffiChecksum)

let package = Package(
    name: "ClawNode",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [.library(name: "ClawNode", targets: ["ClawNode"])],
    targets: [
        ffi,
        .target(
            name: "ClawNodeBindings",
            dependencies: ["clawnodeFFI"],
            path: "ios/Sources/ClawNodeBindings",
            exclude: ["generated/clawnodeFFI.h", "generated/clawnodeFFI.modulemap"],
            sources: ["generated/clawnode.swift"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .target(name: "ClawNode", dependencies: ["ClawNodeBindings"], path: "ios/Sources/ClawNode"),
        .testTarget(name: "ClawNodeTests", dependencies: ["ClawNode"], path: "ios/Tests/ClawNodeTests"),
    ]
)
