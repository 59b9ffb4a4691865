#include "storage/listing_at_revision.h"

#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "storage/changes.h"

namespace persist {
namespace {

// How often a listing starts over when the history dropped the changes it
// needed, before it gives up.
constexpr int kAttempts = 4;

using Entries =
    std::map<std::string, Entry<google::protobuf::Message>, std::less<>>;

// Sets each key that changed in (from - 1, to] to its last change up to
// `to`. Error statuses are those of ReadChanges.
absl::Status ApplyChanges(const Store& store, const ChangeFilter& filter,
                          uint64_t from, uint64_t to, Entries& entries) {
  while (from <= to) {
    absl::StatusOr<ChangeRead> read =
        store.ReadChanges(from, filter, kServerMaxChanges);
    if (!read.ok()) return read.status();
    for (Change& change : read->changes) {
      if (change.revision > to) return absl::OkStatus();
      if (change.value == nullptr) {
        entries.erase(change.key);
      } else {
        entries[change.key] = {std::move(change.value),
                               Etag{store.Epoch(), change.revision},
                               change.expires};
      }
    }
    if (read->next <= from) {  // kept revisions are contiguous up to `to`
      return absl::InternalError(
          absl::StrCat("the store's history has no change at revision ", from,
                       " though its revision is ", to, "; please report this"));
    }
    from = read->next;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ListingAtRevision> ListAtRevision(const Store& store,
                                                 const DynamicMap& map,
                                                 absl::string_view prefix) {
  const ChangeFilter filter{map.name(), std::string(prefix)};
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const uint64_t before = store.Revision();
    Entries entries;
    absl::Status scanned =
        map.Scan(prefix, "",
                 [&entries](absl::string_view key,
                            const Entry<google::protobuf::Message>& entry) {
                   entries.emplace(std::string(key), entry);
                   return true;
                 });
    if (!scanned.ok()) return scanned;
    const uint64_t after = store.Revision();
    absl::Status applied =
        ApplyChanges(store, filter, before + 1, after, entries);
    if (absl::IsOutOfRange(applied)) continue;  // dropped meanwhile
    if (!applied.ok()) return applied;
    ListingAtRevision listing;
    listing.revision = after;
    listing.entries.reserve(entries.size());
    // Entries expired by now read as absent, as Get shows them, however
    // they were found (their expiries come later, as changes of their own).
    const absl::Time now = store.Now();
    for (auto& [key, entry] : entries) {
      if (entry.expires <= now) continue;
      listing.entries.push_back({key, std::move(entry)});
    }
    return listing;
  }
  return absl::AbortedError(absl::StrCat(
      "map \"", map.name(), "\" changed faster than it could be listed (",
      kAttempts,
      " tries; the store's history dropped the changes made during each); "
      "retry, or keep a larger history"));
}

}  // namespace persist
