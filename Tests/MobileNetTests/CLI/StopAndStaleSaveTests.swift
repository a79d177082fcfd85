import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// SIGHUP stops a run as SIGINT and SIGTERM do; a save killed part-way is cleaned up.
@Suite struct StopAndStaleSaveTests {
    /// In a child process: SIGHUP becomes a stop request with status 129 (128 + 1), with
    /// another thread running (the signal may go to any thread that does not block it).
    @Test func sigHUPIsAStopRequestWithStatus129() async {
        await #expect(processExitsWith: .exitCode(129)) {
            let stop = StopSignals()
            stop.install()
            let other = Thread { while true { sleep(10) } }
            other.start()
            kill(getpid(), SIGHUP)
            for _ in 0..<500 where !stop.stopRequested { usleep(10_000) }
            exit(stop.stopRequested ? (stop.signalName == "SIGHUP" ? stop.exitStatus : 2) : 1)
        }
    }

    /// A dead process's `.incoming-<pid>` is removed and reported; a live one's is kept.
    @Test func aStaleIncomingFolderOfADeadProcessIsRemoved() throws {
        try CIFARFixture.withFolder { folder in
            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/bin/true")
            try child.run()
            child.waitUntilExit()
            let dead = child.processIdentifier
            let stale = folder + "/.incoming-\(dead)", live = folder + "/.incoming-1"
            for path in [stale, live, folder + "/step-00000004"] {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            }
            try #require(FileManager.default.createFile(atPath: stale + "/model.safetensors", contents: Data(count: 2_000_000)),
                         "could not write the stale save's file")
            let removed = CheckpointDirectory(path: folder).removeStaleSaves()
            #expect(removed == [CheckpointDirectory.StaleSave(path: stale, pid: dead, bytes: 2_000_000)])
            #expect(!FileManager.default.fileExists(atPath: stale))
            #expect(FileManager.default.fileExists(atPath: live))
            #expect(FileManager.default.fileExists(atPath: folder + "/step-00000004"))
        }
    }
}

/// Under mpirun (any launcher's rank-count variable) the progress bar prints plain lines.
@Suite struct ProgressBarLauncherTests {
    @Test func noRedrawUnderALauncher() {
        #expect(ProgressBar.redrawsInPlace(isTerminal: true, environment: [:]))
        #expect(!ProgressBar.redrawsInPlace(isTerminal: true, environment: ["OMPI_COMM_WORLD_SIZE": "2"]))
        #expect(!ProgressBar.redrawsInPlace(isTerminal: true, environment: ["OMPI_COMM_WORLD_SIZE": "1"]))
        #expect(!ProgressBar.redrawsInPlace(isTerminal: false, environment: [:]))
    }
}
