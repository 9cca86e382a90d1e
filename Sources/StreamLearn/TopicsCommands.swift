import Foundation
import Kafka
import StreamLearnCore

/// `streamlearn topics create|describe`.
enum TopicsCommands: CommandGroup {
    static let name = "topics"
    static let summary = "create and describe topics"
    static let subcommands: [any Command.Type] = [TopicsCreateCommand.self, TopicsDescribeCommand.self]
}

/// `streamlearn topics create`: creates a topic through the admin API (CreateTopics).
enum TopicsCreateCommand: Command {
    static let spec = CommandSpec(
        name: "topics create",
        summary: "create a topic",
        usage: "streamlearn topics create NAME --partitions N [--replication-factor R] [--if-not-exists] -b B",
        options: [
            .value("partitions", "N", help: "number of partitions, 1 to 10000 (required)"),
            .value("replication-factor", "R", help: "replicas per partition (default: the broker's default)"),
            .flag("if-not-exists", help: "succeed without change when the topic exists"),
            .bootstrapServer,
            .property,
            .kafkaTimeout,
        ],
        discussion: """
            Uses Kafka's CreateTopics API and waits until the controller has created the topic.
            The embedded broker ('streamlearn broker') does not implement that API: create its
            topics when you start it (--topic NAME:PARTITIONS), or let the first producer create
            one with \(BrokerCommand.autoCreatedPartitionCount) partitions.

            Example: streamlearn topics create susy-test --partitions 2 -b 127.0.0.1:9092
            """
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        guard let name = arguments.positionals.first else { throw arguments.usage("missing topic NAME") }
        guard arguments.positionals.count == 1 else {
            throw arguments.usage("unexpected argument '\(arguments.positionals[1])'")
        }
        if let problem = BrokerCommand.topicNameProblem(name) {
            throw arguments.usage("bad topic name '\(name)': \(problem)")
        }
        guard arguments.string("partitions") != nil else {
            throw arguments.usage("missing required option '--partitions'")
        }
        let partitions = try arguments.int("partitions", default: 1, in: 1...10_000)
        let replicationFactor = try arguments.int("replication-factor", default: -1, in: 1...1000)
        let context = try KafkaCommandContext(arguments)

        return try context.mappingErrors {
            let admin = try KafkaAdmin(configuration: context.configuration, logHandler: context.logHandler)
            do {
                try admin.createTopic(
                    name,
                    partitions: Int32(partitions),
                    replicationFactor: Int32(replicationFactor),
                    timeout: context.timeout
                )
            } catch KafkaError.unsupportedByBroker(_, let reason) {
                throw CommandError(
                    .failure,
                    "\(context.commandName): Failed to create topic '\(name)' at '\(context.bootstrapServers)': "
                        + "\(reason). It looks like the embedded broker (librdkafka's mock cluster), which does not implement "
                        + "CreateTopics. Create the topic when starting it: "
                        + "'streamlearn broker --topic \(name):\(partitions)'; or let the first producer create it "
                        + "(auto-creation gives \(BrokerCommand.autoCreatedPartitionCount) partitions)."
                )
            } catch let error as KafkaError where error.code == .topicAlreadyExists {
                guard arguments.has("if-not-exists") else {
                    throw CommandError(
                        .failure,
                        "\(context.commandName): Failed to create topic '\(name)': it already exists on "
                            + "'\(context.bootstrapServers)' (pass --if-not-exists to accept that)"
                    )
                }
                print("Topic '\(name)' already exists.")
                return ExitCode.success
            }
            let replicas =
                replicationFactor < 0
                ? "the broker's default replication factor" : "replication factor \(replicationFactor)"
            print(
                "Created topic '\(name)' with \(partitions) \(partitions == 1 ? "partition" : "partitions") and \(replicas)."
            )
            return ExitCode.success
        }
    }
}

/// `streamlearn topics describe`: partitions, leaders, replicas and watermarks, as a table.
enum TopicsDescribeCommand: Command {
    static let spec = CommandSpec(
        name: "topics describe",
        summary: "describe topics: partitions, leaders, replicas, watermarks",
        usage: "streamlearn topics describe [NAME]... -b B",
        options: [.bootstrapServer, .property, .kafkaTimeout],
        discussion: """
            Prints one line per partition: topic, partition, leader broker, replicas, in-sync
            replicas, low watermark (oldest offset kept), high watermark (next offset to be
            written) and the records between them. Without NAME, describes every topic except
            internal ones (names starting with "__"). Never creates a topic.

            Example: streamlearn topics describe susy-train -b 127.0.0.1:9092
            """
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        let names = arguments.positionals
        for name in names {
            if let problem = BrokerCommand.topicNameProblem(name) {
                throw arguments.usage("bad topic name '\(name)': \(problem)")
            }
        }
        let context = try KafkaCommandContext(arguments)
        let topics = try context.mappingErrors {
            let admin = try KafkaAdmin(configuration: context.configuration, logHandler: context.logHandler)
            do {
                return try admin.describeTopics(names.isEmpty ? nil : names, timeout: context.timeout)
            } catch let error as KafkaError where error.code == .unknownTopicOrPartition {
                let existing = (try? admin.describeTopics(includeWatermarks: false, timeout: context.timeout)) ?? []
                let missing = names.first { name in !existing.contains(where: { $0.name == name }) } ?? names[0]
                throw CommandError(
                    .failure,
                    "\(context.commandName): Failed to describe topic '\(missing)': the cluster at "
                        + "'\(context.bootstrapServers)' has no such topic"
                )
            }
        }
        guard !topics.isEmpty else {
            FileHandle.standardError.write(Data("The cluster at '\(context.bootstrapServers)' has no topics.\n".utf8))
            return .success
        }
        print(table(topics).render(), terminator: "")
        return .success
    }

    /// The table `describe` prints; cells hold no spaces ("1,2,3" for several replicas).
    static func table(_ topics: [KafkaTopicDescription]) -> TextTable {
        var table = TextTable(["TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR", "LOW", "HIGH", "RECORDS"])
        for topic in topics {
            if let error = topic.error, topic.partitions.isEmpty {
                table.append([topic.name, "-", "-", "-", "-", "-", "-", "error:\(error.name)"])
                continue
            }
            for partition in topic.partitions {
                let watermarks = partition.watermarks
                let records: String
                if let error = partition.error {
                    records = "error:\(error.name)"
                } else {
                    records = watermarks.map { String($0.count) } ?? "-"
                }
                table.append([
                    topic.name,
                    String(partition.partition),
                    partition.leader < 0 ? "none" : String(partition.leader),
                    partition.replicas.map(String.init).joined(separator: ","),
                    partition.inSyncReplicas.map(String.init).joined(separator: ","),
                    watermarks.map { String($0.low) } ?? "-",
                    watermarks.map { String($0.high) } ?? "-",
                    records,
                ])
            }
        }
        return table
    }
}
