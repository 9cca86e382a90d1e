import Foundation

/// A generator of SUSY-shaped rows: a label (1 = signal, 0 = background), 8 "measured"
/// features of a two-lepton event and 10 features derived from them, as in the UCI SUSY data.
///
/// The process is a small, known mixture (docs/generator.md has it in full, with the measured
/// accuracies): background is one event type, signal is two (a heavy, high-MET type and a
/// compressed type with collinear leptons and recoiling MET). Because the densities are known,
/// `signalProbability(of:concept:)` is the exact Bayes posterior, so the best achievable
/// accuracy is measurable (about 80%); logistic regression on the 18 features stays about three
/// points below it and a small MLP closes most of the gap.
///
/// Deterministic: the same seed gives the same rows on every machine that has the same libm.
/// Every row consumes exactly 12 random numbers, whichever concept is in force, so the rows
/// before `driftRow` are identical to those of a run without drift. From `driftRow` on, the
/// signal changes (its MET halves, its leptons harden), so a model trained before loses accuracy.
///
/// A value type with no shared state; one owner calls `next`. Units: transverse momenta and MET
/// in units of about 100 GeV (means near 1), η dimensionless, φ in radians in [-π, π).
public struct SyntheticSUSY: Sendable {
    /// Features per row, without the label.
    public static let featureCount = 18

    /// The leading features that are sampled; the rest are functions of these.
    public static let measuredFeatureCount = 8

    /// The share of signal rows, as in SUSY (45.8%).
    public static let signalFraction = 0.46

    /// Column names in order, label first, as `generate --header` prints them.
    public static let columnNames: [String] = [
        "label",
        "lepton_1_pT", "lepton_1_eta", "lepton_1_phi",
        "lepton_2_pT", "lepton_2_eta", "lepton_2_phi",
        "missing_energy_magnitude", "missing_energy_phi",
        "MET_rel", "axial_MET", "M_R", "M_TR_2", "R", "MT2", "S_R", "M_Delta_R", "dPhi_r_b",
        "cos_theta_r1",
    ]

    /// The most bytes one CSV row takes, newline included (see `nextCSVRow(into:)`).
    public static let maximumCSVRowLength = 2 + featureCount * (DecimalWriter.maximumLength + 1) + 1

    /// Which generative process a row follows.
    public enum Concept: Sendable, Equatable {
        /// Rows before the drift row (all rows when there is no drift).
        case original
        /// Rows from the drift row on.
        case drifted
    }

    /// The seed given to `init`.
    public let seed: UInt64

    /// The 0-based index of the first drifted row, or nil for no drift.
    public let driftRow: Int?

    /// Rows generated so far; the 0-based index of the next row.
    public private(set) var rowIndex = 0

    private var random: SyntheticRandom

    /// A generator whose rows are fixed by `seed`; from row `driftRow` (0-based) on, if given,
    /// the drifted concept applies: `driftRow` 0 drifts every row.
    public init(seed: UInt64, driftRow: Int? = nil) {
        precondition(driftRow.map { $0 >= 0 } ?? true, "driftRow must not be negative")
        self.seed = seed
        self.driftRow = driftRow
        random = SyntheticRandom(seed: seed)
    }

    /// The concept that row `row` (0-based) follows.
    public func concept(forRow row: Int) -> Concept {
        if let driftRow, row >= driftRow { return .drifted }
        return .original
    }

    /// Generates the next row: writes its 18 features into `features` and returns its label,
    /// 1 for signal, 0 for background. Every value written is finite.
    public mutating func next(into features: UnsafeMutableBufferPointer<Double>) -> Int {
        precondition(features.count >= Self.featureCount, "SyntheticSUSY.next needs room for 18 features")
        let process = concept(forRow: rowIndex) == .original ? Process.original : Process.drifted
        rowIndex += 1

        let isSignal = random.nextOpenUnit() < Self.signalFraction
        let typeDraw = random.nextOpenUnit()
        let type: EventType
        if isSignal {
            type = typeDraw < process.heavySignalWeight ? process.heavySignal : process.compressedSignal
        } else {
            type = process.background
        }
        let event = type.sample(&random)
        event.writeFeatures(into: features)
        return isSignal ? 1 : 0
    }

