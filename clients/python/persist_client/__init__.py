"""A typed Python client of persistd (DESIGN.md section 7).

    client = persist_client.Client("127.0.0.1:50051")
    users = client.map("users", user_pb2.User)
    users.set("ada", user_pb2.User(name="ada", age=36),
              durability=persist_client.FSYNC)
    entry = users.get("ada")          # None when the key has no entry
    print(entry.value.age, entry.etag)

    batch = persist_client.Batch()    # all or nothing, over any maps
    batch.set(users, "bob", user_pb2.User(name="bob"), must_not_exist=True)
    batch.delete(users, "ada", etag=entry.etag)
    result = client.write(batch)      # result.results[i]: operation i's

    for event in users.watch(send_initial=True):  # INITIAL..., SYNCED,
        print(event.type, event.key)             # then PUT and DELETE

    with persist_client.CachedMap(users) as cache:  # a local copy
        cache.wait_synced(10)
        print(cache.get("ada"))                    # no call

Errors are grpc.RpcError with the server's code and message
(INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, ABORTED, UNAVAILABLE...).
Needs the generated modules of persist/v1/persist.proto on sys.path.
"""

import collections
import contextlib
import datetime
import os
import threading

import grpc
from google.protobuf import any_pb2

from persist.v1 import persist_pb2
from persist.v1 import persist_pb2_grpc

MEMORY = persist_pb2.MEMORY
ASYNC = persist_pb2.ASYNC
WRITE = persist_pb2.WRITE
FSYNC = persist_pb2.FSYNC
DEFAULT = persist_pb2.DURABILITY_UNSPECIFIED

# mod_revision: the revision of the entry's last change; revision: the
# store's revision the write took (DESIGN.md section 5). expire_time: when
# the value expires (an aware UTC datetime), None if it does not (and
# after an update, whose answer does not say).
Entry = collections.namedtuple(
    "Entry", ["value", "etag", "mod_revision", "expire_time"],
    defaults=(None,))
# epoch: the opening of the store `revision` belongs to (revisions of
# different epochs do not compare).
WriteResult = collections.namedtuple("WriteResult",
                                     ["etag", "existed", "revision", "epoch"])


class DeleteResult(collections.namedtuple(
        "DeleteResult", ["existed", "revision", "epoch"])):
    """What delete did; true when the key had an entry."""

    def __bool__(self):
        return self.existed


# results: one per operation of the batch, in its order: a WriteResult
# (set), DeleteResult (delete) or Entry (update), each with the revision its
# change took (a delete of a missing key: the batch's); revision: the last
# revision the batch took (the store's if it changed nothing).
BatchResult = collections.namedtuple("BatchResult",
                                     ["results", "revision", "epoch"])
# revision: the store's revision when the page was read; every change up to
# it is reflected in the page.
Page = collections.namedtuple("Page",
                              ["entries", "next_page_token", "revision"])
# What backup wrote: its path, bytes, and records (as stats().wal_records
# counts them).
BackupResult = collections.namedtuple("BackupResult",
                                      ["path", "bytes", "records"])


