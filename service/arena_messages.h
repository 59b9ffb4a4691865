// Request and response messages of unary calls on a protobuf Arena.
//
// Without an allocator, gRPC's callback API builds each call's messages on
// the heap, one allocation per string, submessage and repeated element,
// freed one by one when the call ends: a Write of 16 records costs about a
// hundred of them, and the allocator was 20% of persistd's CPU time under
// batches (bench/README.md). Here each call gets one holder with an arena
// whose first block is inside it: messages, repeated fields and string
// objects come from the arena and go at once. (The contents of strings
// longer than 15 bytes still come from the heap, with protobuf 3.21, and
// each thread that fills a message takes blocks of its own: the thread that
// parsed the request owns the first one.)
//
// Handlers may keep nothing that points into a request or response past
// the end of their call (they copy what they keep, as they must anyway).
#ifndef PERSIST_SERVICE_ARENA_MESSAGES_H_
#define PERSIST_SERVICE_ARENA_MESSAGES_H_

#include <cstddef>

#include "google/protobuf/arena.h"
#include "grpcpp/support/message_allocator.h"

namespace persist::service {

template <typename Request, typename Response>
class ArenaMessageAllocator final
    : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override {
    return new Holder();
  }

 private:
  // Enough for a batch of 16 small records and its answer; larger calls
  // take further blocks from the heap.
  static constexpr size_t kFirstBlockBytes = 8 << 10;

  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options(first_block_)) {
      this->set_request(
          google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(
          google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions Options(char* first_block) {
      google::protobuf::ArenaOptions options;
      options.initial_block = first_block;
      options.initial_block_size = kFirstBlockBytes;
      // The blocks of other threads (a response filled where its write
      // became durable): one for a typical answer.
      options.start_block_size = 2 << 10;
      return options;
    }
    alignas(8) char first_block_[kFirstBlockBytes];
    google::protobuf::Arena arena_;  // after its first block
  };
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_ARENA_MESSAGES_H_
