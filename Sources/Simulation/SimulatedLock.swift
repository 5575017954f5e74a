import StreamCore

/// A held directory lock of a ``SimulatedDisk``; released by ``release()``, by deinit (as the
/// kernel releases a dead process's `flock`), or by a crash of the disk.
///
/// Releasing twice, or after a crash, does nothing; it never releases a lock taken later by
/// someone else, since each lock carries its own token.
final class SimulatedLock: StorageLock {
    private let disk: SimulatedDisk
    private let key: SimulatedPath
    private let token: Int

    init(disk: SimulatedDisk, key: SimulatedPath, token: Int) {
        self.disk = disk
        self.key = key
        self.token = token
    }

    deinit { release() }

    func release() {
        disk.withState { state in state.unlock(key, token: token) }
    }
}
