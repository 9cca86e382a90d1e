import BLAS
import StreamLearnCore
import Testing

/// The own small-product kernels (CSmallProducts through `BLAS`) against a double-precision
/// reference, over the shapes of training and prediction and their awkward edges.
@Suite("Small matrix products")
struct SmallProductTests {
    @Test("a stored a times b matches the reference", arguments: batchSizes)
    func storedA(batchSize: Int) {
        for shape in shapes(batchSize: batchSize, batchIsInner: false) {
            check(ProductOperands(shape: shape, kind: .storedA, seed: 1))
        }
    }

    @Test("a transposed a times b matches the reference", arguments: batchSizes)
    func transposedA(batchSize: Int) {
        for shape in shapes(batchSize: batchSize, batchIsInner: false) {
            check(ProductOperands(shape: shape, kind: .transposedA, seed: 2))
        }
    }

    @Test("a times a transposed b matches the reference", arguments: batchSizes)
    func transposedB(batchSize: Int) {
        for shape in shapes(batchSize: batchSize, batchIsInner: true) {
            check(ProductOperands(shape: shape, kind: .transposedB, seed: 3))
        }
    }

    /// 130 x 256 elements exceed `BLAS.smallProductOperandLimit`, so the largest batch here runs
    /// on OpenBLAS, the others on the own kernels where the processor has them.
    @Test("the products that choose a kernel by shape match the reference", arguments: [1, 32, 64, 65, 256])
    func chosenByShape(batchSize: Int) {
        let shape = ProductShape(rowCount: 37, columnCount: batchSize, innerCount: 130, padding: 3)
        check(ProductOperands(shape: shape, kind: .chosenStoredA, seed: 4))
        check(ProductOperands(shape: shape, kind: .chosenTransposedA, seed: 5))
        let innerShape = ProductShape(rowCount: 37, columnCount: 130, innerCount: batchSize, padding: 3)
        check(ProductOperands(shape: innerShape, kind: .chosenTransposedB, seed: 6))
    }

    @Test("scratch for a transposed b is asked for only where the own kernels run")
    func scratchForTransposedB() {
        let smallBatch = BLAS.scratchCountForProductWithTransposedB(innerCount: 32, columnCount: 256)
        #expect(smallBatch == (BLAS.hasSmallProductKernels ? 32 * 256 : 0))
        #expect(BLAS.scratchCountForProductWithTransposedB(innerCount: 1024, columnCount: 256) == 0)
    }

    @Test("an empty inner dimension gives zeros")
    func emptyInnerDimension() {
        let shape = ProductShape(rowCount: 7, columnCount: 19, innerCount: 0, padding: 1)
        check(ProductOperands(shape: shape, kind: .storedA, seed: 7))
        check(ProductOperands(shape: shape, kind: .transposedB, seed: 8))
    }

    @Test("repeated products give the same bits", arguments: [ProductKind.storedA, .transposedA, .transposedB])
    func determinism(kind: ProductKind) {
        for batchSize in [5, 32, 64, 1024] {
            let shape = ProductShape(rowCount: 128, columnCount: batchSize, innerCount: 256, padding: 0)
            let operands = ProductOperands(shape: shape, kind: kind, seed: 9)
            let first = operands.run().storage.map(\.bitPattern)
            let second = operands.run().storage.map(\.bitPattern)
            #expect(first == second, "\(kind) over \(shape)")
        }
    }

    /// Runs `operands`' product and compares every element with the reference, within the
    /// error bound of a float sum of `innerCount + 1` terms; the padding must stay untouched.
    private func check(_ operands: ProductOperands) {
        let shape = operands.shape
        let result = operands.run()
        var worstExcess = 0.0
        var worstElement = (row: 0, column: 0)
        for row in 0..<shape.rowCount {
            for column in 0..<shape.columnCount {
                var sum = 0.0
                var magnitude = 0.0
                for inner in 0..<shape.innerCount {
                    let term = Double(operands.factorA(row, inner)) * Double(operands.factorB(inner, column))
                    sum += term
                    magnitude += abs(term)
                }
                // Each of the k roundings of a float sum (any order) errs by at most 2^-24 of
                // a partial sum, hence this bound (with a factor of 2 and more to spare).
                let bound = Double(shape.innerCount + 2) * Double(Float.ulpOfOne) * magnitude
                let error = abs(Double(result[row, column]) - sum)
                // NaN (a padding element read) fails the comparison below.
                let excess = error.isNaN ? .infinity : error - bound
                if excess > worstExcess {
                    worstExcess = excess
                    worstElement = (row, column)
                }
            }
        }
        #expect(worstExcess <= 0, "\(operands.kind) over \(shape): element \(worstElement) is off")
        let isPaddingUntouched = result.isPaddingUntouched
        #expect(isPaddingUntouched, "\(operands.kind) over \(shape) wrote past the width of c")
    }
}

