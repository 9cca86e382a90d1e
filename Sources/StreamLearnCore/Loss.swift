import Foundation

/// Binary cross-entropy of one logit against a 0/1 label, in nats, stable for any magnitude.
///
/// Uses `max(z, 0) - z * y + log(1 + exp(-|z|))`, which never exponentiates a positive number,
/// so a logit of +-1000 gives a finite loss (1000 when it is confidently wrong, 0 when right).
/// NaN in gives NaN out.
public func binaryCrossEntropy(logit: Float, label: Float) -> Float {
    max(logit, 0) - logit * label + log1p(exp(-abs(logit)))
}

/// The logistic function `1 / (1 + exp(-z))`, written so that no intermediate overflows.
@inline(__always)
func sigmoid(_ logit: Float) -> Float {
    if logit >= 0 {
        return 1 / (1 + exp(-logit))
    }
    let exponential = exp(logit)
    return exponential / (1 + exponential)
}
