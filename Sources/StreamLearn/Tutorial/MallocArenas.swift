#if canImport(Glibc)
    import Glibc
#endif

/// Caps glibc's malloc arenas for the one-shot commands `train` and `evaluate`.
///
/// glibc gives each thread that allocates concurrently its own arena, up to eight per core, and
/// librdkafka's broker threads allocate every fetched record; the arenas' high-water marks then
/// add up. Two arenas (the command's thread and librdkafka's) take `train` on the tutorial's
/// data from about 55 to 44 MiB resident, for a few per cent of speed; the same as running it
/// with MALLOC_ARENA_MAX=2. An operator's own MALLOC_ARENA_MAX wins. Call it first thing,
/// before librdkafka's threads exist; where glibc's `mallopt` is missing it does nothing.
enum MallocArenas {
    /// The arena cap the commands set.
    static let limit: Int32 = 2

    /// glibc's `M_ARENA_MAX` (malloc.h), which Swift's Glibc module does not export.
    private static let arenaMaxParameter: Int32 = -8

    static func limitForCommand() {
        #if canImport(Glibc)
            // mallopt is declared in malloc.h, outside the Glibc module: look it up by name.
            guard getenv("MALLOC_ARENA_MAX") == nil else { return }
            typealias MalloptFunction = @convention(c) (Int32, Int32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
            let mallopt = unsafeBitCast(symbol, to: MalloptFunction.self)
            _ = mallopt(arenaMaxParameter, limit)
        #endif
    }
}
