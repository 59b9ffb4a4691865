#!/usr/bin/env python3
"""Calls a running persistd with the typed Python client.

    export PYTHONPATH=build/release/clients/python/generated:clients/python
    /usr/bin/python3 examples/python_client_demo.py [host:port]
"""

import sys

import persist_client
from example.v1 import user_pb2


def main():
    address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    with persist_client.Client(address) as client:
        users = client.map("users", user_pb2.User)
        result = users.set("grace", user_pb2.User(name="grace", age=45),
                           durability=persist_client.FSYNC)
        print("set grace (FSYNC), etag", result.etag)
        entry = users.update("grace", user_pb2.User(age=46), ["age"])
        print("update grace.age ->", entry.value.age)
        for key, entry in users.items():
            print(" ", key, entry.value.name, entry.value.age)


if __name__ == "__main__":
    main()
