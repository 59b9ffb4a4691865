#!/usr/bin/env python3
"""Calls a running persistd with the typed Python client.

    export PYTHONPATH=build/release/clients/python/generated:clients/python
    /usr/bin/python3 examples/python_client_demo.py [HOST:PORT]

HOST:PORT is persistd's address (default 127.0.0.1:50051, where
scripts/run.sh serves).
"""

import sys

import persist_client
from example.v1 import user_pb2


USAGE = """usage: python_client_demo.py [HOST:PORT]
Writes, updates and lists example.v1.User records in the map "users" of
the persistd at HOST:PORT (default 127.0.0.1:50051).
"""


def main():
    arg = sys.argv[1] if len(sys.argv) > 1 else ""
    if arg in ("--help", "-h"):
        print(USAGE, end="")
        return 0
    if len(sys.argv) > 2 or arg.startswith("-"):
        print(USAGE, end="", file=sys.stderr)
        return 64  # EX_USAGE
    address = arg or "127.0.0.1:50051"
    with persist_client.Client(address) as client:
        users = client.map("users", user_pb2.User)
        result = users.set("grace", user_pb2.User(name="grace", age=45),
                           durability=persist_client.FSYNC)
        print("set grace (FSYNC), etag", result.etag)
        entry = users.update("grace", user_pb2.User(age=46), ["age"])
        print("update grace.age ->", entry.value.age)
        for key, entry in users.items():
            print(" ", key, entry.value.name, entry.value.age)
    return 0


if __name__ == "__main__":
    sys.exit(main())
