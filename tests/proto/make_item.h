// The test messages most tests write: an Item with a name and a count.
#ifndef PERSIST_TESTS_PROTO_MAKE_ITEM_H_
#define PERSIST_TESTS_PROTO_MAKE_ITEM_H_

#include <cstdint>
#include <string>

#include "persist/test/v1/engine.pb.h"

namespace persist::testing {

inline persist::test::v1::Item MakeItem(const std::string& name,
                                        int64_t count = 0) {
  persist::test::v1::Item item;
  item.set_name(name);
  item.set_count(count);
  return item;
}

}  // namespace persist::testing

#endif  // PERSIST_TESTS_PROTO_MAKE_ITEM_H_
