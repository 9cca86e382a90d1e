/// A consistent snapshot of a running daemon's counters, as `Daemon.statistics` returns it.
///
/// Counters are since this process started the daemon, except `modelStep` and
/// `recordsTrainedByModel`, which the model carries across checkpoints. The prequential figures
/// (each poll scored before it is trained on) cover the last metrics interval; nil before any
/// record was scored in it. A value type: read it from any thread.
struct DaemonStatistics: Sendable, Equatable {
    /// True once READY=1 was (or would have been) sent: configuration, checkpoint and Kafka
    /// metadata are in hand.
    var isReady = false
    /// True once the daemon has stopped serving (after `requestStop()` or a signal).
    var isStopping = false
    /// Training records learned from since start (each counted once, whatever epochs_per_poll).
    var recordsTrained: Int64 = 0
    /// Training records scored before training (prequential), since start.
    var recordsScored: Int64 = 0
    /// Training records refused by the decoder since start; their offsets advanced.
    var badRecords: Int64 = 0
    /// Optimizer steps the model has taken, checkpoints included.
    var modelStep: Int64 = 0
    /// Rows times epochs the model has learned from, checkpoints included.
    var recordsTrainedByModel: Int64 = 0
    /// Sequence of the newest durable checkpoint, nil before the first one (loaded or written).
    var checkpointSequence: Int64?
    /// Checkpoints written by this process.
    var checkpointsWritten: Int64 = 0
    /// Checkpoint writes that failed (the daemon keeps training and retries next interval).
    var checkpointFailures: Int64 = 0
    /// Prequential mean log loss (nats) over the last metrics interval.
    var loss: Double?
    /// Prequential accuracy over the last metrics interval.
    var accuracy: Double?
    /// ROC AUC over the sliding window (metrics.window records), as of the last metrics tick.
    var auc: Double?
    /// Training records per second over the last metrics interval.
    var recordsPerSecond: Double = 0
}
