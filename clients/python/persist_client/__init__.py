"""A typed Python client of persistd (DESIGN.md section 7).

    client = persist_client.Client("127.0.0.1:50051")
    users = client.map("users", user_pb2.User)
    users.set("ada", user_pb2.User(name="ada", age=36),
              durability=persist_client.FSYNC)
    entry = users.get("ada")          # None when the key has no entry
    print(entry.value.age, entry.etag)

Errors are grpc.RpcError with the server's code and message
(INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, ABORTED, UNAVAILABLE...).
Needs the generated modules of persist/v1/persist.proto on sys.path.
"""

import collections

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
# store's revision the write took (DESIGN.md section 5).
Entry = collections.namedtuple("Entry", ["value", "etag", "mod_revision"])
WriteResult = collections.namedtuple("WriteResult",
                                     ["etag", "existed", "revision"])
# revision: the store's revision when the page was read; every change up to
# it is reflected in the page.
Page = collections.namedtuple("Page",
                              ["entries", "next_page_token", "revision"])


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

    def _call(self, method, request):
        return getattr(self._stub, method)(
            request, timeout=self._timeout, metadata=self._metadata)

    def stats(self):
        return self._call("Stats", persist_pb2.StatsRequest())

    def list_maps(self):
        return self._call("ListMaps", persist_pb2.ListMapsRequest()).maps

    def flush(self):
        self._call("Flush", persist_pb2.FlushRequest())

    def shrink(self):
        return self._call("Shrink", persist_pb2.ShrinkRequest())


def _precondition(must_exist, must_not_exist, etag):
    condition = persist_pb2.Precondition()
    if must_exist:
        condition.must_exist = True
    elif must_not_exist:
        condition.must_not_exist = True
    elif etag:
        condition.etag = etag
    return condition


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
        """The key's Entry(value, etag, mod_revision), or None."""
        response = self._client._call(
            "Get", persist_pb2.GetRequest(map=self._name, key=key))
        if not response.found:
            return None
        return Entry(self._unpack(response.value), response.etag,
                     response.mod_revision)

    def set(self, key, value, durability=DEFAULT, must_exist=False,
            must_not_exist=False, etag=""):
        response = self._client._call("Set", persist_pb2.SetRequest(
            map=self._name, key=key, value=self._pack(value),
            durability=durability,
            precondition=_precondition(must_exist, must_not_exist, etag)))
        return WriteResult(response.etag, response.existed,
                           response.header.revision)

    def delete(self, key, durability=DEFAULT, must_exist=False, etag=""):
        """Whether the key had an entry."""
        response = self._client._call("Delete", persist_pb2.DeleteRequest(
            map=self._name, key=key, durability=durability,
            precondition=_precondition(must_exist, False, etag)))
        return response.existed

    def update(self, key, patch, paths, durability=DEFAULT,
               allow_missing=False, etag=""):
        """Replaces the fields named in `paths` with `patch`'s; returns the
        stored Entry."""
        request = persist_pb2.UpdateRequest(
            map=self._name, key=key, value=self._pack(patch),
            durability=durability, allow_missing=allow_missing,
            precondition=_precondition(False, False, etag))
        request.update_mask.paths.extend(paths)
        response = self._client._call("Update", request)
        return Entry(self._unpack(response.value), response.etag,
                     response.header.revision)

    def list(self, prefix="", page_size=0, page_token=""):
        """One Page of (key, Entry) pairs in key order."""
        response = self._client._call("List", persist_pb2.ListRequest(
            map=self._name, prefix=prefix, page_size=page_size,
            page_token=page_token))
        entries = [(e.key, Entry(self._unpack(e.value), e.etag,
                                 e.mod_revision))
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