    /// Generates the next row as CSV text at `destination` ("label,f1,...,f18\n"), which must
    /// have room for `maximumCSVRowLength` bytes; returns the bytes written. Allocates nothing.
    public mutating func nextCSVRow(into destination: UnsafeMutablePointer<UInt8>) -> Int {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: Self.featureCount) { features in
            let label = next(into: features)
            destination[0] = label == 1 ? UInt8(ascii: "1") : UInt8(ascii: "0")
            var length = 1
            for value in features {
                destination[length] = UInt8(ascii: ",")
                length += 1
                length += DecimalWriter.write(value, to: destination + length)
            }
            destination[length] = UInt8(ascii: "\n")
            return length + 1
        }
    }

    /// The exact probability that a row is signal given its features, under `concept`.
    ///
    /// Reads only the 8 measured features (the derived ones carry no further information).
    /// Thresholding at 0.5 gives the Bayes classifier, the best any model can do. Features that
    /// the process cannot produce (a leading pT at or below 0.3, a ratio outside (0, 1]) give
    /// the prior; NaN input gives NaN.
    public static func signalProbability(of features: UnsafeBufferPointer<Double>, concept: Concept) -> Double {
        precondition(features.count >= measuredFeatureCount, "signalProbability needs the 8 measured features")
        let event = Event(measured: features)
        let process = concept == .original ? Process.original : Process.drifted
        let logSignalHeavy =
            log(signalFraction * process.heavySignalWeight) + process.heavySignal.logDensity(of: event)
        let logSignalCompressed =
            log(signalFraction * (1 - process.heavySignalWeight)) + process.compressedSignal.logDensity(of: event)
        let logBackground = log(1 - signalFraction) + process.background.logDensity(of: event)
        let largest = max(logSignalHeavy, logSignalCompressed, logBackground)
        guard largest > -Double.infinity else { return signalFraction }
        let signal = exp(logSignalHeavy - largest) + exp(logSignalCompressed - largest)
        return signal / (signal + exp(logBackground - largest))
    }
}

/// The parameters of one concept: three event types and the signal's mixture weight.
private struct Process: Sendable {
    let background: EventType
    let heavySignal: EventType
    let compressedSignal: EventType
    /// The share of signal rows that are of the heavy type.
    let heavySignalWeight: Double

    /// The concept before drift; docs/generator.md lists the same numbers.
    static let original = Process(
        background: EventType(
            leadingPTScale: 0.4,
            ratioShapeA: 1.5,
            ratioShapeB: 1.2,
            etaWidth: 1.2,
            etaCorrelation: 0.3,
            leptonAngleMean: .pi,
            leptonAngleConcentration: 0.5,
            missingEnergyScale: 0.28,
            missingAngleMean: .pi,
            missingAngleConcentration: 0.4
        ),
        heavySignal: EventType(
            leadingPTScale: 0.5,
            ratioShapeA: 2,
            ratioShapeB: 1.5,
            etaWidth: 0.9,
            etaCorrelation: 0,
            leptonAngleMean: .pi,
            leptonAngleConcentration: 0.2,
            missingEnergyScale: 0.8,
            missingAngleMean: .pi,
            missingAngleConcentration: 0.1
        ),
        compressedSignal: EventType(
            leadingPTScale: 0.35,
            ratioShapeA: 1.5,
            ratioShapeB: 1.2,
            etaWidth: 1.0,
            etaCorrelation: 0.6,
            leptonAngleMean: 0,
            leptonAngleConcentration: 0.4,
            missingEnergyScale: 0.6,
            missingAngleMean: .pi,
            missingAngleConcentration: 0.6
        ),
        heavySignalWeight: 0.5
    )

