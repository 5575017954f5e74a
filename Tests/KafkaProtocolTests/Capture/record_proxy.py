#!/usr/bin/env python3
"""A recording TCP proxy between a Kafka client and a broker, for the codec's golden vectors.

    record_proxy.py PORT OUT_DIR

Listens on 127.0.0.1:PORT and forwards every connection to the broker on 127.0.0.2:PORT.
Each request frame and its response frame (payload without the 4-byte size prefix) are
saved as OUT_DIR/NNN-<Api>-v<version>-request.bin and -response.bin, NNN counting requests
across all connections in arrival order; the files hold the bytes exactly as the client and
the broker sent them.

The broker advertises its own address (127.0.0.2) in Metadata, FindCoordinator and
DescribeCluster responses; so that clients keep talking through the proxy, the copy
forwarded to the client has "127.0.0.2" replaced by "127.0.0.1" (same length, so no size
or length field changes). The saved response is the broker's original. Runs until killed.
"""
import os
import socket
import struct
import sys
import threading

API_NAMES = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit", 9: "OffsetFetch",
    10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup",
    15: "DescribeGroups", 16: "ListGroups", 18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics",
    22: "InitProducerId", 24: "AddPartitionsToTxn", 25: "AddOffsetsToTxn", 26: "EndTxn",
    28: "TxnOffsetCommit", 32: "DescribeConfigs", 37: "CreatePartitions", 42: "DeleteGroups",
    60: "DescribeCluster",
}
ADVERTISING_APIS = {"Metadata", "FindCoordinator", "DescribeCluster"}
LISTEN_HOST = "127.0.0.1"
BROKER_HOST = "127.0.0.2"
counter_lock = threading.Lock()
counter = [0]


def frames(sock):
    buffer = b""
    while True:
        while len(buffer) >= 4:
            (size,) = struct.unpack(">i", buffer[:4])
            if len(buffer) < 4 + size:
                break
            yield buffer[:4 + size]
            buffer = buffer[4 + size:]
        data = sock.recv(65536)
        if not data:
            return
        buffer += data


def relay(client, broker, out_dir):
    pending = {}  # correlation id -> file prefix
    lock = threading.Lock()

    def upstream():
        try:
            for frame in frames(client):
                api_key, version, correlation_id = struct.unpack(">hhi", frame[4:12])
                with counter_lock:
                    counter[0] += 1
                    number = counter[0]
                prefix = os.path.join(out_dir, f"{number:03d}-{API_NAMES.get(api_key, f'Api{api_key}')}-v{version}")
                with open(prefix + "-request.bin", "wb") as handle:
                    handle.write(frame[4:])
                with lock:
                    pending[correlation_id] = prefix
                broker.sendall(frame)
        except OSError:
            pass
        finally:
            try:
                broker.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def downstream():
        try:
            for frame in frames(broker):
                (correlation_id,) = struct.unpack(">i", frame[4:8])
                with lock:
                    prefix = pending.pop(correlation_id, None)
                if prefix is not None:
                    with open(prefix + "-response.bin", "wb") as handle:
                        handle.write(frame[4:])
                    if os.path.basename(prefix).split("-")[1] in ADVERTISING_APIS:
                        frame = frame.replace(BROKER_HOST.encode(), LISTEN_HOST.encode())
                client.sendall(frame)
        except OSError:
            pass
        finally:
            try:
                client.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    threads = [threading.Thread(target=upstream, daemon=True), threading.Thread(target=downstream, daemon=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    broker.close()


def main():
    port, out_dir = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((LISTEN_HOST, port))
    server.listen(16)
    while True:
        client, _ = server.accept()
        broker = socket.create_connection((BROKER_HOST, port))
        threading.Thread(target=relay, args=(client, broker, out_dir), daemon=True).start()


if __name__ == "__main__":
    main()
