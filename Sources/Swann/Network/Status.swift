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

/// A C string view of a static string (string literals live for the whole program).
@inline(__always)
func cString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// Builds the calling thread's last-error message in place, with no heap use:
/// `return Failure("forward: batch ").int(b).text(" exceeds max_batch ").int(m).status(.shape)`.
struct Failure {
    @discardableResult @inline(never)
    init(_ first: StaticString) { cs_err_begin(cString(first)) }

    @discardableResult @inline(never)
    func text(_ s: StaticString) -> Failure { cs_err_append(cString(s)); return self }

    /// Appends text that is not a literal (a JSON key, a file name); NULL appends nothing.
    @discardableResult @inline(never)
    func text(_ s: UnsafePointer<CChar>?) -> Failure { cs_err_append(s); return self }

    @discardableResult @inline(never)
    func int(_ v: Int) -> Failure { cs_err_append_int(Int64(v)); return self }

    @discardableResult @inline(never)
    func uint(_ v: UInt) -> Failure { cs_err_append_uint(UInt64(v)); return self }

    @discardableResult @inline(never)
    func number(_ v: Double) -> Failure { cs_err_append_double(v); return self }

    /// Ends the message and gives the status to return.
    @inline(__always)
    func status(_ s: Status) -> Status { s }
}

/// Failures inside the core carry their status; the message is already written.
struct SwannError: Error {
    let status: Status
}
