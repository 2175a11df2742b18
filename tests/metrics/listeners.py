"""Real statsd (UDP) and graphite (TCP) listeners on local ports, for reading what was sent."""

from __future__ import annotations

import socket
import threading


class UdpListener:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.packets: list[str] = []

    def drain(self) -> list[str]:
        """Everything received so far (waits up to 0.1 s for the next datagram)."""
        while True:
            try:
                self.packets.append(self.sock.recv(65535).decode())
            except TimeoutError:
                return self.packets

    def close(self):
        self.sock.close()


class TcpLineListener:
    """Accepts any number of connections and collects their lines."""

    def __init__(self, listen: bool = True):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        if listen:
            self.listen()

    def listen(self):
        self.sock.listen()
        self.sock.settimeout(0.1)
        self._start(self._accept)

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self._start(self._read, conn)

    def _start(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _read(self, conn):
        buffer = b""
        conn.settimeout(0.1)
        with conn:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65535)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                with self._lock:
                    self.lines.extend(line.decode() for line in complete)

    def received(self) -> list[str]:
        with self._lock:
            return list(self.lines)

    def close(self):
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        self.sock.close()