/// Which kernel a check drives.
enum ProductKind: Sendable, CustomStringConvertible {
    /// `smallProduct(.none, ...)`: a stored `rowCount x innerCount`.
    case storedA
    /// `smallProduct(.transposed, ...)`: a stored `innerCount x rowCount`.
    case transposedA
    /// `smallProductWithTransposedB`: b stored `columnCount x innerCount`.
    case transposedB
    /// `product(.none, ...)`, own kernel or OpenBLAS by shape.
    case chosenStoredA
    /// `product(.transposed, ...)`, own kernel or OpenBLAS by shape.
    case chosenTransposedA
    /// `productWithTransposedB`, own kernel or OpenBLAS by shape.
    case chosenTransposedB

    var isATransposed: Bool { self == .transposedA || self == .chosenTransposedA }
    var isBTransposed: Bool { self == .transposedB || self == .chosenTransposedB }

    var description: String {
        switch self {
        case .storedA: "smallProduct(.none)"
        case .transposedA: "smallProduct(.transposed)"
        case .transposedB: "smallProductWithTransposedB"
        case .chosenStoredA: "product(.none)"
        case .chosenTransposedA: "product(.transposed)"
        case .chosenTransposedB: "productWithTransposedB"
        }
    }
}

/// The batch sizes of the checks: every size a masked tail can take, the edges of the kernels'
/// 16-column tiles and of the small-product limit, and prediction sizes.
private let batchSizes = Array(1...40) + [63, 64, 65, 256, 1024]

/// Row and inner counts paired with every batch size: the 6-row tiles with and without tails,
/// the MLP's layer sizes, and up to 300.
private let rowAndOtherCounts: [(Int, Int)] = [
    (1, 1), (2, 5), (5, 3), (6, 18), (7, 128), (13, 1), (18, 128), (128, 18), (300, 7), (17, 300),
    (128, 256), (256, 128),
]

/// One product to check: `c (rowCount x columnCount) = op(a) * op(b)` over `innerCount`, every
/// operand's rows padded by `padding` elements or more.
private struct ProductShape: CustomStringConvertible {
    let rowCount: Int
    let columnCount: Int
    let innerCount: Int
    let padding: Int

    var description: String {
        "\(rowCount) x \(innerCount) times \(innerCount) x \(columnCount), padding \(padding)"
    }
}

/// The shapes checked for one batch size, with the batch as the result's columns (forward and
/// input gradient) or as the inner dimension (weight gradient). The largest are left out at
/// the biggest batches to keep the double-precision reference quick.
private func shapes(batchSize: Int, batchIsInner: Bool) -> [ProductShape] {
    rowAndOtherCounts.enumerated().compactMap { index, counts in
        let (rowCount, otherCount) = counts
        guard rowCount * otherCount * batchSize <= 4_500_000 else { return nil }
        // Every third shape unpadded, the others padded by 1 to 5 elements per row.
        let padding = (index + batchSize) % 3 == 0 ? 0 : (index + batchSize) % 5 + 1
        return
            batchIsInner
            ? ProductShape(rowCount: rowCount, columnCount: otherCount, innerCount: batchSize, padding: padding)
            : ProductShape(rowCount: rowCount, columnCount: batchSize, innerCount: otherCount, padding: padding)
    }
}

/// A row-major test matrix whose rows may be padded past its width. The padding holds NaN, so
/// that a kernel reading it shows NaN in its result, and a kernel writing it is caught.
private struct PaddedMatrix {
    let rowCount: Int
    let columnCount: Int
    let leadingDimension: Int
    var storage: [Float]

