import ClawNodeBindings
import Foundation
#if canImport(os)
import os
#endif

/// Where the Swift layer logs (handler failures, dropped work) and where the library's (Rust
/// core) records go: `os_log` (subsystem `ai.openclaw.clawnode`) by default. Replace `sink`
/// to route elsewhere.
public enum ClawNodeLog {
    /// A log record's level.
    public typealias Level = LogLevel

    private static let state = SinkBox()

    /// The sink: level and message.
    public static var sink: @Sendable (Level, String) -> Void {
        get { state.get() }
        set { state.set(newValue) }
    }

    /// The most detailed library level forwarded to `sink` (the first node installs the
    /// bridge at `.info`).
    public static func setLibraryLevel(_ level: Level) { setLogLevel(maxLevel: level) }

    static func log(_ level: Level, _ message: String) { sink(level, message) }

    static func bridgeLibraryOnce() { _ = bridged }

    private static let bridged: Bool = {
        do {
            try setLogSink(sink: Bridge(), maxLevel: .info)
            return true
        } catch {
            log(.warn, "library log bridge not installed: \(error)")
            return false
        }
    }()

    private final class Bridge: LogSink, @unchecked Sendable {
        func log(record: LogRecord) throws { ClawNodeLog.sink(record.level, "[\(record.target)] \(record.message)") }
    }

    private final class SinkBox: @unchecked Sendable {
        private let lock = NSLock()
        private var value: @Sendable (Level, String) -> Void = SinkBox.osLog

        func get() -> @Sendable (Level, String) -> Void { lock.withLock { value } }
        func set(_ v: @escaping @Sendable (Level, String) -> Void) { lock.withLock { value = v } }

        static let osLog: @Sendable (Level, String) -> Void = { level, message in
            #if canImport(os)
            let logger = Logger(subsystem: "ai.openclaw.clawnode", category: "node")
            switch level {
            case .error: logger.error("\(message, privacy: .public)")
            case .warn: logger.warning("\(message, privacy: .public)")
            case .info: logger.info("\(message, privacy: .public)")
            case .debug, .trace: logger.debug("\(message, privacy: .public)")
            }
            #else
            print("[clawnode] \(level): \(message)")
            #endif
        }
    }
}
