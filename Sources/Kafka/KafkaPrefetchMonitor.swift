/// Keeps librdkafka fetching for a group consumer whose application drains the consumer queue
/// faster than librdkafka refills it on its own.
///
/// librdkafka checks `queued.max.messages.kbytes` and `queued.min.messages` against the one
/// consumer queue that all partitions of a group consumer feed (CONFIGURATION.md says so for
/// the high-level consumer). When a fetch response takes the queue over either bound, the
/// broker thread stops fetching every partition it leads and, in librdkafka before
/// `fetch.queue.backoff.ms` (2.2), looks again only when something else wakes it: at the
/// latest one second later. An application that drains the queue in less than that waits out
/// the rest of the second, once per queue-full.
///
/// The monitor watches the queue after each poll. Once it has seen the queue at least half
/// full (so the fetcher may stop at the bound) and then below a third, or when a full poll
/// leaves less than another poll's worth queued (librdkafka's byte count is not the payload's,
/// so the first rule may not see the queue fill), it seeks some partitions to their current
/// position without waiting: any operation on a partition wakes
/// the broker thread that leads it, which then finds the queue below the bound and fetches.
/// The partitions chosen are those that delivered records earlier but none in the last poll,
/// so their queued records, which a seek discards and fetches again, are few or none. At most
/// one wake per poll, none while polls come back short (a consumer at the end of its
/// partitions is never woken). With a librdkafka that backs off by itself, a wake only comes earlier.
///
/// Nothing is lost or delivered twice: a partition's position is the offset after the last
/// record `poll` handed over. Best effort: a failed seek leaves librdkafka's own pace.
///
/// Not thread-safe: use it on the thread that polls, and call `reset()` on every rebalance.
public struct KafkaPrefetchMonitor {
    /// The consumer queue's bound in bytes of key and value, and in messages.
    public let boundBytes: Int
    public let boundMessages: Int

    /// Wakes sent: one per queue-full that drained while the fetcher may have been stopped.
    public private(set) var wakeCount = 0

    private var partitions: [Delivery] = []
    private var isFetcherMaybeStopped = false
    private var deliveredBytes = 0
    private var deliveredMessages = 0

    private struct Delivery {
        let topic: KafkaTopicIdentity
        let partition: KafkaTopicPartition
        var isInLastPoll: Bool
    }

    /// A monitor for a consumer created with `configuration`; librdkafka's defaults fill in
    /// the bounds it does not set.
    public init(configuration: KafkaConfiguration) {
        let kilobytes = configuration["queued.max.messages.kbytes"].flatMap(Int.init) ?? 65_536
        boundBytes = max(1, kilobytes) * 1024
        boundMessages = max(1, configuration["queued.min.messages"].flatMap(Int.init) ?? 100_000)
    }

    /// Forgets the partitions seen: after a rebalance their topic identities may be stale.
    public mutating func reset() {
        partitions.removeAll()
        isFetcherMaybeStopped = false
    }

    /// Looks at what the last poll delivered and at the queue it left, and wakes the fetcher
    /// when it may have stopped at the bound and the queue runs low.
    public mutating func didPoll(_ batch: KafkaMessageBatch, consumer: KafkaConsumer) {
        noteDeliveries(batch)
        let queuedMessages = consumer.queuedEventCount
        let bytesPerMessage = deliveredMessages > 0 ? max(1, deliveredBytes / deliveredMessages) : 1
        let queuedBytes = queuedMessages * bytesPerMessage
        if queuedBytes >= boundBytes / 2 || queuedMessages >= boundMessages / 2 {
            isFetcherMaybeStopped = true
            return
        }
        // librdkafka's own count of the queue's bytes is not the payload's, so the estimate
        // may never see the queue half full although the fetcher stopped at the bound. A full
        // poll that leaves less than another poll's worth is behind the broker and about to
        // wait for the fetcher: wake it too, at most once per poll.
        let isBehind = batch.count == batch.capacity && queuedMessages < batch.capacity
        let isDrained =
            isFetcherMaybeStopped && queuedBytes < boundBytes / 3 && queuedMessages < boundMessages / 3
        guard isBehind || isDrained else { return }
        isFetcherMaybeStopped = false
        var chosen = partitions.filter { !$0.isInLastPoll }.map(\.partition)
        if chosen.isEmpty, let first = batch.first {
            chosen = [first.topicPartition]
        }
        guard let positions = try? consumer.positions(of: chosen), !positions.isEmpty else { return }
        wakeCount += 1
        let offsets = positions.map { KafkaTopicPartitionOffset($0.key, offset: $0.value) }
        try? consumer.seek(offsets, timeout: .zero)
    }

    /// Marks the partitions of `batch` and keeps a running size of its records. Allocates only
    /// for a partition seen first.
    private mutating func noteDeliveries(_ batch: KafkaMessageBatch) {
        for index in partitions.indices { partitions[index].isInLastPoll = false }
        var current = -1
        for message in batch {
            let topic = message.topicIdentity
            let partition = message.partition
            if current < 0 || partitions[current].topic != topic
                || partitions[current].partition.partition != partition
            {
                if let known = partitions.firstIndex(where: {
                    $0.topic == topic && $0.partition.partition == partition
                }) {
                    current = known
                } else {
                    partitions.append(
                        Delivery(topic: topic, partition: message.topicPartition, isInLastPoll: false)
                    )
                    current = partitions.count - 1
                }
            }
            partitions[current].isInLastPoll = true
            deliveredBytes &+= (message.value?.count ?? 0) &+ (message.key?.count ?? 0)
        }
        deliveredMessages &+= batch.count
        if deliveredMessages > 1 << 20 {
            // A running average of recent records, not of all since the start.
            deliveredBytes /= 2
            deliveredMessages /= 2
        }
    }
}
