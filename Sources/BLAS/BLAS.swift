import COpenBLAS
import CSmallProducts
import Foundation
import Glibc

/// A thin Swift face over OpenBLAS's single-precision CBLAS routines and over streamlearn's own
/// AVX2 and FMA kernels for products with few columns (CSmallProducts).
///
/// Every matrix is row-major `Float` memory owned by the caller; the wrappers only convert Swift
/// types to C ones. Call `prepare()` once before the first product: it pins OpenBLAS to one
/// thread (streamlearn's concurrency comes from Dispatch queues, not from BLAS threads) and
/// makes sure OpenBLAS runs kernels built for this processor. After that the routines are safe to
/// call from any thread, each call on its own memory.
///
/// `product` and `productWithTransposedB` choose between the two by shape: at the column
/// counts of a training batch, OpenBLAS spends more time packing its operands and clearing the
/// result than multiplying, and the own kernels, which do neither, are faster. Both give the same
/// bits on every call with the same inputs and shapes, but not the same bits as each other.
public enum BLAS {
    /// Whether a matrix operand is used as stored or transposed.
    public enum Transpose: Sendable {
        case none
        case transposed

        var cblasValue: CBLAS_TRANSPOSE {
            switch self {
            case .none: CblasNoTrans
            case .transposed: CblasTrans
            }
        }
    }

    /// What `prepare()` found and did, for logs and benchmark headers.
    public struct Backend: Sendable, Equatable {
        /// OpenBLAS's build description, such as "OpenBLAS 0.3.21 DYNAMIC_ARCH ...".
        public let configuration: String
        /// The kernel family OpenBLAS runs, such as "SkylakeX".
        public let coreName: String
        /// The kernel family OpenBLAS picked by itself when it differs from `coreName`.
        public let detectedCoreName: String?
        /// Threads OpenBLAS uses per call; 1 after `prepare()`.
        public let threadCount: Int

        /// One line for people: "OpenBLAS 0.3.21, SkylakeX kernels, 1 thread".
        public var summary: String {
            let version = configuration.split(separator: " ").prefix(2).joined(separator: " ")
            var text = "\(version), \(coreName) kernels, \(threadCount) thread"
            if threadCount != 1 { text += "s" }
            if let detectedCoreName {
                text += " (OpenBLAS detected \(detectedCoreName) and was switched to match the CPU)"
            }
            return text
        }
    }

    /// Prepares OpenBLAS once per process and returns what it runs; later calls return the same.
    ///
    /// Thread-safe: the first caller does the work, concurrent callers wait for it. It must run
    /// before any product, because switching kernels while a product runs would corrupt it.
    @discardableResult
    public static func prepare() -> Backend {
        preparedBackend
    }

    private static let preparedBackend: Backend = {
        let detected = currentCoreName()
        var switchedFrom: String?
        if let better = betterCoreName(than: detected), switchCore(to: better) {
            switchedFrom = detected
        }
        openblas_set_num_threads(1)
        return Backend(
            configuration: String(cString: openblas_get_config()),
            coreName: currentCoreName(),
            detectedCoreName: switchedFrom,
            threadCount: Int(openblas_get_num_threads())
        )
    }()

    /// `c = alpha * op(a) * op(b) + beta * c` with row-major matrices: op(a) is
    /// `rowCount x innerCount`, op(b) is `innerCount x columnCount`, c is `rowCount x columnCount`.
    /// Leading dimensions are the row strides of the matrices as stored (before transposing).
    public static func gemm(
        _ transposeA: Transpose,
        _ transposeB: Transpose,
        rowCount: Int,
        columnCount: Int,
        innerCount: Int,
        alpha: Float,
        a: UnsafePointer<Float>,
        leadingDimensionA: Int,
        b: UnsafePointer<Float>,
        leadingDimensionB: Int,
        beta: Float,
        c: UnsafeMutablePointer<Float>,
        leadingDimensionC: Int
    ) {
        cblas_sgemm(
            CblasRowMajor,
            transposeA.cblasValue,
            transposeB.cblasValue,
            blasint(rowCount),
            blasint(columnCount),
            blasint(innerCount),
            alpha,
            a,
            blasint(leadingDimensionA),
            b,
            blasint(leadingDimensionB),
            beta,
            c,
            blasint(leadingDimensionC)
        )
    }

