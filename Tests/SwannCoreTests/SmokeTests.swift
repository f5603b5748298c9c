import XCTest
@testable import SwannCore

final class SmokeTests: XCTestCase {
    func testVersion() {
        XCTAssertEqual(String(cString: swann_version()), "0.1.0")
    }
}
