// Progress of a long command on stderr. On a terminal: one line redrawn in
// place (a bar when the fraction done is known) and cleared at the end. When
// stderr is a file or a pipe (a logged run): a plain line
// `fcnrt: progress: TASK: STATUS (N s)` every 10 seconds while the command
// runs, written by a ticker thread so that it comes even while one long step
// (a big tile, a slow run) gives no news. Disabled (--quiet): nothing.
// FCNRT_PROGRESS_SECONDS=S sets another period for the plain lines (tests).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace fcnrt::cli {

class Progress {
public:
    // `task` names the command in the plain lines ("segment", "bench").
    Progress(std::string task, bool enabled, double period_s = 10.0);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    // The current state, e.g. "image 2/5, tile 3/12", and the fraction done
    // (0..1, or negative when unknown). Thread-safe; cheap when disabled.
    void update(const std::string& status, double fraction = -1);
    // Clears the terminal line, so that a note or an error starts on a clean one;
    // the next update draws it again.
    void clear();
    // Ends the progress for good: clears the line and stops the ticker (also
    // done by the destructor). Before printing results on stdout.
    void stop();

private:
    void tick();
    void draw_locked();
    void clear_locked();

    const std::string task_;
    const bool enabled_, terminal_;
    const std::chrono::duration<double> period_;
    const std::chrono::steady_clock::time_point start_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::string status_;
    double fraction_ = -1;
    bool drawn_ = false, stop_ = false;
    std::thread ticker_;
};

}  // namespace fcnrt::cli