    /// Products of at most this many multiply-adds run on OpenBLAS's small-matrix kernels
    /// (SkylakeX family, OpenBLAS 0.3.17 and later), which skip the packing copies that
    /// dominate a product with few columns: a 256 x 32 x 128 product takes 18 us as one call
    /// and 11 us as two halves on this machine.
    public static let smallProductLimit = 1_000_000

    /// The same product as `gemm`, issued as bands of rows of `c` small enough for OpenBLAS's
    /// small-matrix kernels (`smallProductLimit`), each band a multiple of 16 rows. Falls back
    /// to one call when no such band fits. Results may differ from `gemm`'s in the last bits
    /// (another summation order), but are the same on every call with the same shapes.
    public static func gemmInRowBands(
        _ transposeA: Transpose,
        _ transposeB: Transpose,
        rowCount: Int,
        columnCount: Int,
        innerCount: Int,
        alpha: Float,
        a: UnsafePointer<Float>,
        leadingDimensionA: Int,
        b: UnsafePointer<Float>,
        leadingDimensionB: Int,
        beta: Float,
        c: UnsafeMutablePointer<Float>,
        leadingDimensionC: Int
    ) {
        let bandLimit = smallProductLimit / max(columnCount * innerCount, 1)
        let bandCount = (rowCount + bandLimit - 1) / max(bandLimit, 1)
        // Equal bands, rounded up to whole AVX-512 registers of rows.
        let bandRows = ((rowCount + bandCount - 1) / max(bandCount, 1) + 15) / 16 * 16
        guard bandCount > 1, bandRows <= bandLimit else {
            gemm(
                transposeA,
                transposeB,
                rowCount: rowCount,
                columnCount: columnCount,
                innerCount: innerCount,
                alpha: alpha,
                a: a,
                leadingDimensionA: leadingDimensionA,
                b: b,
                leadingDimensionB: leadingDimensionB,
                beta: beta,
                c: c,
                leadingDimensionC: leadingDimensionC
            )
            return
        }
        var firstRow = 0
        while firstRow < rowCount {
            let rows = min(bandRows, rowCount - firstRow)
            // Rows of op(a) are rows of a, or columns of a when it is transposed.
            let bandA = transposeA == .none ? a + firstRow * leadingDimensionA : a + firstRow
            gemm(
                transposeA,
                transposeB,
                rowCount: rows,
                columnCount: columnCount,
                innerCount: innerCount,
                alpha: alpha,
                a: bandA,
                leadingDimensionA: leadingDimensionA,
                b: b,
                leadingDimensionB: leadingDimensionB,
                beta: beta,
                c: c + firstRow * leadingDimensionC,
                leadingDimensionC: leadingDimensionC
            )
            firstRow += rows
        }
    }

    /// `y = alpha * op(a) * x + beta * y` for a row-major `rowCount x columnCount` matrix `a`;
    /// `x` and `y` are contiguous vectors of the lengths op(a) implies.
    public static func gemv(
        _ transpose: Transpose,
        rowCount: Int,
        columnCount: Int,
        alpha: Float,
        a: UnsafePointer<Float>,
        leadingDimension: Int,
        x: UnsafePointer<Float>,
        beta: Float,
        y: UnsafeMutablePointer<Float>
    ) {
        cblas_sgemv(
            CblasRowMajor,
            transpose.cblasValue,
            blasint(rowCount),
            blasint(columnCount),
            alpha,
            a,
            blasint(leadingDimension),
            x,
            1,
            beta,
            y,
            1
        )
    }

    /// `y += alpha * x` over `count` contiguous elements.
    public static func axpy(
        count: Int,
        alpha: Float,
        x: UnsafePointer<Float>,
        y: UnsafeMutablePointer<Float>
    ) {
        cblas_saxpy(blasint(count), alpha, x, 1, y, 1)
    }

    // MARK: - Small products

    /// Whether this processor runs the own kernels (AVX2 and FMA); the `product` functions use
    /// OpenBLAS when it does not.
    public static let hasSmallProductKernels = smallproducts_is_supported() != 0

    /// Products over a batch of at most this many records run on the own kernels whatever the
    /// layer sizes. With the MLP's shapes (inner and row counts 18 to 256) at 32 and 64 records
    /// they ran 1.1 to 2.1 times as fast as OpenBLAS on Zen 3 (2026-12-04), near the FMA peak
    /// (about 98 GFLOP/s) for the 128 x 256 layers where OpenBLAS reached 58 to 83.
    public static let smallProductBatchLimit = 64

