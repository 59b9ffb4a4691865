// LMDB as a row of the seed scenario: one environment, a write transaction
// per write (LMDB allows one writer at a time), a read-only transaction per
// read. Without `sync` it runs with MDB_NOSYNC: commits reach the OS but
// are not flushed, as go-persist's unsynced modes.
#include <lmdb.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/kv_rows.h"

namespace persist::bench {
namespace {

absl::Status FromLmdb(int rc, absl::string_view what) {
  if (rc == MDB_SUCCESS) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("lmdb ", what, ": ", mdb_strerror(rc)));
}

class LmdbRow final : public Row {
 public:
  LmdbRow(MDB_env* env, MDB_dbi dbi, std::string dir,
          const ScenarioValues& values)
      : env_(env), dbi_(dbi), dir_(std::move(dir)), values_(values) {}
  ~LmdbRow() override { mdb_env_close(env_); }

  absl::Status Put(absl::string_view key, int64_t i, bool updated) override {
    std::string bytes = values_.Serialize(i, updated);
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env_, nullptr, 0, &txn); rc != MDB_SUCCESS) {
      return FromLmdb(rc, "begin");
    }
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v{bytes.size(), bytes.data()};
    if (int rc = mdb_put(txn, dbi_, &k, &v, 0); rc != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      return FromLmdb(rc, "put");
    }
    return FromLmdb(mdb_txn_commit(txn), "commit");
  }
  absl::Status Get(absl::string_view key, bool* found) override {
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
        rc != MDB_SUCCESS) {
      return FromLmdb(rc, "begin read");
    }
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v;
    const int rc = mdb_get(txn, dbi_, &k, &v);
    *found = rc == MDB_SUCCESS &&
             values_.Parse(absl::string_view(
                 static_cast<const char*>(v.mv_data), v.mv_size));
    mdb_txn_abort(txn);
    return rc == MDB_NOTFOUND ? absl::OkStatus() : FromLmdb(rc, "get");
  }
  absl::Status Finish() override {
    return FromLmdb(mdb_env_sync(env_, 1), "sync");
  }
  uint64_t FileBytes() override { return DirectoryBytes(dir_); }

 private:
  MDB_env* const env_;
  const MDB_dbi dbi_;
  const std::string dir_;
  const ScenarioValues& values_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Row>> MakeLmdbRow(const std::string& dir,
                                                 bool sync,
                                                 const ScenarioValues& values) {
  const std::string path = absl::StrCat(dir, "/lmdb");
  if (::mkdir(path.c_str(), 0755) != 0) {
    return absl::InternalError(absl::StrCat("mkdir ", path));
  }
  MDB_env* env = nullptr;
  if (int rc = mdb_env_create(&env); rc != MDB_SUCCESS) {
    return FromLmdb(rc, "create");
  }
  mdb_env_set_mapsize(env, size_t{8} << 30);
  mdb_env_set_maxreaders(env, 512);  // one slot per reading thread
  const unsigned flags = sync ? 0 : MDB_NOSYNC | MDB_NOMETASYNC;
  if (int rc = mdb_env_open(env, path.c_str(), flags, 0644);
      rc != MDB_SUCCESS) {
    mdb_env_close(env);
    return FromLmdb(rc, "open");
  }
  MDB_txn* txn = nullptr;
  MDB_dbi dbi;
  if (int rc = mdb_txn_begin(env, nullptr, 0, &txn); rc != MDB_SUCCESS) {
    mdb_env_close(env);
    return FromLmdb(rc, "begin");
  }
  if (int rc = mdb_dbi_open(txn, nullptr, 0, &dbi); rc != MDB_SUCCESS) {
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return FromLmdb(rc, "dbi");
  }
  if (int rc = mdb_txn_commit(txn); rc != MDB_SUCCESS) {
    mdb_env_close(env);
    return FromLmdb(rc, "commit");
  }
  return std::unique_ptr<Row>(new LmdbRow(env, dbi, path, values));
}

}  // namespace persist::bench
