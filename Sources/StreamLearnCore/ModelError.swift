/// Why a model refused a request. Nothing in the model changes when one of these is thrown.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    /// A feature of a training record is NaN or infinite; `row` and `column` count from 0.
    case nonFiniteInput(row: Int, column: Int)
    /// A training label is not 0 or 1; `row` counts from 0.
    case invalidLabel(row: Int, value: Float)
    /// A model or checkpoint has another shape than the caller expects; both are stated the way
    /// `ModelState.shapeDescription` writes them ("mlp 18-128-256-128-1").
    case shapeMismatch(expected: String, found: String)
    /// A saved state or a configuration is inconsistent (an array of the wrong length, a rate
    /// out of range); the text says what and by how much.
    case invalidState(String)

    public var description: String {
        switch self {
        case .nonFiniteInput(let row, let column):
            "Refusing training record \(row): feature \(column) is NaN or infinite"
        case .invalidLabel(let row, let value):
            "Refusing training record \(row): label \(value) is neither 0 nor 1"
        case .shapeMismatch(let expected, let found):
            "Model shape mismatch: expected \(expected), found \(found)"
        case .invalidState(let detail):
            "Invalid model state: \(detail)"
        }
    }
}
