import XCTest
@testable import Swann

/// The small C entry points: version, status names, NULL and dead handles.
final class CAPITests: XCTestCase {
    func testVersion() {
        let v = String(cString: swann_version())
        XCTAssertEqual(v.split(separator: ".").count, 3, v)
        XCTAssertTrue(v.split(separator: ".").allSatisfy { Int($0) != nil }, v)
    }

    func testStatusNames() {
        let names = ["SWANN_OK", "SWANN_E_ARG", "SWANN_E_SPEC", "SWANN_E_SHAPE", "SWANN_E_STATE", "SWANN_E_ARENA",
                     "SWANN_E_NOMEM", "SWANN_E_IO", "SWANN_E_FORMAT", "SWANN_E_NUMERIC"]
        for (i, name) in names.enumerated() {
            XCTAssertEqual(String(cString: swann_status_name(Int32(i))), name)
            XCTAssertEqual(Status(rawValue: Int32(i))?.rawValue, Int32(i))
        }
        XCTAssertFalse(String(cString: swann_status_name(-1)).isEmpty)
        XCTAssertFalse(String(cString: swann_status_name(1000)).isEmpty)
    }

    func testNullHandles() {
        let arg = Status.arg.rawValue
        var x: [Float] = [1, 2]
        var p: UnsafeMutablePointer<Float>? = nil
        var n: UInt = 0
        XCTAssertEqual(swann_forward(nil, &x, 1, nil), arg)
        XCTAssertTrue(lastError().contains("NULL"), lastError())
        XCTAssertEqual(swann_backward(nil, &x, nil, nil), arg)
        XCTAssertEqual(swann_backward_grad(nil, &x, nil), arg)
        XCTAssertEqual(swann_step(nil), arg)
        XCTAssertEqual(swann_zero_grad(nil), arg)
        XCTAssertEqual(swann_params(nil, &p, &n), arg)
        XCTAssertEqual(swann_grads(nil, &p, &n), arg)
        XCTAssertEqual(swann_spec_json(nil, nil, 0, &n), arg)
        XCTAssertEqual(swann_input_size(nil), 0)
        XCTAssertEqual(swann_output_size(nil), 0)
        XCTAssertEqual(swann_param_count(nil), 0)
        swann_destroy(nil)
        var out: UnsafeMutableRawPointer? = nil
        XCTAssertEqual(swann_create(#"{"input": 1, "layers": [{"units": 1, "activation": "tanh"}], "loss": "mse"}"#,
                                    1, nil, 0, nil), arg)
        XCTAssertEqual(swann_create(#"{"input": 1, "layers": [{"units": 1, "activation": "tanh"}], "loss": "mse"}"#,
                                    0, nil, 0, &out), arg)
    }

    func testNullBuffersOnLiveNet() throws {
        let net = try CNet(#"{"input": 2, "layers": [{"units": 2, "activation": "tanh"}], "loss": "mse"}"#)
        let arg = Status.arg.rawValue
        XCTAssertEqual(swann_forward(net.handle, nil, 1, nil), arg)
        var x: [Float] = [1, 2]
        XCTAssertEqual(swann_forward(net.handle, &x, 0, nil), Status.shape.rawValue)
        XCTAssertEqual(swann_forward(net.handle, &x, 1, nil), 0, "y may be NULL")
        XCTAssertEqual(swann_backward(net.handle, nil, nil, nil), arg)
        XCTAssertEqual(swann_backward_grad(net.handle, nil, nil), arg)
        XCTAssertEqual(swann_backward(net.handle, &x, nil, nil), 0, "loss and dx may be NULL")
        var n: UInt = 0
        XCTAssertEqual(swann_params(net.handle, nil, &n), arg)
        XCTAssertEqual(swann_grads(net.handle, nil, nil), arg)
    }
}