    /// NaN everywhere: a result to be written.
    init(rowCount: Int, columnCount: Int, padding: Int) {
        self.rowCount = rowCount
        self.columnCount = columnCount
        leadingDimension = columnCount + padding
        storage = [Float](repeating: .nan, count: max(rowCount * leadingDimension, 1))
    }

    /// Standard normal values, NaN in the padding.
    init(rowCount: Int, columnCount: Int, padding: Int, generator: inout RandomGenerator) {
        self.init(rowCount: rowCount, columnCount: columnCount, padding: padding)
        for row in 0..<rowCount {
            for column in 0..<columnCount {
                storage[row * leadingDimension + column] = Float(generator.nextStandardNormal())
            }
        }
    }

    subscript(row: Int, column: Int) -> Float {
        storage[row * leadingDimension + column]
    }

    /// Whether every padding element is still NaN.
    var isPaddingUntouched: Bool {
        (0..<rowCount).allSatisfy { row in
            (columnCount..<leadingDimension).allSatisfy { storage[row * leadingDimension + $0].isNaN }
        }
    }
}

/// The operands of one product, stored as its kind expects them.
private struct ProductOperands {
    let shape: ProductShape
    let kind: ProductKind
    let a: PaddedMatrix
    let b: PaddedMatrix

    init(shape: ProductShape, kind: ProductKind, seed: UInt64) {
        self.shape = shape
        self.kind = kind
        var generator = RandomGenerator(seed: seed)
        let (aRows, aColumns) =
            kind.isATransposed ? (shape.innerCount, shape.rowCount) : (shape.rowCount, shape.innerCount)
        let (bRows, bColumns) =
            kind.isBTransposed ? (shape.columnCount, shape.innerCount) : (shape.innerCount, shape.columnCount)
        a = PaddedMatrix(rowCount: aRows, columnCount: aColumns, padding: shape.padding, generator: &generator)
        b = PaddedMatrix(rowCount: bRows, columnCount: bColumns, padding: shape.padding + 1, generator: &generator)
    }

    /// op(a)[row, inner].
    func factorA(_ row: Int, _ inner: Int) -> Float {
        kind.isATransposed ? a[inner, row] : a[row, inner]
    }

    /// op(b)[inner, column].
    func factorB(_ inner: Int, _ column: Int) -> Float {
        kind.isBTransposed ? b[column, inner] : b[inner, column]
    }

    /// Runs the product into a fresh result matrix, padded and NaN before.
    func run() -> PaddedMatrix {
        var c = PaddedMatrix(rowCount: shape.rowCount, columnCount: shape.columnCount, padding: shape.padding + 2)
        var scratch = [Float](repeating: .nan, count: max(shape.innerCount * shape.columnCount, 1))
        let leadingDimensionC = c.leadingDimension
        a.storage.withUnsafeBufferPointer { a in
            b.storage.withUnsafeBufferPointer { b in
                c.storage.withUnsafeMutableBufferPointer { c in
                    scratch.withUnsafeMutableBufferPointer { scratch in
                        run(
                            a: a.baseAddress!,
                            b: b.baseAddress!,
                            c: c.baseAddress!,
                            leadingDimensionC: leadingDimensionC,
                            scratch: scratch.baseAddress!
                        )
                    }
                }
            }
        }
        return c
    }

    private func run(
        a: UnsafePointer<Float>,
        b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>,
        leadingDimensionC: Int,
        scratch: UnsafeMutablePointer<Float>
    ) {
        let (rowCount, columnCount, innerCount) = (shape.rowCount, shape.columnCount, shape.innerCount)
        let (leadingDimensionA, leadingDimensionB) = (self.a.leadingDimension, self.b.leadingDimension)
        switch kind {
        case .storedA, .transposedA:
            BLAS.smallProduct(
                kind.isATransposed ? .transposed : .none,
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
        case .transposedB:
            BLAS.smallProductWithTransposedB(
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
        case .chosenStoredA, .chosenTransposedA:
            BLAS.product(
                kind.isATransposed ? .transposed : .none,
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
        case .chosenTransposedB:
            BLAS.productWithTransposedB(
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
    }
}
