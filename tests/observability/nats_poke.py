#!/usr/bin/env python3
"""A few JetStream operations for tests/observability/alerts_live_test.sh, over the
plain NATS client protocol (no NATS client library or CLI needed; loopback, no auth):

  nats_poke.py URL garbage SUBJECT [COUNT]     publish COUNT (1) non-event payloads to
                                               SUBJECT, each acknowledged by JetStream
  nats_poke.py URL republish-last STREAM SUBJECT
                                               publish again the data of the last
                                               message on SUBJECT (a second copy of an event)
  nats_poke.py URL delete-stream STREAM        delete a stream
  nats_poke.py URL cap-stream STREAM           set the stream's max_msgs to what it holds
                                               (discard=new: the next publish is refused)

Prints what it did; exits non-zero when JetStream answered an error.
"""
import base64
import json
import socket
import sys
import urllib.parse


class Nats:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port or 4222), timeout=10)
        self.buf = b""
        self._line()  # INFO
        self.sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,'
                          b'"no_responders":true,"name":"alerts-test"}\r\nPING\r\n')
        while self._line() != b"PONG":
            pass
        self.sock.sendall(b"SUB _INBOX.alerts.* 1\r\n")
        self.n = 0

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("NATS closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        if line == b"PING":
            self.sock.sendall(b"PONG\r\n")
            return self._line()
        if line.startswith(b"-ERR"):
            raise RuntimeError(line.decode())
        return line

    def _take(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def request(self, subject, payload):
        self.n += 1
        inbox = f"_INBOX.alerts.{self.n}"
        self.sock.sendall(f"PUB {subject} {inbox} {len(payload)}\r\n".encode() + payload + b"\r\n")
        while True:
            line = self._line()
            parts = line.split()
            if parts[0] == b"MSG":
                data = self._take(int(parts[-1]))
                if parts[1].decode() == inbox:
                    return data
            elif parts[0] == b"HMSG":
                total = int(parts[-1])
                data = self._take(total)
                if parts[1].decode() == inbox:
                    hdr_len = int(parts[-2])
                    if b" 503" in data[:hdr_len]:
                        raise RuntimeError(f"no responders for {subject}")
                    return data[hdr_len:]

    def js(self, api, body=None):
        reply = json.loads(self.request(f"$JS.API.{api}", json.dumps(body or {}).encode()) or b"{}")
        if "error" in reply:
            raise RuntimeError(f"{api}: {reply['error']}")
        return reply


def main():
    url, op, *args = sys.argv[1:]
    nc = Nats(url)
    if op == "garbage":
        subject, count = args[0], int(args[1]) if len(args) > 1 else 1
        for i in range(count):
            ack = json.loads(nc.request(subject, b"not a rentmesh event %d" % i))
            if "error" in ack:
                raise RuntimeError(f"publish {subject}: {ack['error']}")
        print(f"published {count} non-event message(s) to {subject}, last seq {ack.get('seq')}")
    elif op == "republish-last":
        stream, subject = args
        msg = nc.js(f"STREAM.MSG.GET.{stream}", {"last_by_subj": subject})["message"]
        data = base64.b64decode(msg.get("data", ""))
        ack = json.loads(nc.request(subject, data))
        if "error" in ack:
            raise RuntimeError(f"publish {subject}: {ack['error']}")
        print(f"republished seq {msg['seq']} of {stream} ({subject}) as seq {ack.get('seq')}")
    elif op == "delete-stream":
        nc.js(f"STREAM.DELETE.{args[0]}")
        print(f"deleted stream {args[0]}")
    elif op == "cap-stream":
        info = nc.js(f"STREAM.INFO.{args[0]}")
        config, held = info["config"], info["state"]["messages"]
        config["max_msgs"] = held
        nc.js(f"STREAM.UPDATE.{args[0]}", config)
        print(f"stream {args[0]}: max_msgs {held} (discard {config.get('discard')})")
    else:
        sys.exit(f"unknown operation {op}")


if __name__ == "__main__":
    main()
