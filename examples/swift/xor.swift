// xor.swift -- a Swift host (normal Swift, not Embedded): learn XOR through the
// installed C header, imported as the Clang module CSwann (module map installed by
// `make install` in $PREFIX/include/swann). Build and run:
//   swiftc -O -I $PREFIX/include/swann examples/swift/xor.swift -o xor \
//       -L $PREFIX/lib -lswann -Xlinker -rpath -Xlinker $PREFIX/lib && ./xor
// or linked statically (libswann.a needs libm, which a Swift program without
// Foundation does not link by itself):
//   swiftc -O -I $PREFIX/include/swann examples/swift/xor.swift -o xor $PREFIX/lib/libswann.a -lm
import CSwann
#if canImport(Glibc)
import Glibc
#endif

/// A failed call: its status name and swann's one-line message.
struct SwannFailure: Error, CustomStringConvertible {
    let description: String
}

func check(_ status: swann_status) throws {
    if status != SWANN_OK {
        throw SwannFailure(description: "\(String(cString: swann_status_name(status))): \(String(cString: swann_last_error()))")
    }
}

func trainXOR() throws -> [Float] {
    let spec = """
        {"input": 2, "layers": [{"units": 8, "activation": "tanh"}, {"units": 1, "activation": "sigmoid"}],
         "loss": "mse", "optimizer": {"type": "sgd", "lr": 0.5, "momentum": 0.9}, "seed": 1}
        """
    var x: [Float] = [0, 0, 0, 1, 1, 0, 1, 1]
    var target: [Float] = [0, 1, 1, 0]
    var y = [Float](repeating: 0, count: 4)
    var net: OpaquePointer? = nil
    try check(swann_create(spec, 4, nil, 0, &net))   // max batch 4; the library allocates
    defer { swann_destroy(net) }
    for _ in 0..<3000 {                               // one step on all four rows
        try check(swann_forward(net, &x, 4, nil))
        try check(swann_backward(net, &target, nil, nil))
        try check(swann_step(net))
    }
    try check(swann_forward(net, &x, 4, &y))
    return y
}

do {
    print("swann \(String(cString: swann_version()))")
    let y = try trainXOR()
    for (i, value) in y.enumerated() {
        print("\(i >> 1) xor \(i & 1) = \(value)")
    }
} catch {
    print("xor: \(error)")
    exit(1)
}
