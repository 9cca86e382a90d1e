import Glibc

/// glibc allocator settings for the daemon, whose resident memory should stay flat however
/// long it runs and however far behind its group is.
///
/// librdkafka allocates each fetched and decompressed record batch (up to about a MiB) and an
/// op per record on its own threads, and frees them on the training thread. With glibc's
/// defaults that memory lands in per-thread arenas and in the main heap below live blocks,
/// where freeing it does not return it: after 300,000 records the daemon's heap held 8 MiB of
/// which 1.3 MiB were in use.
enum ProcessMemory {
    /// Call once, before any thread starts: one malloc arena instead of up to eight per core,
    /// blocks of 256 KiB and more always mmapped (so freeing them unmaps them), and the heap's
    /// top returned beyond 128 KiB. An operator's MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_ or
    /// MALLOC_TRIM_THRESHOLD_ wins.
    static func configureAllocator() {
        if getenv("MALLOC_ARENA_MAX") == nil { _ = glibcMallopt(arenaMaximum, 1) }
        if getenv("MALLOC_MMAP_THRESHOLD_") == nil { _ = glibcMallopt(mmapThreshold, 256 << 10) }
        if getenv("MALLOC_TRIM_THRESHOLD_") == nil { _ = glibcMallopt(trimThreshold, 128 << 10) }
    }

    /// Gives whole free pages anywhere in the heap back to the kernel (malloc_trim(3)), not only
    /// at its top. Takes well under a millisecond for the daemon's heap; the daemon calls it
    /// after each metrics report, so that the RSS it reports is what it uses.
    static func releaseFreePages() {
        _ = glibcMallocTrim(0)
    }

    // From glibc's malloc.h, which the Glibc module does not import.
    private static let trimThreshold: Int32 = -1
    private static let mmapThreshold: Int32 = -3
    private static let arenaMaximum: Int32 = -8
}

@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32

@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
