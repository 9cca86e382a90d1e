import Foundation

/// librdkafka (Debian's 2.0.2) starts and joins its threads with C11 `thrd_create` and
/// `thrd_join`, which the thread sanitizer's runtime does not intercept: a thread started that
/// way has no sanitizer state and crashes in its first allocation under
/// `swift test --sanitize=thread`, and one joined that way is reported as leaked. These
/// definitions take the place of glibc's for every library of the process (Package.swift
/// exports them from the executables, and a symbol of the executable wins), and call the
/// pthread functions that glibc's own C11 ones wrap and that the sanitizer intercepts: same
/// threads, same results, in any build.
@_cdecl("thrd_create")
public func rdKafkaThreadCreate(
    _ thread: UnsafeMutablePointer<pthread_t>?,
    _ start: (@convention(c) (UnsafeMutableRawPointer?) -> Int32)?,
    _ argument: UnsafeMutableRawPointer?
) -> Int32 {
    // C11's thrd_success, thrd_nomem, thrd_error as glibc numbers them.
    let success: Int32 = 0
    let outOfMemory: Int32 = 3
    let failure: Int32 = 2
    guard let thread, let start else { return failure }
    let context = UnsafeMutablePointer<RDKafkaThreadStart>.allocate(capacity: 1)
    context.initialize(to: RDKafkaThreadStart(start: start, argument: argument))
    let result = pthread_create(
        thread,
        nil,
        { raw in
            let context = raw!.assumingMemoryBound(to: RDKafkaThreadStart.self)
            let thread = context.move()
            context.deallocate()
            // glibc's thrd_join reads the int result back from the pointer-sized exit value.
            return UnsafeMutableRawPointer(bitPattern: Int(thread.start(thread.argument)))
        },
        context
    )
    guard result == 0 else {
        context.deinitialize(count: 1)
        context.deallocate()
        return result == EAGAIN ? outOfMemory : failure
    }
    return success
}

/// `thrd_join` over `pthread_join`; see `rdKafkaThreadCreate`.
@_cdecl("thrd_join")
public func rdKafkaThreadJoin(_ thread: pthread_t, _ result: UnsafeMutablePointer<Int32>?) -> Int32 {
    var value: UnsafeMutableRawPointer?
    guard pthread_join(thread, &value) == 0 else { return 2 }
    result?.pointee = Int32(truncatingIfNeeded: Int(bitPattern: value))
    return 0
}

/// `thrd_detach` over `pthread_detach`; see `rdKafkaThreadCreate`.
@_cdecl("thrd_detach")
public func rdKafkaThreadDetach(_ thread: pthread_t) -> Int32 {
    pthread_detach(thread) == 0 ? 0 : 2
}

/// What `rdKafkaThreadCreate` hands to the new thread.
struct RDKafkaThreadStart {
    let start: @convention(c) (UnsafeMutableRawPointer?) -> Int32
    let argument: UnsafeMutableRawPointer?
}
