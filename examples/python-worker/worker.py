#!/usr/bin/env python3
"""A Switchboard inference worker in plain Python (standard library only).

It connects to Switchboard's TCP event bus bridge, registers as the worker of a model, and answers the
chat calls the gateway routes to that model, streaming its reply back piece by piece. Replace
`generate()` with a call to your own model server (llama.cpp, vLLM, a GPU box on your desk).

    python3 worker.py --host 127.0.0.1 --port 7000 --token "$SWITCHBOARD_WORKER_TOKEN" --model local-echo

Configure the model in Switchboard as a deployment with `provider: bridge`, `model_name: local-echo`.
Wire format of the bridge: each frame is a 4-byte big-endian length and a UTF-8 JSON object.
"""
import argparse
import json
import socket
import struct
import sys
import threading
import time


class Bridge:
    def __init__(self, host, port, token):
        self.sock = socket.create_connection((host, port))
        self.token = token
        self.lock = threading.Lock()

    def send(self, frame):
        frame.setdefault("headers", {})["authorization"] = "Bearer " + self.token
        data = json.dumps(frame).encode("utf-8")
        with self.lock:
            self.sock.sendall(struct.pack(">I", len(data)) + data)

    def receive(self):
        header = self._exactly(4)
        if header is None:
            return None
        (length,) = struct.unpack(">I", header)
        body = self._exactly(length)
        return None if body is None else json.loads(body.decode("utf-8"))

    def _exactly(self, n):
        chunks = b""
        while len(chunks) < n:
            chunk = self.sock.recv(n - len(chunks))
            if not chunk:
                return None
            chunks += chunk
        return chunks


def generate(messages):
    """The 'model': answers the last user message with its words in reverse, one word per token."""
    last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    words = last.split() or ["(silence)"]
    return ["Worker says:"] + [" " + w for w in reversed(words)]


def serve(bridge, call, cancelled):
    call_id, reply_to = call["call_id"], call["reply_to"]
    tokens = generate(call["messages"])
    for token in tokens:
        if call_id in cancelled:
            return
        bridge.send({"type": "send", "address": reply_to, "body": {"call_id": call_id, "delta": token}})
    prompt = sum(len(m["content"].split()) for m in call["messages"])
    bridge.send({"type": "send", "address": reply_to, "body": {
        "call_id": call_id, "done": True, "finish_reason": "stop",
        "usage": {"prompt_tokens": prompt, "completion_tokens": len(tokens)}}})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7000)
    parser.add_argument("--token", required=True)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()

    bridge = Bridge(args.host, args.port, args.token)
    address = "switchboard.worker." + args.model
    bridge.send({"type": "register", "address": address})
    bridge.send({"type": "ping"})
    cancelled = set()

    def keepalive():
        while True:
            time.sleep(20)
            bridge.send({"type": "ping"})

    threading.Thread(target=keepalive, daemon=True).start()
    print("worker for %s connected to %s:%d" % (args.model, args.host, args.port), flush=True)
    while True:
        frame = bridge.receive()
        if frame is None:
            print("bridge closed the connection", flush=True)
            return 1
        kind = frame.get("type")
        if kind == "err":
            print("refused by the gateway: %s" % frame.get("message"), flush=True)
            return 3
        if kind == "pong":
            print("ready", flush=True)
            continue
        if kind != "message":
            continue
        body = frame.get("body") or {}
        if body.get("type") == "cancel":
            cancelled.add(body.get("call_id"))
            continue
        if frame.get("replyAddress"):
            bridge.send({"type": "send", "address": frame["replyAddress"], "body": {"accepted": True}})
        threading.Thread(target=serve, args=(bridge, body, cancelled), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
