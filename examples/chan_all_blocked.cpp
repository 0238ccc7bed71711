// chan_all_blocked: every thread is blocked on a channel. The "parser" waits for a request on
// `requests`; the "responder" waits on `replies` for what the parser would send after its
// request. Main was meant to send the first request but forgot, and joins both.
//
// HANGS, every run, within a few milliseconds. Expected finding: certain deadlock: "parser"
// receiving from `requests`, "responder" receiving from `replies`, main in join; nobody left to
// send on either channel.
#include <ravel/chan.hpp>

#include <pthread.h>

#include <cstdio>
#include <string>
#include <thread>

int main()
{
    ravel::chan<std::string> requests(0, "requests");
    ravel::chan<std::string> replies(1, "replies");
    std::thread parser([&] {
        pthread_setname_np(pthread_self(), "parser");
        while (std::optional<std::string> req = requests.recv())
            replies.send("parsed " + *req);
    });
    std::thread responder([&] {
        pthread_setname_np(pthread_self(), "responder");
        while (std::optional<std::string> rep = replies.recv())
            std::printf("%s\n", rep->c_str());
    });
    // Bug: requests.send("GET /") was never written, and nobody closes the channels.
    parser.join();
    responder.join();
    return 0;
}