    /// The concept after drift: the same background; both signal types have half the MET
    /// and twice the lepton momentum scale (a lighter invisible particle, in the physics story).
    static let drifted = Process(
        background: original.background,
        heavySignal: original.heavySignal.with(leadingPTScale: 1.0, missingEnergyScale: 0.4),
        compressedSignal: original.compressedSignal.with(leadingPTScale: 0.8, missingEnergyScale: 0.35),
        heavySignalWeight: 0.5
    )
}

/// One event type's distribution of the 8 measured features, and its exact density.
///
/// Leading pT = 0.3 + Gamma(2, leadingPTScale); subleading pT = leading × Kumaraswamy(a, b);
/// (η1, η2) bivariate normal (0, etaWidth², etaCorrelation); φ1 uniform; φ2 − φ1 wrapped Cauchy
/// (leptonAngleMean, leptonAngleConcentration); MET = Gamma(2, missingEnergyScale); MET's φ
/// minus the dilepton system's φ wrapped Cauchy (missingAngleMean, missingAngleConcentration).
private struct EventType: Sendable {
    static let leadingPTThreshold = 0.3

    let leadingPTScale: Double
    let ratioShapeA: Double
    let ratioShapeB: Double
    let etaWidth: Double
    let etaCorrelation: Double
    let leptonAngleMean: Double
    let leptonAngleConcentration: Double
    let missingEnergyScale: Double
    let missingAngleMean: Double
    let missingAngleConcentration: Double
    /// Cosine and sine of the two mean angles, computed once.
    let leptonAngleDirection: Direction
    let missingAngleDirection: Direction

    init(
        leadingPTScale: Double,
        ratioShapeA: Double,
        ratioShapeB: Double,
        etaWidth: Double,
        etaCorrelation: Double,
        leptonAngleMean: Double,
        leptonAngleConcentration: Double,
        missingEnergyScale: Double,
        missingAngleMean: Double,
        missingAngleConcentration: Double
    ) {
        self.leadingPTScale = leadingPTScale
        self.ratioShapeA = ratioShapeA
        self.ratioShapeB = ratioShapeB
        self.etaWidth = etaWidth
        self.etaCorrelation = etaCorrelation
        self.leptonAngleMean = leptonAngleMean
        self.leptonAngleConcentration = leptonAngleConcentration
        self.missingEnergyScale = missingEnergyScale
        self.missingAngleMean = missingAngleMean
        self.missingAngleConcentration = missingAngleConcentration
        leptonAngleDirection = Direction(angle: leptonAngleMean)
        missingAngleDirection = Direction(angle: missingAngleMean)
    }

    /// A copy with other momentum scales (the drift).
    func with(leadingPTScale: Double, missingEnergyScale: Double) -> EventType {
        EventType(
            leadingPTScale: leadingPTScale,
            ratioShapeA: ratioShapeA,
            ratioShapeB: ratioShapeB,
            etaWidth: etaWidth,
            etaCorrelation: etaCorrelation,
            leptonAngleMean: leptonAngleMean,
            leptonAngleConcentration: leptonAngleConcentration,
            missingEnergyScale: missingEnergyScale,
            missingAngleMean: missingAngleMean,
            missingAngleConcentration: missingAngleConcentration
        )
    }

