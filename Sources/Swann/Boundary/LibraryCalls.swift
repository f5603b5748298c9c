import CSupport

// The calls about the library itself: version, status names, the error text.

@_cdecl("swann_version")
public func swann_version() -> UnsafePointer<CChar> {
    cString(swannVersion)
}

@_cdecl("swann_version_number")
public func swann_version_number() -> Int32 {
    Int32(swannVersionNumber)
}

@_cdecl("swann_status_name")
public func swann_status_name(_ s: Int32) -> UnsafePointer<CChar> {
    guard let status = Status(rawValue: s) else { return cString("SWANN_E_UNKNOWN") }
    return cString(status.name)
}

@_cdecl("swann_last_error")
public func swann_last_error() -> UnsafePointer<CChar> {
    cs_err_text()
}
