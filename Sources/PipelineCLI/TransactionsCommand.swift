import ArgumentParser
import StreamCore
import LogStorage
import Transactions
import Foundation

/// `pipeline transactions list|abort`: inspect the coordinator and clear a stuck transaction.
struct TransactionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transactions", abstract: "Inspect and abort transactions.",
        subcommands: [ListTransactions.self, AbortTransaction.self])
}

/// `pipeline transactions list`: transactional id, producer id, epoch, state, participants, age.
struct ListTransactions: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List transactional ids and their state.")
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        try withEngine(data, command: "transactions list") { log, coordinator in
            let now = log.clock.now().rawValue
            let rows = coordinator.list().map { metadata -> [String] in
                let since = metadata.state == .ongoing ? metadata.startTimestamp : metadata.lastUpdateTimestamp
                let participants = metadata.participants.sorted().map(\.description).joined(separator: ",")
                return [metadata.transactionalID, metadata.producerID.description, metadata.producerEpoch.description,
                        metadata.state.description, participants.isEmpty ? "-" : participants,
                        since.rawValue > 0 ? Units.describeMilliseconds(max(1, now - since.rawValue)) : "-"]
            }
            if rows.isEmpty {
                print("no transactions")
                return
            }
            printTable(header: ["TRANSACTIONAL ID", "PRODUCER ID", "EPOCH", "STATE", "PARTICIPANTS", "AGE"], rows: rows)
        }
    }
}

/// `pipeline transactions abort ID`: aborts an open transaction (fencing its producer).
struct AbortTransaction: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "abort", abstract: "Abort a stuck transaction, fencing its producer.")
    @Argument(help: "The transactional id.") var transactionalID: String
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        try withEngine(data, command: "transactions abort") { _, coordinator in
            let state = try coordinator.forceAbort(transactionalID: transactionalID)
            print("transaction \(transactionalID) is now \(state)")
        }
    }
}
