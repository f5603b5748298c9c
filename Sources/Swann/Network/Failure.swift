import CSupport

/// The status codes of the C contract (`swann_status` in `include/swann.h`).
enum Status: Int32 {
    case ok = 0
    case arg = 1
    case spec = 2
    case shape = 3
    case state = 4
    case arena = 5
    case nomem = 6
    case io = 7
    case format = 8
    case numeric = 9

    /// The constant's name as the header spells it.
    var name: StaticString {
        switch self {
        case .ok: return "SWANN_OK"
        case .arg: return "SWANN_E_ARG"
        case .spec: return "SWANN_E_SPEC"
        case .shape: return "SWANN_E_SHAPE"
        case .state: return "SWANN_E_STATE"
        case .arena: return "SWANN_E_ARENA"
        case .nomem: return "SWANN_E_NOMEM"
        case .io: return "SWANN_E_IO"
        case .format: return "SWANN_E_FORMAT"
        case .numeric: return "SWANN_E_NUMERIC"
        }
    }
}

/// The one failure of the core: a status and its one-line message, made together
/// by `Failure` and carried up to the boundary, which returns the status and
/// publishes the message as the thread's error text. Nothing is published before,
/// so a failure the core handles itself leaves that text as it was. The message
/// travels beside the value, in the thread's pending message (`cs_pending`): a
/// thread has one failure in flight at a time, and a value of two words keeps
/// every throwing call as small as one that returns a status.
struct SwannError: Error {
    let status: Status

    fileprivate init(_ status: Status) { self.status = status }

    /// The message (until the thread's next failure).
    var message: UnsafePointer<CChar> { cs_pending_text() }

    /// The same failure under another status, its message prefixed: a bad spec
    /// inside a model file becomes `load: the file's spec: ...`, a format error.
    func within(_ function: StaticString, as status: Status) -> SwannError {
        cs_message_prefix(cs_pending(), cString(function), ": the file's ")
        return SwannError(status)
    }
}

/// Builds a failure's message in place, with no heap use:
/// `throw Failure("forward: batch ").uint(b).text(" exceeds max_batch ").int(m).error(.shape)`.
struct Failure {
    @discardableResult @inline(never)
    init(_ first: StaticString) { cs_message_begin(cs_pending(), cString(first)) }

    @inline(never)
    func text(_ s: StaticString) -> Failure { cs_message_append(cs_pending(), cString(s)); return self }

    /// Text that is not a literal (a JSON key, a file name); NULL appends nothing.
    @inline(never)
    func text(_ s: UnsafePointer<CChar>?) -> Failure { cs_message_append(cs_pending(), s); return self }

    @inline(never)
    func int(_ v: Int) -> Failure { cs_message_append_int(cs_pending(), Int64(v)); return self }

    @inline(never)
    func uint(_ v: UInt) -> Failure { cs_message_append_uint(cs_pending(), UInt64(v)); return self }

    @inline(never)
    func number(_ v: Double) -> Failure { cs_message_append_double(cs_pending(), v); return self }

    /// ": <the reason errno gives>" (read now: call it right after the failing call).
    @inline(never)
    func reason() -> Failure { cs_message_append_errno(cs_pending(), cs_errno()); return self }

    /// The failure, with its status.
    @inline(__always)
    func error(_ status: Status) -> SwannError { SwannError(status) }
}

/// A C string view of a static string (string literals live for the whole program).
@inline(__always)
func cString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}