    /// Larger batches run on the own kernels while their unpacked operand b (inner count times
    /// column count, as the kernel reads it) has at most this many elements (128 KiB, a quarter
    /// of Zen 3's L2). Below, they were as fast as OpenBLAS or faster (1.1 to 1.8 times for the
    /// 18-input layer at 256 and 1,024 records); above, 5 to 35 % slower, because the unpacked
    /// rows of b no longer stay in cache.
    public static let smallProductOperandLimit = 32_768

    /// Whether `product` or `productWithTransposedB` runs on the own kernels for this shape.
    public static func runsOnSmallProductKernels(batchSize: Int, innerCount: Int, columnCount: Int) -> Bool {
        hasSmallProductKernels
            && (batchSize <= smallProductBatchLimit || innerCount * columnCount <= smallProductOperandLimit)
    }

    /// `c = op(a) * b`, as `gemm` with alpha 1 and beta 0, where the columns of b and c are the
    /// records of a batch: on the own kernels when the shape suits them
    /// (`runsOnSmallProductKernels`), otherwise on OpenBLAS.
    public static func product(
        _ transposeA: Transpose,
        rowCount: Int,
        columnCount: Int,
        innerCount: Int,
        a: UnsafePointer<Float>,
        leadingDimensionA: Int,
        b: UnsafePointer<Float>,
        leadingDimensionB: Int,
        c: UnsafeMutablePointer<Float>,
        leadingDimensionC: Int
    ) {
        guard runsOnSmallProductKernels(batchSize: columnCount, innerCount: innerCount, columnCount: columnCount)
        else {
            gemmInRowBands(
                transposeA,
                .none,
                rowCount: rowCount,
                columnCount: columnCount,
                innerCount: innerCount,
                alpha: 1,
                a: a,
                leadingDimensionA: leadingDimensionA,
                b: b,
                leadingDimensionB: leadingDimensionB,
                beta: 0,
                c: c,
                leadingDimensionC: leadingDimensionC
            )
            return
        }
        smallProduct(
            transposeA,
            rowCount: rowCount,
            columnCount: columnCount,
            innerCount: innerCount,
            a: a,
            leadingDimensionA: leadingDimensionA,
            b: b,
            leadingDimensionB: leadingDimensionB,
            c: c,
            leadingDimensionC: leadingDimensionC
        )
    }

    /// `c = a * b^T` with a `rowCount x innerCount`, b `columnCount x innerCount` and c
    /// `rowCount x columnCount`, as `gemm(.none, .transposed, ...)` with alpha 1 and beta 0,
    /// where the inner dimension is the records of a batch: on the own kernels when the shape
    /// suits them (`runsOnSmallProductKernels`), otherwise on OpenBLAS.
    ///
    /// `scratch` holds at least `scratchCountForProductWithTransposedB` elements for the shape;
    /// its contents are replaced.
    public static func productWithTransposedB(
        rowCount: Int,
        columnCount: Int,
        innerCount: Int,
        a: UnsafePointer<Float>,
        leadingDimensionA: Int,
        b: UnsafePointer<Float>,
        leadingDimensionB: Int,
        c: UnsafeMutablePointer<Float>,
        leadingDimensionC: Int,
        scratch: UnsafeMutablePointer<Float>
    ) {
        guard runsOnSmallProductKernels(batchSize: innerCount, innerCount: innerCount, columnCount: columnCount)
        else {
            gemm(
                .none,
                .transposed,
                rowCount: rowCount,
                columnCount: columnCount,
                innerCount: innerCount,
                alpha: 1,
                a: a,
                leadingDimensionA: leadingDimensionA,
                b: b,
                leadingDimensionB: leadingDimensionB,
                beta: 0,
                c: c,
                leadingDimensionC: leadingDimensionC
            )
            return
        }
        smallProductWithTransposedB(
            rowCount: rowCount,
            columnCount: columnCount,
            innerCount: innerCount,
            a: a,
            leadingDimensionA: leadingDimensionA,
            b: b,
            leadingDimensionB: leadingDimensionB,
            c: c,
            leadingDimensionC: leadingDimensionC,
            scratch: scratch
        )
    }

    /// The scratch elements `productWithTransposedB` needs for this shape: room for b
    /// transposed when it runs on the own kernels, none when it runs on OpenBLAS.
    public static func scratchCountForProductWithTransposedB(innerCount: Int, columnCount: Int) -> Int {
        let runsOnOwnKernels = runsOnSmallProductKernels(
            batchSize: innerCount,
            innerCount: innerCount,
            columnCount: columnCount
        )
        return runsOnOwnKernels ? innerCount * columnCount : 0
    }

