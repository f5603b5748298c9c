import CSupport
import Foundation
import XCTest

/// The worker pool (CSupport's cs_pool) driven directly: every chunk runs exactly
/// once, and the pool goes solo when, and only for as long as, the caller spends its
/// time waiting on a late worker.
final class PoolTests: XCTestCase {
    private struct Job {
        var counts: UnsafeMutablePointer<Int32>
        var lateWorkerMicros: UInt32  // a worker (not the caller) sleeps this long per chunk
        var callerSpinMicros: Double  // the caller busy-waits this long per chunk
        var spinMicros: Double = 0    // any thread busy-waits this long per chunk
    }

    private static func spin(_ micros: Double) {
        let end = Date().addingTimeInterval(micros / 1e6)
        while Date() < end {}
    }

    private func withPool(workers: Int32, _ body: (UnsafeMutablePointer<cs_pool>) -> Void) {
        let pool = UnsafeMutablePointer<cs_pool>.allocate(capacity: 1)
        defer { pool.deallocate() }
        XCTAssertEqual(cs_pool_start(pool, workers), 0)
        body(pool)
        cs_pool_stop(pool)
    }

    private func run(_ pool: UnsafeMutablePointer<cs_pool>, _ job: inout Job, chunks: Int64) {
        withUnsafeMutablePointer(to: &job) { jp in
            cs_pool_run(pool, { ctx, index, worker in
                guard let ctx else { return }
                let j = ctx.assumingMemoryBound(to: Job.self).pointee
                j.counts[Int(index)] += 1  // each chunk index is claimed by one thread only
                if worker != 0, j.lateWorkerMicros > 0 { usleep(j.lateWorkerMicros) }
                if worker == 0, j.callerSpinMicros > 0 { PoolTests.spin(j.callerSpinMicros) }
                if j.spinMicros > 0 { PoolTests.spin(j.spinMicros) }
            }, UnsafeMutableRawPointer(jp), chunks)
        }
    }

    func testEveryChunkRunsOnce() {
        let n = 257
        let counts = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        defer { counts.deallocate() }
        withPool(workers: 3) { pool in
            var job = Job(counts: counts, lateWorkerMicros: 0, callerSpinMicros: 0)
            // Many short jobs back to back: a worker still leaving one job must not
            // claim a chunk of the next (the race fixed in cs_pool_run).
            for round in 0..<2000 {
                let chunks = 1 + round % n
                counts.initialize(repeating: 0, count: n)
                run(pool, &job, chunks: Int64(chunks))
                let wrong = (0..<n).filter { counts[$0] != ($0 < chunks ? 1 : 0) }
                if !wrong.isEmpty {
                    XCTFail("round \(round), \(chunks) chunks: chunks \(wrong.prefix(5)) ran \(wrong.prefix(5).map { counts[$0] }) times")
                    return
                }
            }
        }
    }

    func testLateWorkerMakesThePoolGoSoloForAWhile() {
        let counts = UnsafeMutablePointer<Int32>.allocate(capacity: 2)
        defer { counts.deallocate() }
        withPool(workers: 1) { pool in
            XCTAssertEqual(cs_pool_use(pool), 1, "a fresh pool splits products")
            // The worker's chunk takes 2 ms (as if the OS ran another process on its
            // core); the caller's takes 0.2 ms, then it waits. After a few such jobs
            // (5 ms of evidence) the pool must run products on the caller alone.
            var job = Job(counts: counts, lateWorkerMicros: 2000, callerSpinMicros: 200)
            var solo = false
            for _ in 0..<200 where !solo {
                run(pool, &job, chunks: 2)
                solo = cs_pool_use(pool) == 0
            }
            XCTAssertTrue(solo, "the pool never went solo although the caller mostly waited")
            XCTAssertEqual(cs_pool_use(pool), 0, "still solo right after")
            // The spell lasts 100 ms, then the pool tries its workers again.
            usleep(150_000)
            XCTAssertEqual(cs_pool_use(pool), 1, "the solo spell ended")
        }
    }

    func testShortWaitsAmongLongJobsKeepThePool() {
        let counts = UnsafeMutablePointer<Int32>.allocate(capacity: 8)
        defer { counts.deallocate() }
        withPool(workers: 1) { pool in
            // Long jobs split evenly (eight chunks of 1 ms for two threads), each
            // followed by three tiny jobs in which the caller, with nothing of its
            // own to do, waits some tens of microseconds for the worker's chunk:
            // normal on an idle machine (a wake-up, an uneven last chunk). Waiting
            // is a small part of the time, so the pool must keep splitting
            // products. (Counting late runs instead of weighing time sent such a
            // pool solo after the first three tiny jobs.)
            var long = Job(counts: counts, lateWorkerMicros: 0, callerSpinMicros: 0, spinMicros: 1000)
            var tiny = Job(counts: counts, lateWorkerMicros: 30, callerSpinMicros: 0)
            var solo = 0
            for _ in 0..<30 {
                run(pool, &long, chunks: 8)
                for _ in 0..<3 { run(pool, &tiny, chunks: 2) }
                solo += cs_pool_use(pool) == 0 ? 1 : 0
            }
            XCTAssertEqual(solo, 0, "the pool went solo although waiting was a small part of the time")
        }
    }

    func testUnevenChunkCountKeepsThePool() {
        let counts = UnsafeMutablePointer<Int32>.allocate(capacity: 3)
        defer { counts.deallocate() }
        withPool(workers: 1) { pool in
            // Three equal chunks on two threads: one thread runs two, and when that
            // is the worker the caller waits one chunk's time, half of the job. That
            // is how such a job ends, not a late worker: the pool keeps splitting.
            var job = Job(counts: counts, lateWorkerMicros: 0, callerSpinMicros: 0, spinMicros: 500)
            var solo = 0
            for _ in 0..<40 {
                run(pool, &job, chunks: 3)
                solo += cs_pool_use(pool) == 0 ? 1 : 0
            }
            XCTAssertEqual(solo, 0, "the pool went solo on jobs that only end unevenly")
        }
    }
}
