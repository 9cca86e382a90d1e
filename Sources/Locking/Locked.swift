import Glibc

/// A value that threads share, guarded by a pthread mutex: the shape of Synchronization's
/// `Mutex` (`withLock`, `withLockIfAvailable`), but with a lock the thread sanitizer sees.
///
/// `Mutex` on Linux takes a futex inside the Swift runtime's uninstrumented code, so
/// `swift test --sanitize=thread` cannot tell that two threads' accesses were ordered by it
/// and reported the daemon's shared metrics and dead-letter counts as races when two threads
/// did contend (about one run in four of DeadLetterProcessTests). pthread mutexes are
/// intercepted by the sanitizer, and cost the same when uncontended.
public final class Locked<Value>: @unchecked Sendable {
    // @unchecked: `storage` is read and written only while `mutex` is held. The value lives
    // behind a pointer, not in a stored property, so that the sanitizer sees plain memory
    // accesses under the lock rather than a Swift property access it may place outside it.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let storage: UnsafeMutablePointer<Value>

    public init(_ value: Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        storage = .allocate(capacity: 1)
        storage.initialize(to: value)
    }

    deinit {
        storage.deinitialize(count: 1)
        storage.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value while holding the lock, waiting for it if need be.
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&storage.pointee)
    }

    /// Runs `body` with the value if the lock is free now; nil without waiting otherwise.
    public func withLockIfAvailable<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result? {
        guard pthread_mutex_trylock(mutex) == 0 else { return nil }
        defer { pthread_mutex_unlock(mutex) }
        return try body(&storage.pointee)
    }
}
