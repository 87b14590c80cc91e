// A tiny RAII wrapper over the C API: the handle in a std::unique_ptr, failures as an
// exception carrying the status code and the server's reply. Connects, logs in, lists the
// directory, downloads hello.txt into a std::string and quits.
//
// Usage: raii HOST PORT USER PASS       (C++17 or later)
#include <ftpc.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ftpc {

// A failed call: the ftpc status code (FTP_ERR_*), the reply that caused it (for the reply
// errors FTP_ERR_REPLY/TEMP/PERM/PROTO/UNSUPPORTED; 0 and "" otherwise) and the library's message.
class error : public std::runtime_error {
public:
    error(int code, int reply_code, std::string reply, const std::string &message)
        : std::runtime_error(message), code_(code), reply_code_(reply_code), reply_(std::move(reply)) {}
    int code() const noexcept { return code_; }
    int reply_code() const noexcept { return reply_code_; }
    const std::string &reply() const noexcept { return reply_; }

private:
    int code_;
    int reply_code_;
    std::string reply_;
};

using handle = std::unique_ptr<ftp_client, decltype(&ftp_free)>;

class client {
public:
    client() : h_(ftp_new(), &ftp_free) {
        if (!h_)
            throw std::bad_alloc();
    }

    void connect(const std::string &host, std::uint16_t port) {
        check(ftp_connect(h_.get(), host.c_str(), port, 10000, nullptr), "connect");
    }
    void login(const std::string &user, const std::string &pass) {
        check(ftp_login(h_.get(), user.c_str(), pass.c_str(), nullptr), "login");
    }
    std::string pwd() {
        const char *out = nullptr;
        check(ftp_pwd(h_.get(), &out), "PWD");
        return out; // copied: the library's string lives only until the next call
    }
    std::vector<std::string> nlst() {
        std::vector<std::string> names;
        check(ftp_nlst(h_.get(), nullptr, &client::on_line, &names), "NLST");
        return names;
    }
    std::string retrieve(const std::string &path) {
        std::string data;
        const std::string cmd = "RETR " + path;
        check(ftp_retrbinary(h_.get(), cmd.c_str(), &client::on_data, &data, 0, FTP_NO_REST), cmd);
        return data;
    }
    void quit() { check(ftp_quit(h_.get()), "QUIT"); }

private:
    // The callbacks may not throw through the C library: they only append.
    static int on_line(void *userdata, const char *line, std::size_t len) {
        static_cast<std::vector<std::string> *>(userdata)->emplace_back(line, len);
        return 0;
    }
    static int on_data(void *userdata, const std::uint8_t *data, std::size_t len) {
        static_cast<std::string *>(userdata)->append(reinterpret_cast<const char *>(data), len);
        return 0;
    }

    void check(int rc, const std::string &what) {
        if (rc == FTP_OK)
            return;
        const char *msg = ftp_last_error(h_.get());
        std::string message = what + ": " + (msg ? msg : ftp_strerror(rc));
        const bool from_reply = rc == FTP_ERR_REPLY || rc == FTP_ERR_TEMP || rc == FTP_ERR_PERM ||
                                rc == FTP_ERR_PROTO || rc == FTP_ERR_UNSUPPORTED;
        const char *reply = from_reply ? ftp_last_reply_text(h_.get()) : nullptr;
        throw error(rc, from_reply ? ftp_last_reply_code(h_.get()) : 0, reply ? reply : "", message);
    }

    handle h_;
};

} // namespace ftpc

int main(int argc, char **argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s HOST PORT USER PASS\n", argv[0]);
        return 2;
    }
    try {
        ftpc::client ftp;
        ftp.connect(argv[1], static_cast<std::uint16_t>(std::strtoul(argv[2], nullptr, 10)));
        ftp.login(argv[3], argv[4]);
        std::printf("cwd %s\n", ftp.pwd().c_str());
        for (const auto &name : ftp.nlst())
            std::printf("  %s\n", name.c_str());
        const std::string hello = ftp.retrieve("hello.txt");
        std::printf("hello.txt: %s", hello.c_str());
        if (hello.rfind("hello from ", 0) != 0)
            throw std::runtime_error("unexpected content in hello.txt");
        try {
            ftp.retrieve("no-such-file");
            throw std::runtime_error("RETR of a missing file succeeded");
        } catch (const ftpc::error &e) {
            if (e.code() != FTP_ERR_PERM || e.reply_code() != 550)
                throw;
            std::printf("missing file: %d %s\n", e.reply_code(), e.reply().c_str());
        }
        ftp.quit();
    } catch (const ftpc::error &e) {
        std::fprintf(stderr, "ftpc error %d (reply %d \"%s\"): %s\n", e.code(), e.reply_code(),
                     e.reply().c_str(), e.what());
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