    /// Draws one event, using exactly 10 random numbers.
    func sample(_ random: inout SyntheticRandom) -> Event {
        let leadingPT = Self.leadingPTThreshold - leadingPTScale * log(random.nextOpenUnit() * random.nextOpenUnit())
        // Kumaraswamy by inversion; the floor keeps the ratio's density finite at a 2^-53 draw.
        let ratio = max(pow(1 - pow(random.nextOpenUnit(), 1 / ratioShapeB), 1 / ratioShapeA), 1e-12)
        let subleadingPT = leadingPT * ratio

        // Box-Muller gives two independent standard normals, then the correlation is mixed in.
        let radius = (-2 * log(random.nextOpenUnit())).squareRoot()
        let angle = 2 * Double.pi * random.nextOpenUnit()
        let normal1 = radius * cos(angle)
        let normal2 = radius * sin(angle)
        let eta1 = etaWidth * normal1
        let eta2 = etaWidth * (etaCorrelation * normal1 + (1 - etaCorrelation * etaCorrelation).squareRoot() * normal2)

        let phi1 = Double.pi * (2 * random.nextOpenUnit() - 1)
        let direction1 = Direction(angle: phi1)
        let leptonTurn = WrappedCauchyTurn(random.nextOpenUnit(), leptonAngleConcentration)
        let phi2 = wrapAngle(phi1 + leptonAngleMean + leptonTurn.angle)
        let direction2 = direction1.turned(by: leptonAngleDirection).turned(by: leptonTurn.direction)

        let missingEnergy = -missingEnergyScale * log(random.nextOpenUnit() * random.nextOpenUnit())
        let missingTurn = WrappedCauchyTurn(random.nextOpenUnit(), missingAngleConcentration)
        let dileptonX = leadingPT * direction1.cosine + subleadingPT * direction2.cosine
        let dileptonY = leadingPT * direction1.sine + subleadingPT * direction2.sine
        let dileptonPhi = atan2(dileptonY, dileptonX)
        let dileptonLength = (dileptonX * dileptonX + dileptonY * dileptonY).squareRoot()
        let dileptonDirection =
            dileptonLength > 0
            ? Direction(cosine: dileptonX / dileptonLength, sine: dileptonY / dileptonLength)
            : Direction(cosine: 1, sine: 0)
        let missingToDilepton = wrapAngle(missingAngleMean + missingTurn.angle)
        return Event(
            leadingPT: leadingPT,
            eta1: eta1,
            phi1: phi1,
            subleadingPT: subleadingPT,
            eta2: eta2,
            phi2: phi2,
            missingEnergy: missingEnergy,
            missingPhi: wrapAngle(dileptonPhi + missingToDilepton),
            dileptonPhi: dileptonPhi,
            missingToDilepton: missingToDilepton,
            direction1: direction1,
            direction2: direction2,
            missingDirection: dileptonDirection.turned(by: missingAngleDirection).turned(by: missingTurn.direction)
        )
    }

    /// The natural log of this type's density at `event`'s 8 measured features (−∞ outside
    /// its support).
    func logDensity(of event: Event) -> Double {
        let excessPT = event.leadingPT - Self.leadingPTThreshold
        let ratio = event.subleadingPT / event.leadingPT
        guard excessPT > 0, event.missingEnergy > 0, ratio > 0, ratio <= 1 else { return -.infinity }
        var total = logGamma2(excessPT, scale: leadingPTScale)
        // Kumaraswamy density of the ratio, and the Jacobian 1/leadingPT of subleading = leading × ratio.
        total += log(ratioShapeA * ratioShapeB) + (ratioShapeA - 1) * log(ratio)
        total += (ratioShapeB - 1) * log1p(-pow(ratio, ratioShapeA)) - log(event.leadingPT)

        let variance = etaWidth * etaWidth
        let oneMinusSquare = 1 - etaCorrelation * etaCorrelation
        let quadratic = event.eta1 * event.eta1 - 2 * etaCorrelation * event.eta1 * event.eta2 + event.eta2 * event.eta2
        total += -0.5 * quadratic / (variance * oneMinusSquare) - log(2 * .pi * variance * oneMinusSquare.squareRoot())

        total -= log(2 * .pi)  // φ1 uniform
        total += logWrappedCauchy(event.phi2 - event.phi1, leptonAngleMean, leptonAngleConcentration)
        total += logGamma2(event.missingEnergy, scale: missingEnergyScale)
        total += logWrappedCauchy(event.missingPhi - event.dileptonPhi, missingAngleMean, missingAngleConcentration)
        return total
    }

    /// log of the Gamma(shape 2, `scale`) density at x > 0.
    private func logGamma2(_ x: Double, scale: Double) -> Double {
        log(x) - x / scale - 2 * log(scale)
    }
}

/// A wrapped Cauchy angle around 0 with mean resultant length `concentration`, drawn from
/// uniform `u` by inversion, with its cosine and sine found without trigonometric calls.
private struct WrappedCauchyTurn {
    let angle: Double
    let direction: Direction

