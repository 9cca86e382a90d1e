import Foundation
import Kafka
import StreamLearnCore

/// `streamlearn lag`: a consumer group's committed offsets, log-end offsets and lag, per
/// partition, as `kafka-consumer-groups --describe` shows them.
enum LagCommand: Command {
    static let spec = CommandSpec(
        name: "lag",
        summary: "show a consumer group's committed offsets and lag",
        usage: "streamlearn lag --group G [--topic T]... -b B [-X KEY=VALUE]... [--timeout DURATION]",
        options: [
            .value("group", short: "g", "G", help: "consumer group id (required)"),
            .value(
                "topic",
                short: "t",
                "T",
                repeatable: true,
                help: "show these topics, committed or not (default: the topics the group committed in)"
            ),
            .bootstrapServer,
            .property,
            .kafkaTimeout,
        ],
        discussion: """
            Prints one line per partition: topic, partition, the group's committed offset (the
            next record it will read; "-" when it has committed none there), the log-end offset
            (high watermark) and the lag between them. A group that has committed nothing says
            so. Reads offsets only: it never joins the group or disturbs its members.

            Example: streamlearn lag --group streamlearn-eval -b 127.0.0.1:9092
            """
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        guard arguments.positionals.isEmpty else {
            throw arguments.usage("unexpected argument '\(arguments.positionals[0])'")
        }
        let group = try arguments.required("group")
        guard !group.isEmpty else { throw arguments.usage("option '--group' needs a group id") }
        let topics = arguments.strings("topic")
        for name in topics {
            if let problem = BrokerCommand.topicNameProblem(name) {
                throw arguments.usage("bad topic name '\(name)': \(problem)")
            }
        }
        let context = try KafkaCommandContext(arguments)

        let rows = try context.mappingErrors {
            let admin = try KafkaAdmin(configuration: context.configuration, logHandler: context.logHandler)
            do {
                return try admin.lag(group: group, topics: topics.isEmpty ? nil : topics, timeout: context.timeout)
            } catch let error as KafkaError where error.code == .unknownTopicOrPartition {
                let existing = (try? admin.describeTopics(includeWatermarks: false, timeout: context.timeout)) ?? []
                guard let missing = topics.first(where: { name in !existing.contains { $0.name == name } }) else {
                    // Without --topic the topics come from the group's commits: one was deleted since.
                    throw CommandError(
                        .failure,
                        "\(context.commandName): Failed to read the lag of group '\(group)': it has committed "
                            + "offsets of a topic that the cluster at '\(context.bootstrapServers)' no longer has "
                            + "(\(error)); name the topics to show with --topic"
                    )
                }
                throw CommandError(
                    .failure,
                    "\(context.commandName): Failed to read the lag of group '\(group)' on topic '\(missing)': "
                        + "the cluster at '\(context.bootstrapServers)' has no such topic"
                )
            }
        }
        guard rows.contains(where: { $0.committedOffset != nil }) else {
            let scope = topics.isEmpty ? "" : " on " + topics.map { "'\($0)'" }.joined(separator: ", ")
            print("Consumer group '\(group)' has no committed offsets\(scope) at '\(context.bootstrapServers)'.")
            return .success
        }
        print(table(rows).render(), terminator: "")
        return .success
    }

    /// The table `lag` prints, with kafka-consumer-groups' column names.
    static func table(_ rows: [KafkaPartitionLag]) -> TextTable {
        var table = TextTable(["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG"])
        for row in rows {
            table.append([
                row.topic,
                String(row.partition),
                row.committedOffset.map(String.init) ?? "-",
                row.logEndOffset.map(String.init) ?? "-",
                row.lag.map(String.init) ?? "-",
            ])
        }
        return table
    }
}
