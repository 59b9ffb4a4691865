// A tour of persist's JSON codec: encodes an example.v1.User the way a WAL
// value line holds it, reads it back, and shows the errors bad input gets.
// The README's run command starts this until persistd exists.
#include <iostream>
#include <string>

#include "example/v1/user.pb.h"
#include "json/json_codec.h"

int main() {
  persist::JsonCodec codec;

  example::v1::User user;
  user.set_name("Alice");
  user.set_email("alice@example.com");
  user.set_age(30);
  user.add_tags("admin");
  user.add_tags("line one\nline two");
  user.mutable_created_at()->set_seconds(1700000000);
  (*user.mutable_labels())["team"] = "storage";

  absl::StatusOr<std::string> json = codec.Encode(user);
  if (!json.ok()) {
    std::cerr << "encode failed: " << json.status() << "\n";
    return 1;
  }
  std::cout << "A WAL record for this user:\n\n"
            << "S users:alice\n"
            << *json << "\n\n";

  example::v1::User back;
  if (absl::Status s = codec.Decode(*json, &back); !s.ok()) {
    std::cerr << "decode failed: " << s << "\n";
    return 1;
  }
  std::cout << "Read back, it equals the original: "
            << (back.SerializeAsString() == user.SerializeAsString() ? "yes"
                                                                     : "NO")
            << "\n\nWhat malformed values get:\n";
  for (const char* bad :
       {R"({"name":"Bob","age":"thirty"})", R"({"name":"Bob","agee":30})",
        R"({"createdAt":"2023-13-01T00:00:00Z"})", R"({"name":"Bob")"}) {
    absl::Status s = codec.Decode(bad, &back);
    std::cout << "  " << bad << "\n    -> " << s << "\n";
  }
  return 0;
}