class Client:
    """A connection to persistd. `credentials`: grpc.ssl_channel_credentials
    for TLS; `token`: a bearer token sent with every call."""

    def __init__(self, address, credentials=None, token=None, timeout=10.0):
        # Replies as large as persistd sends: it bounds them, with headroom
        # over its request limit so that every value it took can be read.
        options = [("grpc.max_receive_message_length", -1)]
        if credentials is None:
            self._channel = grpc.insecure_channel(address, options=options)
        else:
            self._channel = grpc.secure_channel(address, credentials,
                                                options=options)
        self._stub = persist_pb2_grpc.PersistStub(self._channel)
        self._metadata = (("authorization", "Bearer " + token),) if token else ()
        self._timeout = timeout

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def map(self, name, message_class):
        """The map `name`, whose values are `message_class` messages."""
        return TypedMap(self, name, message_class)

    def _stream(self, method, request):
        """A server-streaming call with no deadline: it runs until
        cancelled."""
        return getattr(self._stub, method)(request, metadata=self._metadata)

    def _call(self, method, request):
        return getattr(self._stub, method)(
            request, timeout=self._timeout, metadata=self._metadata)

    def write(self, batch, durability=DEFAULT):
        """Applies `batch` atomically (Write): every operation, all visible
        together at consecutive revisions, or none, raising the error of the
        first that failed ("operations[i]: ..."). `durability`: WRITE or
        FSYNC (MEMORY and ASYNC are INVALID_ARGUMENT). A BatchResult."""
        response = self._call("Write", persist_pb2.WriteRequest(
            operations=[operation for _, operation in batch._operations],
            durability=durability))
        epoch = response.header.epoch
        # The changes took consecutive revisions up to the header's: count
        # back from it (a delete of a missing key took none).
        revision = response.header.revision
        results = [None] * len(batch._operations)
        for i in reversed(range(len(results))):
            typed_map, operation = batch._operations[i]
            kind = operation.WhichOneof("operation")
            result = getattr(response.results[i], kind)
            if kind == "set":
                results[i] = WriteResult(result.etag, result.existed,
                                         revision, epoch)
            elif kind == "delete":
                results[i] = DeleteResult(
                    result.existed,
                    revision if result.existed else response.header.revision,
                    epoch)
                if not result.existed:
                    continue
            else:
                results[i] = Entry(typed_map._unpack(result.value),
                                   result.etag, revision)
            revision -= 1
        return BatchResult(results, response.header.revision, epoch)

    def stats(self):
        return self._call("Stats", persist_pb2.StatsRequest())

    def list_maps(self):
        return self._call("ListMaps", persist_pb2.ListMapsRequest()).maps

    def flush(self):
        self._call("Flush", persist_pb2.FlushRequest())

    def shrink(self):
        return self._call("Shrink", persist_pb2.ShrinkRequest())

    def backup(self, path, timeout=None):
        """Copies the store's data file to `path` (Snapshot), taken while
        writes go on: every change made before the call at ASYNC, WRITE or
        FSYNC. Written as `path`.partial, checked whole, fsynced and renamed,
        so `path` is a whole copy or absent; never replaces a file
        (FileExistsError, also while another backup to `path` runs).
        `timeout`: for the whole copy, none by default. A BackupResult; the
        backup opens as any data file does."""
        if os.path.lexists(path):
            raise FileExistsError(
                f"backup: {path} exists; a backup never replaces a file: "
                "remove it, or choose another name")
        partial = path + ".partial"
        try:
            # Never over another's: two backups must not write one file.
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                         0o600)
        except FileExistsError:
            raise FileExistsError(
                f"backup: {partial} exists: another backup to that path is "
                "running, or one was interrupted; remove it once none runs")
        stream = None
        written, total, records = 0, None, 0
        try:
            with os.fdopen(fd, "wb") as out:
                stream = self._stub.Snapshot(
                    persist_pb2.SnapshotRequest(), timeout=timeout,
                    metadata=self._metadata)
                for chunk in stream:
                    if total is None:
                        total, records = chunk.total_bytes, chunk.records
                    if (chunk.offset != written or
                            chunk.total_bytes != total or
                            written + len(chunk.data) > total):
                        raise IOError(
                            f"backup: the server sent {len(chunk.data)} "
                            f"bytes at offset {chunk.offset} after "
                            f"{written} of {total}; take the backup again")
                    out.write(chunk.data)
                    written += len(chunk.data)
                if total is None or written != total:
                    raise IOError(
                        f"backup: the copy ended after {written} of "
                        f"{total or 0} bytes; take the backup again")
                out.flush()
                os.fsync(out.fileno())
            # A hard link fails if `path` appeared meanwhile: no file is
            # ever replaced.
            os.link(partial, path)
        except BaseException:
            if stream is not None:
                stream.cancel()
            # The error that stopped the copy is the one to report: a
            # partial file removed meanwhile must not hide it.
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise
        os.unlink(partial)
        folder = os.open(os.path.dirname(os.path.abspath(path)),
                         os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        return BackupResult(path, total, records)


def _expire_time(message):
    """The expire_time of an Entry, GetResponse or WatchEvent, or None."""
    if not message.HasField("expire_time"):
        return None
    time = message.expire_time
    return (datetime.datetime.fromtimestamp(time.seconds, datetime.timezone.utc)
            + datetime.timedelta(microseconds=time.nanos // 1000))


def _set_ttl(request, ttl):
    """Sets a SetRequest's or UpdateRequest's ttl: seconds (int or float)
    or a datetime.timedelta; None for none."""
    if ttl is None:
        return
    if isinstance(ttl, datetime.timedelta):
        ttl = ttl.total_seconds()
    if ttl <= 0:
        raise ValueError("ttl must be positive, not %r" % (ttl,))
    nanos = int(round(ttl * 1e9))
    request.ttl.seconds = nanos // 1000000000
    request.ttl.nanos = nanos % 1000000000


def _precondition(must_exist, must_not_exist, etag):
    condition = persist_pb2.Precondition()
    if must_exist:
        condition.must_exist = True
    elif must_not_exist:
        condition.must_not_exist = True
    elif etag:
        condition.etag = etag
    return condition


class Batch:
    """Sets, deletes and updates over any maps, for Client.write to apply
    as one. Each key at most once per batch; an update sees the key as it
    was before the batch. The arguments are those of TypedMap's methods,
    with the map first and no durability (the batch has one)."""

    def __init__(self):
        self._operations = []  # (TypedMap, persist_pb2.WriteOperation)

    def __len__(self):
        return len(self._operations)

    def set(self, typed_map, key, value, must_exist=False,
            must_not_exist=False, etag="", ttl=None):
        request = persist_pb2.SetRequest(
            map=typed_map._name, key=key, value=typed_map._pack(value),
            precondition=_precondition(must_exist, must_not_exist, etag))
        _set_ttl(request, ttl)
        self._operations.append(
            (typed_map, persist_pb2.WriteOperation(set=request)))

    def delete(self, typed_map, key, must_exist=False, etag=""):
        self._operations.append((typed_map, persist_pb2.WriteOperation(
            delete=persist_pb2.DeleteRequest(
                map=typed_map._name, key=key,
                precondition=_precondition(must_exist, False, etag)))))

    def update(self, typed_map, key, patch, paths, allow_missing=False,
               etag="", ttl=None):
        request = persist_pb2.UpdateRequest(
            map=typed_map._name, key=key, value=typed_map._pack(patch),
            allow_missing=allow_missing,
            precondition=_precondition(False, False, etag))
        request.update_mask.paths.extend(paths)
        _set_ttl(request, ttl)
        self._operations.append(
            (typed_map, persist_pb2.WriteOperation(update=request)))


class TypedMap:
    """Get, set, delete, update and list one map's typed values."""

    def __init__(self, client, name, message_class):
        self._client = client
        self._name = name
        self._class = message_class

    def _pack(self, value):
        if not isinstance(value, self._class):
            raise TypeError("map %r holds %s, not %s" % (
                self._name, self._class.DESCRIPTOR.full_name,
                type(value).__name__))
        packed = any_pb2.Any()
        packed.Pack(value)
        return packed

    def _unpack(self, packed):
        value = self._class()
        if not packed.Unpack(value):
            raise TypeError("map %r returned %s, not %s" % (
                self._name, packed.type_url, self._class.DESCRIPTOR.full_name))
        return value

    def get(self, key):
        """The key's Entry(value, etag, mod_revision, expire_time), or
        None."""
        response = self._client._call(
            "Get", persist_pb2.GetRequest(map=self._name, key=key))
        if not response.found:
            return None
        return Entry(self._unpack(response.value), response.etag,
                     response.mod_revision, _expire_time(response))

    def get_many(self, keys):
        """For each key, in order, its Entry or None: one call (BatchGet,
        at most the server's page size of keys)."""
        response = self._client._call("BatchGet", persist_pb2.BatchGetRequest(
            gets=[persist_pb2.GetRequest(map=self._name, key=key)
                  for key in keys]))
        return [Entry(self._unpack(r.value), r.etag, r.mod_revision,
                      _expire_time(r))
                if r.found else None for r in response.results]

    def set(self, key, value, durability=DEFAULT, must_exist=False,
            must_not_exist=False, etag="", ttl=None):
        """`ttl`: the value expires after so many seconds (or a
        timedelta); without one it never does (an expiry the key had is
        cleared)."""
        request = persist_pb2.SetRequest(
            map=self._name, key=key, value=self._pack(value),
            durability=durability,
            precondition=_precondition(must_exist, must_not_exist, etag))
        _set_ttl(request, ttl)
        response = self._client._call("Set", request)
        return WriteResult(response.etag, response.existed,
                           response.header.revision, response.header.epoch)

    def delete(self, key, durability=DEFAULT, must_exist=False, etag=""):
        """A DeleteResult, true when the key had an entry."""
        response = self._client._call("Delete", persist_pb2.DeleteRequest(
            map=self._name, key=key, durability=durability,
            precondition=_precondition(must_exist, False, etag)))
        return DeleteResult(response.existed, response.header.revision,
                            response.header.epoch)

    def update(self, key, patch, paths, durability=DEFAULT,
               allow_missing=False, etag="", ttl=None):
        """Replaces the fields named in `paths` with `patch`'s; returns the
        stored Entry. Without a `ttl` the key keeps its expiry."""
        request = persist_pb2.UpdateRequest(
            map=self._name, key=key, value=self._pack(patch),
            durability=durability, allow_missing=allow_missing,
            precondition=_precondition(False, False, etag))
        request.update_mask.paths.extend(paths)
        _set_ttl(request, ttl)
        response = self._client._call("Update", request)
        return Entry(self._unpack(response.value), response.etag,
                     response.header.revision)

    def list(self, prefix="", page_size=0, page_token=""):
        """One Page of (key, Entry) pairs in key order."""
        response = self._client._call("List", persist_pb2.ListRequest(
            map=self._name, prefix=prefix, page_size=page_size,
            page_token=page_token))
        entries = [(e.key, Entry(self._unpack(e.value), e.etag,
                                 e.mod_revision, _expire_time(e)))
                   for e in response.entries]
        return Page(entries, response.next_page_token,
                    response.header.revision)

    def items(self, prefix=""):
        """Every (key, Entry) whose key starts with `prefix`, page by page."""
        token = ""
        while True:
            page = self.list(prefix=prefix, page_token=token)
            yield from page.entries
            token = page.next_page_token
            if not token:
                return

    def watch(self, prefix="", start_revision=0, epoch="",
              send_initial=False):
        """A Watch of the keys under `prefix`: iterate it for WatchEvents."""
        return Watch(self, prefix, start_revision, epoch, send_initial)


# type: "INITIAL" (an entry of the listing that send_initial asks for),
# "SYNCED" (the listing is complete, as of `revision`), "PUT", "DELETE", or
# "PROGRESS" (every change of the watched keys up to `revision` has come:
# a quiet spell, or changes of other keys). entry: the key's Entry for
# INITIAL and PUT; key and entry are None for SYNCED and PROGRESS.
# expired: a DELETE made by the key's expiry, not by a write.
WatchEvent = collections.namedtuple(
    "WatchEvent", ["type", "key", "entry", "revision", "expired"],
    defaults=(False,))


class Watch:
    """One Watch call: an iterator of WatchEvents in revision order.

    The stream ends with grpc.RpcError, never silently: UNAVAILABLE
    (persistd stops), RESOURCE_EXHAUSTED (this watcher read too slowly),
    OUT_OF_RANGE (the changes it needs are no longer kept: list again),
    CANCELLED (cancel()). After any but OUT_OF_RANGE, watching again from
    `revision + 1` in `epoch` misses nothing. CachedMap does all of that.
    """

    def __init__(self, typed_map, prefix, start_revision, epoch,
                 send_initial):
        self._map = typed_map
        self._call = typed_map._client._stream(
            "Watch", persist_pb2.WatchRequest(
                map=typed_map._name, prefix=prefix,
                start_revision=start_revision, epoch=epoch,
                send_initial=send_initial))
        # Every change up to revision (of epoch) has been yielded.
        self.revision = 0
        self.epoch = ""

    def __iter__(self):
        try:
            yield from self._events()
        finally:
            # A loop that stops early ends the call too.
            self._call.cancel()

    def _events(self):
        unpack = self._map._unpack
        for response in self._call:
            header = response.header
            self.epoch = header.epoch
            for e in response.initial:
                yield WatchEvent("INITIAL", e.key,
                                 Entry(unpack(e.value), e.etag,
                                       e.mod_revision, _expire_time(e)),
                                 header.revision)
            if response.initial_done:
                self.revision = header.revision
                yield WatchEvent("SYNCED", None, None, header.revision)
            for e in response.events:
                self.revision = e.revision
                if e.type == persist_pb2.WatchEvent.DELETE:
                    yield WatchEvent("DELETE", e.key, None, e.revision,
                                     e.expired)
                else:
                    yield WatchEvent("PUT", e.key,
                                     Entry(unpack(e.value), e.etag,
                                           e.revision, _expire_time(e)),
                                     e.revision)
            if header.revision > self.revision and not response.initial:
                self.revision = header.revision
                yield WatchEvent("PROGRESS", None, None, header.revision)

    def cancel(self):
        """Ends the stream (from any thread): iterating raises CANCELLED."""
        self._call.cancel()


class CachedMap:
    """A local copy of a map (its keys under `prefix`), kept up to date by
    list+watch on a thread of its own: get() is a dict lookup, no call.

    When the stream ends it watches again from the last revision it got;
    when persistd no longer keeps the changes it needs (OUT_OF_RANGE, and
    after a restart of persistd, a new epoch) it lists again and replaces
    its copy. Other errors are retried after `retry_min` seconds, doubling
    up to `retry_max`. `on_change(event)` runs on the cache's thread once a
    change is in the copy, in revision order; after a listing, for each key
    it changed (PUT, or DELETE for a key gone), with the listing's
    revision. While it runs the cache takes no changes; it must not wait
    for the cache or close it. An exception it raises ends the stream (in
    stats["last_error"]), and the cache watches again. `revision`: every
    change up to it is in the copy and its callbacks ran; wait_for waits
    for that.
    """

    def __init__(self, typed_map, prefix="", on_change=None,
                 retry_min=0.1, retry_max=5.0):
        self._map = typed_map
        self._prefix = prefix
        self._on_change = on_change
        self._retry = (retry_min, retry_max)
        self._lock = threading.Condition()
        self._entries = {}      # key -> Entry
        self.revision = 0       # the copy is the map as of this revision
        self.epoch = ""
        self._synced = False    # a listing is in
        self._stopping = False
        self._watch = None      # the open Watch
        self.stats = {"listings": 0, "resumes": 0, "events": 0,
                      "last_error": None}
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="persist-cache")
        self._thread.start()

    def close(self):
        with self._lock:
            self._stopping = True
            watch = self._watch
            self._lock.notify_all()
        if watch is not None:
            watch.cancel()
        self._thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get(self, key):
        """The key's Entry as of `revision`, or None."""
        with self._lock:
            return self._entries.get(key)

    def items(self):
        """Every (key, Entry), in key order."""
        with self._lock:
            return sorted(self._entries.items())

    def __len__(self):
        with self._lock:
            return len(self._entries)

    def wait_synced(self, timeout):
        """Waits up to `timeout` seconds for the first listing; raises
        TimeoutError, naming the last error, if it does not come."""
        self._wait_until(0, "", timeout)

    def wait_for(self, write, timeout):
        """Waits until the copy shows `write`, what set (a WriteResult),
        delete (a DeleteResult) or update (an Entry) returned:
        read-your-writes from the cache. TimeoutError also when persistd
        restarted since a set or delete (an Entry names no epoch)."""
        if isinstance(write, Entry):
            self._wait_until(write.mod_revision, "", timeout)
        else:
            self._wait_until(write.revision, write.epoch, timeout)

    def _wait_until(self, revision, epoch, timeout):
        def reached():
            return (self._synced and self.revision >= revision and
                    (not epoch or epoch == self.epoch))
        with self._lock:
            if self._lock.wait_for(lambda: self._stopping or reached(),
                                   timeout) and reached():
                return
            error = self.stats["last_error"]
            raise TimeoutError(
                "the cache of map %r is at revision %d of epoch %r%s, not "
                "%d after %ss%s" % (
                    self._map._name, self.revision, self.epoch,
                    "" if self._synced else " (not listed yet)", revision,
                    timeout,
                    "" if error is None else
                    "; its last watch ended: %s" % error))

    def _run(self):
        backoff = self._retry[0]
        while True:
            with self._lock:
                if self._stopping:
                    return
                listing = not self._synced
                if listing:
                    watch = self._map.watch(self._prefix, send_initial=True)
                else:
                    self.stats["resumes"] += 1
                    watch = self._map.watch(self._prefix, self.revision + 1,
                                            self.epoch)
                self._watch = watch
            code = None
            delivered = []  # appended to once the stream delivers
            try:
                self._follow(watch, listing, delivered)
            except grpc.RpcError as error:
                code = error.code()
                with self._lock:
                    self.stats["last_error"] = "%s: %s" % (
                        code.name, error.details())
            except Exception as error:  # a callback's, or a wrong type
                watch.cancel()
                with self._lock:
                    self.stats["last_error"] = "%s: %s" % (
                        type(error).__name__, error)
            if delivered:
                backoff = self._retry[0]
            with self._lock:
                self._watch = None
                if code == grpc.StatusCode.OUT_OF_RANGE:
                    self._synced = False
                if self._stopping:
                    return
                # At once when the server said how: list again, or resume
                # after falling behind (only a stream that delivered can; a
                # value too large to send is RESOURCE_EXHAUSTED too).
                if code == grpc.StatusCode.OUT_OF_RANGE or (
                        code == grpc.StatusCode.RESOURCE_EXHAUSTED and
                        delivered):
                    continue
                self._lock.wait_for(lambda: self._stopping, backoff)
            backoff = min(backoff * 2, self._retry[1])

    def _follow(self, watch, listing, delivered):
        listed = {}
        for event in watch:
            if not delivered:
                delivered.append(True)
            changes = []
            with self._lock:
                if event.type == "INITIAL":
                    listed[event.key] = event.entry
                    continue
                if event.type == "SYNCED":
                    self._replace(listed, event.revision, changes)
                    listed = {}
                    listing = False
                elif event.type == "PUT":
                    self._entries[event.key] = event.entry
                    self.stats["events"] += 1
                    changes.append(event)
                elif event.type == "DELETE":
                    self._entries.pop(event.key, None)
                    self.stats["events"] += 1
                    changes.append(event)
            if listing:
                continue  # the old copy stays until the listing is in
            if self._on_change is not None:
                for change in changes:
                    self._on_change(change)
            # Only now, so that a waiter also sees what the callbacks did.
            with self._lock:
                self.revision = event.revision
                self.epoch = watch.epoch
                self._synced = True
                self._lock.notify_all()

    def _replace(self, listed, revision, changes):
        for key, entry in listed.items():
            old = self._entries.get(key)
            if old is None or old.etag != entry.etag:
                changes.append(WatchEvent("PUT", key, entry, revision))
        for key in self._entries.keys() - listed.keys():
            changes.append(WatchEvent("DELETE", key, None, revision))
        self._entries = listed
        self.stats["listings"] += 1