    /// `c = op(a) * b` on the own kernels whatever the shape (plain C loops, far slower than
    /// OpenBLAS, on processors without AVX2 and FMA). c is only written and must not overlap
    /// a or b.
    ///
    /// Each element is summed over the inner dimension in ascending order with fused
    /// multiply-adds: the same inputs and shapes give the same bits on every call.
    public static func smallProduct(
        _ transposeA: Transpose,
        rowCount: Int,
        columnCount: Int,
        innerCount: Int,
        a: UnsafePointer<Float>,
        leadingDimensionA: Int,
        b: UnsafePointer<Float>,
        leadingDimensionB: Int,
        c: UnsafeMutablePointer<Float>,
        leadingDimensionC: Int
    ) {
        precondition(rowCount >= 0 && columnCount >= 0 && innerCount >= 0, "negative matrix size")
        smallproducts_multiply(
            transposeA == .transposed ? 1 : 0,
            rowCount,
            columnCount,
            innerCount,
            a,
            leadingDimensionA,
            b,
            leadingDimensionB,
            c,
            leadingDimensionC
        )
    }

    /// `c = a * b^T` on the own kernels whatever the shape: b (`columnCount x innerCount`) is
    /// first transposed into `scratch` (at least `innerCount * columnCount` elements, contents
    /// replaced), then multiplied as `smallProduct` does.
    public static func smallProductWithTransposedB(
        rowCount: Int,
        columnCount: Int,
        innerCount: Int,
        a: UnsafePointer<Float>,
        leadingDimensionA: Int,
        b: UnsafePointer<Float>,
        leadingDimensionB: Int,
        c: UnsafeMutablePointer<Float>,
        leadingDimensionC: Int,
        scratch: UnsafeMutablePointer<Float>
    ) {
        precondition(rowCount >= 0 && columnCount >= 0 && innerCount >= 0, "negative matrix size")
        smallproducts_transpose(columnCount, innerCount, b, leadingDimensionB, scratch, columnCount)
        smallproducts_multiply(
            0,
            rowCount,
            columnCount,
            innerCount,
            a,
            leadingDimensionA,
            scratch,
            columnCount,
            c,
            leadingDimensionC
        )
    }

    // MARK: - Kernel selection

    private static func currentCoreName() -> String {
        String(cString: openblas_get_corename())
    }

    /// The kernel family to use instead of `detected`, or nil to keep OpenBLAS's choice.
    ///
    /// OpenBLAS falls back to its Prescott (SSE3) kernels when it does not know a processor
    /// model; 0.3.21, Debian 12's version, does not know recent Xeons (family 6, model 207) and
    /// then runs sgemm about 3x slower than it could. Only that fallback is replaced, only by a
    /// family whose instructions the kernel reports in /proc/cpuinfo, and never when the
    /// operator chose one with OPENBLAS_CORETYPE.
    private static func betterCoreName(than detected: String) -> String? {
        guard detected == "Prescott", getenv("OPENBLAS_CORETYPE") == nil else { return nil }
        guard let cpuInfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flagsLine = cpuInfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]) {
            return "SkylakeX"
        }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        if flags.contains("avx") { return "SandyBridge" }
        return nil
    }

    /// Re-runs OpenBLAS's own kernel selection with OPENBLAS_CORETYPE set to `coreName`.
    ///
    /// gotoblas_dynamic_quit and gotoblas_dynamic_init are what OpenBLAS's DYNAMIC_ARCH builds
    /// run at load time; they are exported but not declared in cblas.h, hence dlsym. The
    /// variable is removed again so that child processes see the environment they were given.
    private static func switchCore(to coreName: String) -> Bool {
        typealias Routine = @convention(c) () -> Void
        guard let quitSymbol = dlsym(nil, "gotoblas_dynamic_quit"),
            let initSymbol = dlsym(nil, "gotoblas_dynamic_init")
        else { return false }
        let quit = unsafeBitCast(quitSymbol, to: Routine.self)
        let initialize = unsafeBitCast(initSymbol, to: Routine.self)
        setenv("OPENBLAS_CORETYPE", coreName, 1)
        quit()
        initialize()
        unsetenv("OPENBLAS_CORETYPE")
        return currentCoreName() == coreName
    }
}
