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
/// The monitor watches the queue at each poll. When the queue the poll found (what it left
/// plus what it took) was at the bound, the fetcher may have stopped; once the queue is below
/// a third of the bound, the monitor seeks some partitions to where they are without
/// waiting: any operation on a partition wakes the broker thread that leads it, which then
/// finds the queue below the bound and fetches. The partitions chosen are those that delivered
/// records earlier but none in the last poll, so their queued records, which a seek discards
/// and fetches again, are few or none. It wakes only then, once per queue-full: a seek of a
/// partition whose fetch is on its way turns the response stale, and librdkafka counts stale
/// records against the bound until a poll drops them unseen, so a wake at any other time may
/// stop the fetcher instead (an earlier rule that also woke whenever a full poll left less than
/// a poll's worth queued did that in about one `bench pipeline` run in four). A consumer at the
/// end of its partitions is never woken. With a librdkafka that backs off by itself, a wake
/// only comes earlier.
///
/// Nothing is lost or delivered twice: each partition is sought to the offset after the last
/// record `poll` handed over from it, which the monitor notes itself. It cannot ask librdkafka
/// (`rd_kafka_position`): since 1.9 a seek clears the position until the partition delivers
/// again, so a partition woken once would drop out of every later wake, and the fetcher would
/// wait out its second after all. Best effort: a failed seek leaves librdkafka's own pace.
///
/// Not thread-safe: use it on the thread that polls, and call `reset()` on every rebalance
/// and after every seek of the caller's own, so that it never seeks a partition back.
public struct KafkaPrefetchMonitor {
    /// The consumer queue's bound in bytes of key and value, and in messages.
    public let boundBytes: Int
    public let boundMessages: Int

    /// Wakes sent: one per queue-full that drained.
    public private(set) var wakeCount = 0

    private var partitions: [Delivery] = []
    private var isFetcherMaybeStopped = false
    private var deliveredBytes = 0
    private var deliveredMessages = 0

    private struct Delivery {
        let topic: KafkaTopicIdentity
        /// The partition and the offset after the last record delivered from it.
        var position: KafkaTopicPartitionOffset
        var isInLastPoll: Bool
    }

    /// A monitor for a consumer created with `configuration`; librdkafka's defaults fill in
    /// the bounds it does not set.
    public init(configuration: KafkaConfiguration) {
        let kilobytes = configuration["queued.max.messages.kbytes"].flatMap(Int.init) ?? 65_536
        boundBytes = max(1, kilobytes) * 1024
        boundMessages = max(1, configuration["queued.min.messages"].flatMap(Int.init) ?? 100_000)
    }

    /// Forgets the partitions seen: after a rebalance their topic identities may be stale, and
    /// after a seek their next offsets.
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
        // What this poll found queued, taken and left: only polls take from the queue, so the
        // broker thread weighed no more than this against the bound since the last poll. The
        // sixteenth spares the byte estimate's error.
        let peakMessages = queuedMessages + batch.count
        if peakMessages * bytesPerMessage >= boundBytes - boundBytes / 16
            || peakMessages >= boundMessages - boundMessages / 16
        {
            isFetcherMaybeStopped = true
        }
        guard isFetcherMaybeStopped, queuedBytes < boundBytes / 3, queuedMessages < boundMessages / 3 else {
            return
        }
        isFetcherMaybeStopped = false
        var chosen = partitions.filter { !$0.isInLastPoll }
        if chosen.isEmpty, let first = partitions.first(where: \.isInLastPoll) {
            chosen = [first]
        }
        guard !chosen.isEmpty else { return }
        wakeCount += 1
        try? consumer.seek(chosen.map(\.position), timeout: .zero)
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
                || partitions[current].position.partition != partition
            {
                if let known = partitions.firstIndex(where: {
                    $0.topic == topic && $0.position.partition == partition
                }) {
                    current = known
                } else {
                    let position = KafkaTopicPartitionOffset(message.topicPartition, offset: message.offset)
                    partitions.append(Delivery(topic: topic, position: position, isInLastPoll: false))
                    current = partitions.count - 1
                }
            }
            partitions[current].isInLastPoll = true
            partitions[current].position.offset = message.offset + 1
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
