#!/usr/bin/env python3
"""The Python client against a real persistd process (its embedded default:
the map "users" of example.v1.User). Run by ctest with PERSISTD set to the
server binary and PYTHONPATH to the generated modules and clients/python."""

import os
import subprocess
import sys
import tempfile
import unittest

import grpc

import persist_client
from example.v1 import user_pb2
from persist.v1 import persist_pb2, persist_pb2_grpc


class PythonClientTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.server = subprocess.Popen(
            [os.environ["PERSISTD"], "--listen=127.0.0.1:0",
             "--data=" + os.path.join(self.dir.name, "data.wal")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        banner = self.server.stdout.readline()  # listening on ..., loading
        while banner and "serving " not in banner:
            banner = self.server.stdout.readline()
        self.assertIn("serving ", banner)
        address = banner.split("serving ")[1].split(",")[0].split(" ")[0]
        self.address = address
        self.client = persist_client.Client(address)
        self.users = self.client.map("users", user_pb2.User)

    def tearDown(self):
        self.client.close()
        self.server.terminate()
        self.assertEqual(self.server.wait(timeout=30), 0)
        self.server.stdout.close()
        self.dir.cleanup()

    def test_set_get_update_delete(self):
        result = self.users.set("ada", user_pb2.User(name="ada", age=36),
                                durability=persist_client.FSYNC)
        self.assertFalse(result.existed)
        entry = self.users.get("ada")
        self.assertEqual(entry.value.age, 36)
        self.assertEqual(entry.etag, result.etag)
        updated = self.users.update("ada", user_pb2.User(age=37), ["age"])
        self.assertEqual(updated.value.name, "ada")
        self.assertEqual(updated.value.age, 37)
        self.assertTrue(self.users.delete("ada"))
        self.assertIsNone(self.users.get("ada"))

    def test_list_pages_through_every_key(self):
        for i in range(150):  # more than one default page of 100
            self.users.set("u%03d" % i, user_pb2.User(name="u", age=i))
        keys = [key for key, _ in self.users.items(prefix="u")]
        self.assertEqual(keys, ["u%03d" % i for i in range(150)])

    def test_results_carry_revisions(self):
        a = self.users.set("rev-a", user_pb2.User(age=1))
        b = self.users.set("rev-b", user_pb2.User(age=2))
        self.assertEqual(b.revision, a.revision + 1)
        self.assertEqual(self.users.get("rev-a").mod_revision, a.revision)
        updated = self.users.update("rev-a", user_pb2.User(age=3), ["age"])
        self.assertEqual(updated.mod_revision, b.revision + 1)
        page = self.users.list(prefix="rev-")
        self.assertEqual(page.revision, b.revision + 1)
        self.assertEqual([entry.mod_revision for _, entry in page.entries],
                         [b.revision + 1, b.revision])

    def test_errors_carry_the_servers_code(self):
        with self.assertRaises(grpc.RpcError) as bad_key:
            self.users.set("bad\nkey", user_pb2.User())
        self.assertEqual(bad_key.exception.code(),
                         grpc.StatusCode.INVALID_ARGUMENT)
        with self.assertRaises(grpc.RpcError) as missing_map:
            self.client.map("nope", user_pb2.User).get("k")
        self.assertEqual(missing_map.exception.code(),
                         grpc.StatusCode.NOT_FOUND)
        first = self.users.set("k", user_pb2.User(age=1))
        self.users.set("k", user_pb2.User(age=2))
        with self.assertRaises(grpc.RpcError) as stale:
            self.users.set("k", user_pb2.User(age=3), etag=first.etag)
        self.assertEqual(stale.exception.code(), grpc.StatusCode.ABORTED)
        with self.assertRaises(TypeError):
            self.users.set("k", "not a User")

    def test_a_value_set_at_the_request_limit_reads_back(self):
        # A Set request of exactly 4 MiB, persistd's default limit: the
        # reply to Get is a little larger (etag, found), which a channel's
        # default 4 MiB receive limit would refuse.
        limit = 4 << 20
        request = persist_pb2.SetRequest(map="users", key="big")
        request.value.Pack(user_pb2.User(name=""))
        base = request.ByteSize()
        name = "n" * (limit - base - 4)  # its length takes three more bytes
        while True:
            request.value.Pack(user_pb2.User(name=name))
            if request.ByteSize() <= limit:
                break
            name = name[:-1]
        with grpc.insecure_channel(self.address) as plain:
            stub = persist_pb2_grpc.PersistStub(plain)
            stub.Set(request)
            # The client reads it back, alone and in a page.
            self.assertEqual(len(self.users.get("big").value.name), len(name))
            self.assertEqual([key for key, _ in self.users.items()], ["big"])
            with self.assertRaises(grpc.RpcError) as refused:
                stub.Get(persist_pb2.GetRequest(map="users", key="big"))
            self.assertEqual(refused.exception.code(),
                             grpc.StatusCode.RESOURCE_EXHAUSTED)

    def test_the_demo_runs_and_takes_help_as_help(self):
        demo = os.path.join(os.path.dirname(__file__), "..", "..",
                            "examples", "python_client_demo.py")
        ran = subprocess.run([sys.executable, demo, self.address],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(ran.returncode, 0, ran.stderr)
        self.assertIn("update grace.age -> 46", ran.stdout)
        helped = subprocess.run([sys.executable, demo, "--help"],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(helped.returncode, 0)
        self.assertIn("usage: python_client_demo.py [HOST:PORT]",
                      helped.stdout)

    def test_stats_and_maps(self):
        self.users.set("a", user_pb2.User(age=1))
        self.client.flush()
        maps = self.client.list_maps()
        self.assertEqual([(m.name, m.type, m.live_keys) for m in maps],
                         [("users", "example.v1.User", 1)])
        self.assertEqual(self.client.stats().wal_records, 1)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
