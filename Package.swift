// swift-tools-version:5.9
//
// The Swift package builds swann's core, module Swann as in the Makefile, in
// normal Swift mode for `swift test`.
// The shipped C library (libswann.so / libswann.a) is the same sources compiled
// as Embedded Swift by the Makefile (`make`): no Swift runtime, only swann_*
// exported. Never link the two into one binary: they define the same symbols.
import PackageDescription

let package = Package(
    name: "swann",
    products: [
        .library(name: "Swann", targets: ["Swann"]),
    ],
    targets: [
        .target(
            name: "CSupport",
            path: "Sources/CSupport",
            cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("m")]
        ),
        .target(
            name: "Swann",
            dependencies: ["CSupport"],
            path: "Sources/Swann",
            swiftSettings: [.unsafeFlags(["-target-cpu", "haswell"])]
        ),
        .testTarget(
            name: "SwannTests",
            dependencies: ["Swann"],
            path: "Tests/SwannTests"
        ),
    ]
)
