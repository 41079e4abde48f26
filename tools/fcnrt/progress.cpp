#include "tools/fcnrt/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace fcnrt::cli {

namespace {

// FCNRT_PROGRESS_SECONDS, when set to a positive number, replaces the period
// of the plain lines (the CLI tests use a short one).
double period_from_environment(double fallback) {
    const char* text = std::getenv("FCNRT_PROGRESS_SECONDS");
    if (!text) return fallback;
    const double v = std::strtod(text, nullptr);
    return v > 0 ? v : fallback;
}

}  // namespace

Progress::Progress(std::string task, bool enabled, double period_s)
    : task_(std::move(task)),
      enabled_(enabled),
      terminal_(enabled && ::isatty(2)),
      period_(period_from_environment(period_s)),
      start_(std::chrono::steady_clock::now()) {
    if (enabled_) ticker_ = std::thread([this] { tick(); });
}

Progress::~Progress() {
    stop();
}

void Progress::stop() {
    if (!enabled_ || !ticker_.joinable()) return;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
        clear_locked();
    }
    wake_.notify_all();
    ticker_.join();
}

void Progress::update(const std::string& status, double fraction) {
    if (!enabled_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_) return;
    status_ = status;
    fraction_ = fraction;
    if (terminal_) draw_locked();
}

void Progress::clear() {
    if (!enabled_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    clear_locked();
}

// On a terminal the line is redrawn every second (the elapsed time moves);
// elsewhere a plain line is written every period.
void Progress::tick() {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto step = terminal_ ? std::chrono::duration<double>(1.0) : period_;
    auto next = std::chrono::steady_clock::now() + step;
    while (!stop_) {
        if (wake_.wait_until(
                lock, std::chrono::time_point_cast<std::chrono::steady_clock::duration>(next),
                [this] { return stop_; }))
            break;
        next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(step);
        if (terminal_) {
            if (drawn_) draw_locked();  // not after clear(): a message may be on its way
            continue;
        }
        const long elapsed = std::lround(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
        std::string line = "fcnrt: progress: " + task_ + ": " +
                           (status_.empty() ? std::string("working") : status_);
        if (fraction_ >= 0)
            line += ", " + std::to_string(std::lround(std::min(fraction_, 1.0) * 100)) + "%";
        std::fprintf(stderr, "%s (%ld s)\n", line.c_str(), elapsed);
        std::fflush(stderr);
    }
}

void Progress::draw_locked() {
    const long elapsed = std::lround(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    std::string bar;
    if (fraction_ >= 0) {
        const int width = 30, filled = int(std::lround(std::min(fraction_, 1.0) * width));
        bar = "[" + std::string(size_t(filled), '#') + std::string(size_t(width - filled), '.') +
              "] ";
    }
    std::fprintf(stderr, "\r%s%s  %ld s \033[K", bar.c_str(), status_.c_str(), elapsed);
    std::fflush(stderr);
    drawn_ = true;
}

void Progress::clear_locked() {
    if (!drawn_) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
}

}  // namespace fcnrt::cli