    init(_ u: Double, _ concentration: Double) {
        // The angle is 2·atan(t); cos and sin of twice an arctangent are rational in t.
        let halfTangent = (1 - concentration) / (1 + concentration) * tan(Double.pi * (u - 0.5))
        angle = 2 * atan(halfTangent)
        if halfTangent.magnitude <= 1 {
            let square = halfTangent * halfTangent
            direction = Direction(cosine: (1 - square) / (1 + square), sine: 2 * halfTangent / (1 + square))
        } else {
            // Near ±π, in terms of the reciprocal so that nothing overflows.
            let reciprocal = 1 / halfTangent
            let square = reciprocal * reciprocal
            direction = Direction(cosine: (square - 1) / (square + 1), sine: 2 * reciprocal / (square + 1))
        }
    }
}

/// The cosine and sine of an angle, turned by adding angles.
private struct Direction {
    let cosine: Double
    let sine: Double

    init(cosine: Double, sine: Double) {
        self.cosine = cosine
        self.sine = sine
    }

    init(angle: Double) {
        self.init(cosine: cos(angle), sine: sin(angle))
    }

    /// The direction of this angle plus `other`'s.
    func turned(by other: Direction) -> Direction {
        Direction(
            cosine: cosine * other.cosine - sine * other.sine,
            sine: sine * other.cosine + cosine * other.sine
        )
    }
}

/// log of the wrapped Cauchy density at angle `angle` (any real; the density is periodic).
private func logWrappedCauchy(_ angle: Double, _ mean: Double, _ concentration: Double) -> Double {
    let square = concentration * concentration
    return log(1 - square) - log(2 * .pi) - log(1 + square - 2 * concentration * cos(angle - mean))
}

/// `angle` moved into [-π, π).
private func wrapAngle(_ angle: Double) -> Double {
    angle - 2 * .pi * ((angle + .pi) / (2 * .pi)).rounded(.down)
}

/// The 8 measured features of one event, plus the angles the density needs.
private struct Event {
    let leadingPT: Double
    let eta1: Double
    let phi1: Double
    let subleadingPT: Double
    let eta2: Double
    let phi2: Double
    let missingEnergy: Double
    let missingPhi: Double
    /// φ of the dilepton system's transverse momentum.
    let dileptonPhi: Double
    /// MET's φ minus the dilepton φ, in [-π, π).
    let missingToDilepton: Double
    let direction1: Direction
    let direction2: Direction
    let missingDirection: Direction

    init(
        leadingPT: Double,
        eta1: Double,
        phi1: Double,
        subleadingPT: Double,
        eta2: Double,
        phi2: Double,
        missingEnergy: Double,
        missingPhi: Double,
        dileptonPhi: Double,
        missingToDilepton: Double,
        direction1: Direction,
        direction2: Direction,
        missingDirection: Direction
    ) {
        self.leadingPT = leadingPT
        self.eta1 = eta1
        self.phi1 = phi1
        self.subleadingPT = subleadingPT
        self.eta2 = eta2
        self.phi2 = phi2
        self.missingEnergy = missingEnergy
        self.missingPhi = missingPhi
        self.dileptonPhi = dileptonPhi
        self.missingToDilepton = missingToDilepton
        self.direction1 = direction1
        self.direction2 = direction2
        self.missingDirection = missingDirection
    }

    /// Rebuilds an event from the first 8 values of a row.
    init(measured: UnsafeBufferPointer<Double>) {
        let dileptonPhi = Self.dileptonPhi(measured[0], measured[2], measured[3], measured[5])
        self.init(
            leadingPT: measured[0],
            eta1: measured[1],
            phi1: measured[2],
            subleadingPT: measured[3],
            eta2: measured[4],
            phi2: measured[5],
            missingEnergy: measured[6],
            missingPhi: measured[7],
            dileptonPhi: dileptonPhi,
            missingToDilepton: wrapAngle(measured[7] - dileptonPhi),
            direction1: Direction(angle: measured[2]),
            direction2: Direction(angle: measured[5]),
            missingDirection: Direction(angle: measured[7])
        )
    }

