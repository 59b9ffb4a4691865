#!/usr/bin/env python3
"""The Python client against a real persistd process (its embedded default:
the map "users" of example.v1.User). Run by ctest with PERSISTD set to the
server binary and PYTHONPATH to the generated modules and clients/python."""

import datetime
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
        self.address = self.start_persistd("127.0.0.1:0")
        self.client = persist_client.Client(self.address)
        self.users = self.client.map("users", user_pb2.User)

    def start_persistd(self, listen):
        """Starts persistd on the test's data file; returns its address."""
        self.server = subprocess.Popen(
            [os.environ["PERSISTD"], "--listen=" + listen,
             "--data=" + os.path.join(self.dir.name, "data.wal")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        banner = self.server.stdout.readline()  # listening on ..., loading
        while banner and "serving " not in banner:
            banner = self.server.stdout.readline()
        self.assertIn("serving ", banner)
        return banner.split("serving ")[1].split(",")[0].split(" ")[0]

    def stop_persistd(self):
        self.server.terminate()
        self.assertEqual(self.server.wait(timeout=30), 0)
        self.server.stdout.close()

    def tearDown(self):
        self.client.close()
        self.stop_persistd()
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
        deleted = self.users.delete("ada")
        self.assertTrue(deleted)
        self.assertEqual(deleted.revision, updated.mod_revision + 1)
        self.assertFalse(self.users.delete("ada"))
        self.assertIsNone(self.users.get("ada"))

    def test_get_many_reads_many_keys_in_one_call(self):
        ada = self.users.set("ada", user_pb2.User(name="Ada", age=36))
        self.users.set("bob", user_pb2.User(name="Bob", age=41))
        got = self.users.get_many(["bob", "nobody", "ada"])
        self.assertEqual(got[0].value.age, 41)
        self.assertIsNone(got[1])
        self.assertEqual(got[2].etag, ada.etag)

    def test_a_batch_applies_every_operation_at_consecutive_revisions(self):
        bob = self.users.set("bob", user_pb2.User(name="Bob", age=41))
        self.users.set("cy", user_pb2.User(name="Cy", age=7))
        base = self.users.set("dee", user_pb2.User(name="Dee")).revision
        batch = persist_client.Batch()
        batch.set(self.users, "ada", user_pb2.User(name="Ada", age=36),
                  must_not_exist=True)
        batch.update(self.users, "cy", user_pb2.User(name="x", age=8), ["age"])
        batch.delete(self.users, "bob", etag=bob.etag)
        batch.delete(self.users, "nobody")  # takes no revision
        batch.update(self.users, "eve", user_pb2.User(age=5), ["age"],
                     allow_missing=True)
        self.assertEqual(len(batch), 5)
        result = self.client.write(batch, durability=persist_client.FSYNC)
        self.assertEqual((result.revision, result.epoch),
                         (base + 4, bob.epoch))
        ada, cy, gone, nobody, eve = result.results
        self.assertIsInstance(ada, persist_client.WriteResult)
        self.assertEqual((ada.existed, ada.revision, ada.epoch),
                         (False, base + 1, bob.epoch))
        self.assertIsInstance(cy, persist_client.Entry)
        self.assertEqual((cy.value.name, cy.value.age, cy.mod_revision),
                         ("Cy", 8, base + 2))
        self.assertIsInstance(gone, persist_client.DeleteResult)
        self.assertEqual((bool(gone), gone.revision), (True, base + 3))
        self.assertEqual((bool(nobody), nobody.revision), (False, base + 4))
        self.assertEqual((eve.value.name, eve.value.age, eve.mod_revision),
                         ("", 5, base + 4))
        # As a get reads them afterwards.
        got = self.users.get_many(["ada", "bob", "cy", "eve"])
        self.assertEqual((got[0].value.age, got[0].etag, got[0].mod_revision),
                         (36, ada.etag, ada.revision))
        self.assertIsNone(got[1])
        self.assertEqual((got[2].value.age, got[2].etag, got[2].mod_revision),
                         (8, cy.etag, cy.mod_revision))
        self.assertEqual((got[3].etag, got[3].mod_revision),
                         (eve.etag, eve.mod_revision))
        with self.assertRaises(TypeError):
            batch.set(self.users, "k", "not a User")
        self.assertEqual(len(batch), 5)

    def test_a_failed_batch_changes_nothing(self):
        ada = self.users.set("ada", user_pb2.User(name="Ada", age=36))
        batch = persist_client.Batch()
        batch.set(self.users, "bob", user_pb2.User(name="Bob"))
        batch.set(self.users, "ada", user_pb2.User(name="Ada", age=99),
                  must_not_exist=True)
        with self.assertRaises(grpc.RpcError) as failed:
            self.client.write(batch)
        self.assertEqual(failed.exception.code(),
                         grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("operations[1]", failed.exception.details())

        missing = persist_client.Batch()
        missing.set(self.users, "bob", user_pb2.User(name="Bob"))
        missing.update(self.users, "cy", user_pb2.User(age=1), ["age"])
        with self.assertRaises(grpc.RpcError) as not_found:
            self.client.write(missing)
        self.assertEqual(not_found.exception.code(),
                         grpc.StatusCode.NOT_FOUND)
        self.assertIn("operations[1]", not_found.exception.details())

        for durability in (persist_client.ASYNC, persist_client.MEMORY):
            fine = persist_client.Batch()
            fine.set(self.users, "bob", user_pb2.User(name="Bob"))
            with self.assertRaises(grpc.RpcError) as refused:
                self.client.write(fine, durability=durability)
            self.assertEqual(refused.exception.code(),
                             grpc.StatusCode.INVALID_ARGUMENT)

        self.assertEqual(self.users.get("ada").etag, ada.etag)
        self.assertEqual(self.users.get_many(["bob", "cy"]), [None, None])
        # No revision was taken either.
        self.assertEqual(self.users.set("z", user_pb2.User()).revision,
                         ada.revision + 1)

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

    def test_a_ttl_expires_the_value_with_an_expired_delete(self):
        watch = self.users.watch()
        events = iter(watch)
        before = datetime.datetime.now(datetime.timezone.utc)
        self.users.set("brief", user_pb2.User(name="b"), ttl=0.2)
        self.users.set("kept", user_pb2.User(name="k"),
                       ttl=datetime.timedelta(hours=1))
        kept = self.users.get("kept")
        self.assertGreaterEqual(kept.expire_time,
                                before + datetime.timedelta(hours=1))
        self.users.update("kept", user_pb2.User(age=3), ["age"])
        self.assertEqual(self.users.get("kept").expire_time, kept.expire_time)
        with self.assertRaises(ValueError):
            self.users.set("bad", user_pb2.User(name="x"), ttl=-1)
        expired = None
        for event in events:  # ends with the expiry, or the stream's error
            if event.type == "DELETE" and event.key == "brief":
                expired = event
                break
        watch.cancel()
        self.assertTrue(expired.expired)
        self.assertIsNone(self.users.get("brief"))
        self.assertIsNone(self.users.get("bad"))
        self.assertEqual(self.client.stats().expirations, 1)

    def test_watch_lists_then_streams_events(self):
        a = self.users.set("a", user_pb2.User(name="a", age=1))
        watch = self.users.watch(send_initial=True)
        events = iter(watch)
        first = next(events)
        self.assertEqual((first.type, first.key, first.entry.value.age),
                         ("INITIAL", "a", 1))
        synced = next(events)
        self.assertEqual((synced.type, synced.revision), ("SYNCED", a.revision))
        self.assertEqual(watch.epoch, a.epoch)
        b = self.users.set("b", user_pb2.User(name="b", age=2))
        gone = self.users.delete("a")
        put = next(events)
        while put.type == "PROGRESS":  # a quiet spell on a slow machine
            put = next(events)
        self.assertEqual((put.type, put.key, put.revision, put.entry.etag),
                         ("PUT", "b", b.revision, b.etag))
        deleted = next(events)
        while deleted.type == "PROGRESS":
            deleted = next(events)
        self.assertEqual((deleted.type, deleted.key, deleted.revision),
                         ("DELETE", "a", gone.revision))
        watch.cancel()
        with self.assertRaises(grpc.RpcError) as ended:
            for _ in events:
                pass
        self.assertEqual(ended.exception.code(), grpc.StatusCode.CANCELLED)

        # Resuming from a revision needs its epoch; another epoch's is
        # OUT_OF_RANGE: list again.
        with self.assertRaises(grpc.RpcError) as foreign:
            next(iter(self.users.watch(start_revision=1,
                                       epoch="0123456789abcdef")))
        self.assertEqual(foreign.exception.code(),
                         grpc.StatusCode.OUT_OF_RANGE)

    def test_a_cached_map_follows_writes_and_lists_again_after_a_restart(self):
        self.users.set("ada", user_pb2.User(name="Ada", age=36),
                       durability=persist_client.WRITE)
        changes = []
        cache = persist_client.CachedMap(
            self.users, on_change=lambda event: changes.append(
                (event.type, event.key)))
        try:
            cache.wait_synced(30)
            self.assertEqual(cache.get("ada").value.age, 36)
            self.assertIsNone(cache.get("bob"))
            bob = self.users.set("bob", user_pb2.User(name="Bob"))
            cache.wait_for(bob, 30)
            self.assertEqual(cache.get("bob").etag, bob.etag)
            updated = self.users.update("bob", user_pb2.User(age=41), ["age"])
            cache.wait_for(updated, 30)
            self.assertEqual(cache.get("bob").value.age, 41)
            gone = self.users.delete("ada")
            cache.wait_for(gone, 30)
            self.assertIsNone(cache.get("ada"))
            self.assertEqual(changes, [("PUT", "ada"), ("PUT", "bob"),
                                       ("PUT", "bob"), ("DELETE", "ada")])

            # persistd restarts on the same address, in a new epoch.
            self.stop_persistd()
            self.start_persistd(self.address)
            # A client of its own: the cache's channel may be waiting out
            # its reconnection backoff, answering UNAVAILABLE until then.
            with persist_client.Client(self.address) as writer:
                carol = writer.map("users", user_pb2.User).set(
                    "carol", user_pb2.User(name="Carol"))
            self.assertNotEqual(carol.epoch, gone.epoch)
            cache.wait_for(carol, 60)
            self.assertEqual([key for key, _ in cache.items()],
                             ["bob", "carol"])
            self.assertEqual(len(cache), 2)
            self.assertEqual(cache.stats["listings"], 2)
            self.assertEqual(changes[-1], ("PUT", "carol"))
        finally:
            cache.close()

    def test_a_cached_map_of_a_missing_map_is_never_synced(self):
        with persist_client.CachedMap(
                self.client.map("nope", user_pb2.User),
                retry_max=0.2) as cache:
            with self.assertRaises(TimeoutError) as late:
                cache.wait_synced(0.3)
            self.assertIn("not listed yet", str(late.exception))
            self.assertEqual(len(cache), 0)

    def test_stats_and_maps(self):
        self.users.set("a", user_pb2.User(age=1))
        self.client.flush()
        maps = self.client.list_maps()
        self.assertEqual([(m.name, m.type, m.live_keys) for m in maps],
                         [("users", "example.v1.User", 1)])
        self.assertEqual(self.client.stats().wal_records, 1)

    def test_backup_copies_the_data_file_and_never_replaces_one(self):
        self.users.set("a", user_pb2.User(age=1),
                       durability=persist_client.ASYNC)
        self.users.set("b", user_pb2.User(age=2))
        path = os.path.join(self.dir.name, "backup.wal")
        result = self.client.backup(path)
        self.assertEqual(result.path, path)
        self.assertEqual(result.records, 2)  # the ASYNC set was flushed
        self.assertFalse(os.path.exists(path + ".partial"))
        with open(path, "rb") as f:
            copy = f.read()
        self.assertEqual(len(copy), result.bytes)
        self.users.set("c", user_pb2.User(age=3))
        with open(os.path.join(self.dir.name, "data.wal"), "rb") as f:
            data = f.read()
        # The WAL only grew since: the copy is its beginning.
        self.assertGreater(len(data), len(copy))
        self.assertEqual(data[:len(copy)], copy)
        with self.assertRaisesRegex(FileExistsError, "never replaces"):
            self.client.backup(path)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), copy)

    def test_a_failed_backup_reports_its_error_and_leaves_no_file(self):
        self.users.set("a", user_pb2.User(age=1))
        path = os.path.join(self.dir.name, "late.wal")
        # No copy ends within a microsecond: the deadline stops it.
        with self.assertRaises(grpc.RpcError) as failed:
            self.client.backup(path, timeout=1e-6)
        self.assertEqual(failed.exception.code(),
                         grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertFalse(os.path.lexists(path))
        self.assertFalse(os.path.lexists(path + ".partial"))


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
