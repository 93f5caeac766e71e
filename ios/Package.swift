// swift-tools-version:5.9
// ClawNode for iOS/macOS: the generated UniFFI bindings (Sources/ClawNodeFFI/generated,
// committed and drift-checked by `cargo xtask test`), the idiomatic layer (Sources/ClawNode)
// and XCTest sources. The native library comes as build/ClawNodeFFI.xcframework, built by
// ./build-xcframework.sh on macOS.
import PackageDescription

let package = Package(
    name: "ClawNode",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [.library(name: "ClawNode", targets: ["ClawNode"])],
    targets: [
        .binaryTarget(name: "clawnodeFFI", path: "build/ClawNodeFFI.xcframework"),
        .target(
            name: "ClawNodeFFI",
            dependencies: ["clawnodeFFI"],
            path: "Sources/ClawNodeFFI",
            exclude: ["generated/clawnodeFFI.h", "generated/clawnodeFFI.modulemap"],
            sources: ["generated/clawnode.swift"]
        ),
        .target(name: "ClawNode", dependencies: ["ClawNodeFFI"], path: "Sources/ClawNode"),
        .testTarget(name: "ClawNodeTests", dependencies: ["ClawNode"], path: "Tests/ClawNodeTests"),
    ]
)