    /// φ of the vector sum of two transverse momenta.
    static func dileptonPhi(_ pT1: Double, _ phi1: Double, _ pT2: Double, _ phi2: Double) -> Double {
        atan2(pT1 * sin(phi1) + pT2 * sin(phi2), pT1 * cos(phi1) + pT2 * cos(phi2))
    }

    /// Writes the 8 measured features, then the 10 derived ones (docs/generator.md defines each).
    func writeFeatures(into features: UnsafeMutableBufferPointer<Double>) {
        features[0] = leadingPT
        features[1] = eta1
        features[2] = phi1
        features[3] = subleadingPT
        features[4] = eta2
        features[5] = phi2
        features[6] = missingEnergy
        features[7] = missingPhi

        // Massless four-vectors: px = pT cos φ, py = pT sin φ, pz = pT sinh η, E = pT cosh η.
        let cos1 = direction1.cosine
        let sin1 = direction1.sine
        let cos2 = direction2.cosine
        let sin2 = direction2.sine
        let cosMissing = missingDirection.cosine
        let sinMissing = missingDirection.sine
        let exp1 = exp(eta1)
        let exp2 = exp(eta2)
        let pz1 = leadingPT * 0.5 * (exp1 - 1 / exp1)
        let energy1 = leadingPT * 0.5 * (exp1 + 1 / exp1)
        let pz2 = subleadingPT * 0.5 * (exp2 - 1 / exp2)
        let energy2 = subleadingPT * 0.5 * (exp2 + 1 / exp2)
        let dileptonX = leadingPT * cos1 + subleadingPT * cos2
        let dileptonY = leadingPT * sin1 + subleadingPT * sin2
        let dileptonPT = max((dileptonX * dileptonX + dileptonY * dileptonY).squareRoot(), 1e-12)
        let missingX = missingEnergy * cosMissing
        let missingY = missingEnergy * sinMissing
        let missingDotDilepton = missingX * dileptonX + missingY * dileptonY

        // Angles between MET and each lepton, through the cosine and |sine| of the difference.
        let cosMissing1 = cosMissing * cos1 + sinMissing * sin1
        let cosMissing2 = cosMissing * cos2 + sinMissing * sin2
        let nearestCos = max(cosMissing1, cosMissing2)
        let nearestSin =
            cosMissing1 >= cosMissing2
            ? (sinMissing * cos1 - cosMissing * sin1).magnitude
            : (sinMissing * cos2 - cosMissing * sin2).magnitude
        let missingRelative = nearestCos > 0 ? missingEnergy * nearestSin : missingEnergy

        let axialMissing = -missingDotDilepton / dileptonPT
        let energySum = energy1 + energy2
        let pzSum = pz1 + pz2
        let razorMass = max(energySum * energySum - pzSum * pzSum, 0).squareRoot()
        let razorTransverse =
            max(0.5 * (missingEnergy * (leadingPT + subleadingPT) - missingDotDilepton), 0).squareRoot()
        let razorRatio = razorTransverse / max(razorMass, 1e-12)
        let transverse1 = max(2 * leadingPT * missingEnergy * (1 - cosMissing1), 0).squareRoot()
        let transverse2 = max(2 * subleadingPT * missingEnergy * (1 - cosMissing2), 0).squareRoot()
        let totalEnergy = energySum + missingEnergy
        let totalX = dileptonX + missingX
        let totalY = dileptonY + missingY
        let systemMassSquare = max(totalEnergy * totalEnergy - totalX * totalX - totalY * totalY - pzSum * pzSum, 0)

        features[8] = missingRelative
        features[9] = axialMissing
        features[10] = razorMass
        features[11] = razorTransverse
        features[12] = razorRatio
        features[13] = min(transverse1, transverse2)
        features[14] = systemMassSquare.squareRoot()
        features[15] = systemMassSquare / totalEnergy
        features[16] = missingToDilepton.magnitude
        features[17] = (energy1 - energy2) / energySum
    }
}
