import CRdKafka

/// A change of a group consumer's assignment, delivered synchronously inside
/// `KafkaConsumer.poll` or `KafkaConsumer.close`, on the polling thread.
public struct KafkaRebalance: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The partitions are now this consumer's (all of them with EAGER, the added ones with
        /// COOPERATIVE). The handler returns where to start reading them.
        case assigned

        /// The partitions are being taken away in an orderly rebalance: checkpoint and commit
        /// them now, because after the handler returns another member may read them.
        case revoked

        /// The partitions were lost (session timeout, fenced member): another member may already
        /// own them, so commits for them would fail. Drop their state.
        case lost
    }

    public let kind: Kind

    /// The partitions concerned, sorted.
    public let partitions: [KafkaTopicPartition]

    /// The protocol in use: EAGER revokes and reassigns everything, COOPERATIVE only what moves.
    public let rebalanceProtocol: KafkaRebalanceProtocol
}

/// The group rebalance protocol, as `rd_kafka_rebalance_protocol` reports it.
public enum KafkaRebalanceProtocol: String, Sendable {
    case eager = "EAGER"
    case cooperative = "COOPERATIVE"
}

/// Decides what to do on a rebalance; runs on the polling thread, inside `poll` or `close`.
///
/// For `.assigned`, return the offset to start each partition from (a real offset or one of
/// `KafkaOffset`); partitions left out start from the group's committed offset, or from
/// `auto.offset.reset` without one. For `.revoked` and `.lost` the result is ignored (return
/// `[:]`). The handler may call `commit` and `storeOffsets` on the consumer; it must not call
/// `poll` or `close`. An error it throws is rethrown by the `poll` or `close` that delivered it;
/// the assignment change itself is applied regardless, because librdkafka requires it.
public typealias KafkaRebalanceHandler = (KafkaRebalance) throws -> [KafkaTopicPartition: Int64]

/// Holds the caller's handler (if any) while one `poll` or `close` runs, and the first error
/// that the handler threw or that applying the change raised.
final class RDKafkaRebalanceScope {
    let handler: KafkaRebalanceHandler?
    private(set) var error: (any Error)?

    init(handler: KafkaRebalanceHandler?) {
        self.handler = handler
    }

    func record(_ error: any Error) {
        if self.error == nil { self.error = error }
    }
}

extension RDKafkaCallbacks {
    /// librdkafka's rebalance callback: asks the caller's handler, then applies the change with
    /// the call that matches the protocol (`assign` for EAGER, `incremental_*` for COOPERATIVE).
    func rebalance(
        handle: OpaquePointer,
        error: rd_kafka_resp_err_t,
        partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        let isCooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
        let kind: KafkaRebalance.Kind
        switch error {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            kind = .assigned
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            kind = rd_kafka_assignment_lost(handle) != 0 ? .lost : .revoked
        default:
            // librdkafka documents only the two codes above; for anything else its advice is to
            // drop the assignment and let the group recover.
            report(KafkaError.rdkafka("rebalance consumer group", error))
            _ = rd_kafka_assign(handle, nil)
            return
        }

        let event = KafkaRebalance(
            kind: kind,
            partitions: RDKafkaTopicPartitionList.offsets(of: partitions).map(\.topicPartition)
                .sorted(),
            rebalanceProtocol: isCooperative ? .cooperative : .eager
        )
        var startOffsets: [KafkaTopicPartition: Int64] = [:]
        if let scope = rebalanceScope, let handler = scope.handler {
            do {
                startOffsets = try handler(event)
            } catch {
                scope.record(error)
            }
        }
        if kind == .assigned && !startOffsets.isEmpty {
            // librdkafka reads each element's offset as the position to start from.
            let elements = RDKafkaTopicPartitionList.elements(of: partitions)
            for index in elements.indices {
                let key = KafkaTopicPartition(
                    topic: String(cString: elements[index].topic),
                    partition: elements[index].partition
                )
                if let offset = startOffsets[key] { elements[index].offset = offset }
            }
        }

        let operation = kind == .assigned ? "assign partitions" : "unassign partitions"
        switch (kind, isCooperative) {
        case (.assigned, true):
            if let failure = rd_kafka_incremental_assign(handle, partitions) {
                report(KafkaError.consuming(operation, failure))
            }
        case (.assigned, false):
            let failure = rd_kafka_assign(handle, partitions)
            if failure != RD_KAFKA_RESP_ERR_NO_ERROR {
                report(KafkaError.rdkafka(operation, failure))
            }
        case (_, true):
            if let failure = rd_kafka_incremental_unassign(handle, partitions) {
                report(KafkaError.consuming(operation, failure))
            }
        case (_, false):
            let failure = rd_kafka_assign(handle, nil)
            if failure != RD_KAFKA_RESP_ERR_NO_ERROR {
                report(KafkaError.rdkafka(operation, failure))
            }
        }
    }

    /// Hands a rebalance failure to the running poll or close, or logs it when none is running
    /// (a consumer released without `close`).
    private func report(_ error: KafkaError) {
        if let scope = rebalanceScope {
            scope.record(error)
        } else {
            logHandler?(3, "REBALANCE", error.description)
        }
    }
}
