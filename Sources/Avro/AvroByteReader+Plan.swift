extension AvroByteReader {
    /// Reads one value as `node` says, nesting at most `limits.depthMax` deep.
    mutating func read(_ node: AvroReadNode, depth: Int) throws(AvroCodecError) -> AvroValue {
        switch node {
        case .null: return .null
        case .boolean: return .boolean(try readBoolean())
        case .int: return .int(try readInt())
        case .long: return .long(try readLong())
        case .float: return .float(try readFloat())
        case .double: return .double(try readDouble())
        case .bytes, .stringAsBytes: return .bytes(try readBytes())
        case .string, .bytesAsString: return .string(try readString())
        case .intAsLong: return .long(Int64(try readInt()))
        case .intAsFloat: return .float(Float(try readInt()))
        case .intAsDouble: return .double(Double(try readInt()))
        case .longAsFloat: return .float(Float(try readLong()))
        case .longAsDouble: return .double(Double(try readLong()))
        case .floatAsDouble: return .double(Double(try readFloat()))
        case .fixed(let size), .decimalFixed(let size, _): return .fixed(try readRaw(size))
        case .decimalBytes: return .bytes(try readBytes())
        case .enumeration(let readerIndex, let symbols, _):
            let start = position
            let index = try readLong()
            guard index >= 0, index < Int64(readerIndex.count) else {
                position = start
                throw error(.enumIndexOutOfRange(index, symbols: readerIndex.count))
            }
            guard let mapped = readerIndex[Int(index)] else {
                position = start
                throw error(.unresolvable("the writer's symbol '\(symbols[Int(index)])' (no such symbol, no default)"))
            }
            return .enumeration(mapped)
        case .array(let items):
            guard depth < limits.depthMax else { throw error(.depthOverLimit(limit: limits.depthMax)) }
            var elements: [AvroValue] = []
            while true {
                let count = try readBlockCount(total: elements.count)
                if count == 0 { break }
                elements.reserveCapacity(elements.count + Swift.min(count, remaining))
                for _ in 0..<count { elements.append(try read(items, depth: depth + 1)) }
            }
            return .array(elements)
        case .map(let values):
            guard depth < limits.depthMax else { throw error(.depthOverLimit(limit: limits.depthMax)) }
            var entries: [AvroMapEntry] = []
            while true {
                let count = try readBlockCount(total: entries.count)
                if count == 0 { break }
                entries.reserveCapacity(entries.count + Swift.min(count, remaining))
                for _ in 0..<count {
                    let key = try readString()
                    entries.append(AvroMapEntry(key, try read(values, depth: depth + 1)))
                }
            }
            return .map(entries)
        case .record(let plan):
            guard depth < limits.depthMax else { throw error(.depthOverLimit(limit: limits.depthMax)) }
            if plan.isInOrder {
                var fields: [AvroValue] = []
                fields.reserveCapacity(plan.readerFieldCount)
                for step in plan.steps {
                    guard case .read(_, let fieldNode, let name) = step else { preconditionFailure("an in-order plan only reads") }
                    do {
                        fields.append(try read(fieldNode, depth: depth + 1))
                    } catch {
                        throw error.within(name)
                    }
                }
                return .record(fields)
            }
            var fields = [AvroValue](repeating: .null, count: plan.readerFieldCount)
            for step in plan.steps {
                switch step {
                case .read(let slot, let fieldNode, let name):
                    do {
                        fields[slot] = try read(fieldNode, depth: depth + 1)
                    } catch {
                        throw error.within(name)
                    }
                case .skip(let fieldNode, let name):
                    do {
                        try skip(fieldNode, depth: depth + 1)
                    } catch {
                        throw error.within(name)
                    }
                }
            }
            for (slot, value) in plan.defaults { fields[slot] = value }
            return .record(fields)
        case .writerUnion(let branches):
            guard depth < limits.depthMax else { throw error(.depthOverLimit(limit: limits.depthMax)) }
            let start = position
            let index = try readLong()
            guard index >= 0, index < Int64(branches.count) else {
                position = start
                throw error(.unionIndexOutOfRange(index, branches: branches.count))
            }
            guard let branch = branches[Int(index)] else {
                position = start
                throw error(.unresolvable("the writer's union branch \(index)"))
            }
            let value = try read(branch.node, depth: depth + 1)
            return branch.readerBranch.map { .union($0, value) } ?? value
        case .readerUnion(let branch, let branchNode):
            guard depth < limits.depthMax else { throw error(.depthOverLimit(limit: limits.depthMax)) }
            return .union(branch, try read(branchNode, depth: depth + 1))
        }
    }

    /// Reads past one value the writer wrote as `node` (a writer-shaped node), building nothing.
    mutating func skip(_ node: AvroReadNode, depth: Int) throws(AvroCodecError) {
        switch node {
        case .null: return
        case .boolean: _ = try readBoolean()
        case .int, .intAsLong, .intAsFloat, .intAsDouble: _ = try readInt()
        case .long, .longAsFloat, .longAsDouble: _ = try readLong()
        case .float, .floatAsDouble: try skip(4)
        case .double: try skip(8)
        case .bytes, .string, .bytesAsString, .stringAsBytes, .decimalBytes: try skip(try readLength())
        case .fixed(let size), .decimalFixed(let size, _): try skip(size)
        case .enumeration(let readerIndex, _, _):
            let index = try readLong()
            guard index >= 0, index < Int64(readerIndex.count) else { throw error(.enumIndexOutOfRange(index, symbols: readerIndex.count)) }
        case .array(let items):
            guard depth < limits.depthMax else { throw error(.depthOverLimit(limit: limits.depthMax)) }
            var total = 0
            while true {
                let count = try readBlockCount(total: total)
                if count == 0 { break }
                total += count
                for _ in 0..<count { try skip(items, depth: depth + 1) }
            }
        case .map(let values):
            guard depth < limits.depthMax else { throw error(.depthOverLimit(limit: limits.depthMax)) }
            var total = 0
            while true {
                let count = try readBlockCount(total: total)
                if count == 0 { break }
                total += count
                for _ in 0..<count {
                    try skip(try readLength())
                    try skip(values, depth: depth + 1)
                }
            }
        case .record(let plan):
            guard depth < limits.depthMax else { throw error(.depthOverLimit(limit: limits.depthMax)) }
            for step in plan.steps {
                switch step {
                case .read(_, let fieldNode, _), .skip(let fieldNode, _): try skip(fieldNode, depth: depth + 1)
                }
            }
        case .writerUnion(let branches):
            guard depth < limits.depthMax else { throw error(.depthOverLimit(limit: limits.depthMax)) }
            let index = try readLong()
            guard index >= 0, index < Int64(branches.count), let branch = branches[Int(index)] else {
                throw error(.unionIndexOutOfRange(index, branches: branches.count))
            }
            try skip(branch.node, depth: depth + 1)
        case .readerUnion(_, let branchNode):
            try skip(branchNode, depth: depth)
        }
    }
}

extension AvroCodecError {
    /// This error with `field` prepended to its path.
    func within(_ field: String) -> AvroCodecError {
        AvroCodecError(reason, offset: offset, path: path.isEmpty ? field : "\(field).\(path)")
    }
}
