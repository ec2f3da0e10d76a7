// SPDX-License-Identifier: Apache-2.0
#include "src/cluster/etcd_client.h"

#include <etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h>
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <mutex>
#include <sstream>

namespace flowwall::cluster {

namespace {

namespace pb = etcdserverpb;

// Entries per page of a range: values are at most 8 KiB, so a page stays a few MiB.
constexpr int64_t kRangePage = 500;
constexpr int kMaxReceiveBytes = 256 << 20;

Result<std::string> read_file(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return Error::from_errno(errno, std::string("read ") + what + " " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// What a failed call means for an operator.
Error call_error(const char* call, const grpc::Status& status) {
    std::string hint;
    switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
        hint = " (is etcd running and reachable at --cluster-store? with TLS, do --etcd-cacert "
               "and the server's certificate match?)";
        break;
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
        hint = " (the store refused this node's credentials: check its client certificate and "
               "its etcd role, which may write only flowwall/v1/.../<node>)";
        break;
    default:
        break;
    }
    int errnum = status.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
                         status.error_code() == grpc::StatusCode::UNAUTHENTICATED
                     ? EACCES
                     : EIO;
    return Error{errnum, std::string("etcd ") + call + ": " + status.error_message() + hint};
}

StoreEntry entry_of(const mvccpb::KeyValue& kv) {
    return StoreEntry{kv.key(), kv.value(), kv.create_revision(), kv.mod_revision(), kv.lease()};
}

class GrpcWatchStream final : public WatchStream {
public:
    GrpcWatchStream(pb::Watch::Stub& stub, const pb::WatchRequest& request) {
        stream_ = stub.Watch(&context_);
        ok_ = stream_ && stream_->Write(request);
    }
    ~GrpcWatchStream() override {
        cancel();
        if (stream_)
            stream_->Finish().ok(); // the status of a cancelled stream says nothing new
    }

    Result<WatchBatch> next() override {
        if (!ok_)
            return Error{EIO, "etcd watch: the stream could not be opened (the store is gone?)"};
        pb::WatchResponse response;
        while (stream_->Read(&response)) {
            WatchBatch batch;
            batch.revision = response.header().revision();
            if (response.compact_revision() > 0) {
                batch.compacted = true;
                batch.canceled = true;
                batch.reason =
                    "compacted at revision " + std::to_string(response.compact_revision());
                return batch;
            }
            if (response.canceled()) {
                batch.canceled = true;
                batch.reason = response.cancel_reason();
                return batch;
            }
            if (response.created() && response.events_size() == 0)
                continue; // the answer to the create request
            for (const auto& event : response.events()) {
                WatchEvent out;
                out.is_put = event.type() == mvccpb::Event::PUT;
                out.entry = entry_of(event.kv());
                batch.events.push_back(std::move(out));
            }
            return batch;
        }
        ok_ = false;
        return Error{EIO, "etcd watch: the stream ended (the store went away or the watch was "
                          "cancelled)"};
    }

    void cancel() override { context_.TryCancel(); }

private:
    grpc::ClientContext context_;
    std::unique_ptr<grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>> stream_;
    bool ok_ = false;
};

class GrpcLeaseKeepAlive final : public LeaseKeepAlive {
public:
    GrpcLeaseKeepAlive(pb::Lease::Stub& stub, int64_t lease) : lease_(lease) {
        stream_ = stub.LeaseKeepAlive(&context_);
    }
    ~GrpcLeaseKeepAlive() override {
        context_.TryCancel();
        if (stream_)
            stream_->Finish().ok();
    }

    Result<int64_t> refresh() override {
        pb::LeaseKeepAliveRequest request;
        request.set_id(lease_);
        pb::LeaseKeepAliveResponse response;
        if (!stream_ || !stream_->Write(request) || !stream_->Read(&response))
            return Error{EIO, "etcd lease keep-alive: the stream ended (the store is gone?)"};
        if (response.ttl() <= 0)
            return Error{ENOENT,
                         "etcd lease " + std::to_string(lease_) + " expired: its keys are gone"};
        return response.ttl();
    }

private:
    int64_t lease_;
    grpc::ClientContext context_;
    std::unique_ptr<grpc::ClientReaderWriter<pb::LeaseKeepAliveRequest, pb::LeaseKeepAliveResponse>>
        stream_;
};

class GrpcEtcdClient final : public EtcdClient {
public:
    GrpcEtcdClient(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout)
        : channel_(std::move(channel)), kv_(pb::KV::NewStub(channel_)),
          lease_(pb::Lease::NewStub(channel_)), watch_(pb::Watch::NewStub(channel_)),
          timeout_(timeout) {}

    Result<RangeResult> range_prefix(const std::string& prefix) override {
        return range(prefix, prefix_end(prefix));
    }
    Result<RangeResult> get(const std::string& key) override { return range(key, ""); }

    Result<int64_t> put(const std::string& key, const std::string& value, int64_t lease) override {
        pb::PutRequest request;
        request.set_key(key);
        request.set_value(value);
        request.set_lease(lease);
        pb::PutResponse response;
        auto context = deadline();
        if (auto status = kv_->Put(context.get(), request, &response); !status.ok())
            return call_error("put", status);
        return response.header().revision();
    }

    Result<int64_t> put_all(const std::vector<std::pair<std::string, std::string>>& puts) override {
        pb::TxnRequest request;
        for (const auto& [key, value] : puts) {
            auto* put = request.add_success()->mutable_request_put();
            put->set_key(key);
            put->set_value(value);
        }
        pb::TxnResponse response;
        auto context = deadline();
        if (auto status = kv_->Txn(context.get(), request, &response); !status.ok())
            return call_error("transaction", status);
        return response.header().revision();
    }

    Result<int64_t> delete_key(const std::string& key) override { return remove(key, ""); }
    Result<int64_t> delete_prefix(const std::string& prefix) override {
        return remove(prefix, prefix_end(prefix));
    }

    Result<int64_t> grant_lease(int64_t ttl_seconds) override {
        pb::LeaseGrantRequest request;
        request.set_ttl(ttl_seconds);
        pb::LeaseGrantResponse response;
        auto context = deadline();
        if (auto status = lease_->LeaseGrant(context.get(), request, &response); !status.ok())
            return call_error("lease grant", status);
        if (!response.error().empty())
            return Error{EIO, "etcd lease grant: " + response.error()};
        return response.id();
    }

    Status revoke_lease(int64_t lease) override {
        pb::LeaseRevokeRequest request;
        request.set_id(lease);
        pb::LeaseRevokeResponse response;
        auto context = deadline();
        if (auto status = lease_->LeaseRevoke(context.get(), request, &response); !status.ok())
            return call_error("lease revoke", status);
        return {};
    }

    Result<std::unique_ptr<LeaseKeepAlive>> keep_alive(int64_t lease) override {
        return std::unique_ptr<LeaseKeepAlive>(
            std::make_unique<GrpcLeaseKeepAlive>(*lease_, lease));
    }

    Result<std::unique_ptr<WatchStream>> watch_prefix(const std::string& prefix,
                                                      int64_t start_revision) override {
        pb::WatchRequest request;
        auto* create = request.mutable_create_request();
        create->set_key(prefix);
        create->set_range_end(prefix_end(prefix));
        create->set_start_revision(start_revision);
        return std::unique_ptr<WatchStream>(std::make_unique<GrpcWatchStream>(*watch_, request));
    }

    Status compact(int64_t revision) override {
        pb::CompactionRequest request;
        request.set_revision(revision);
        request.set_physical(true);
        pb::CompactionResponse response;
        auto context = deadline();
        if (auto status = kv_->Compact(context.get(), request, &response); !status.ok())
            return call_error("compact", status);
        return {};
    }

private:
    static std::string prefix_end(const std::string& prefix) {
        std::string end = prefix;
        while (!end.empty()) {
            auto last = static_cast<unsigned char>(end.back());
            if (last < 0xff) {
                end.back() = static_cast<char>(last + 1);
                return end;
            }
            end.pop_back();
        }
        return std::string(1, '\0');
    }

    std::unique_ptr<grpc::ClientContext> deadline() const {
        auto context = std::make_unique<grpc::ClientContext>();
        context->set_deadline(std::chrono::system_clock::now() + timeout_);
        return context;
    }

    Result<RangeResult> range(const std::string& key, const std::string& range_end) {
        // In pages, all read at the first page's revision (one consistent snapshot): a
        // cluster's model is tens of MiB, over what one gRPC message carries, and one huge
        // response would also hold etcd's memory for the whole list at once.
        RangeResult result;
        std::string from = key;
        for (;;) {
            pb::RangeRequest request;
            request.set_key(from);
            request.set_range_end(range_end);
            request.set_limit(range_end.empty() ? 0 : kRangePage);
            request.set_revision(result.revision);
            pb::RangeResponse response;
            auto context = deadline();
            if (auto status = kv_->Range(context.get(), request, &response); !status.ok())
                return call_error("range", status);
            if (result.revision == 0)
                result.revision = response.header().revision();
            for (const auto& kv : response.kvs())
                result.entries.push_back(entry_of(kv));
            if (!response.more() || response.kvs_size() == 0)
                return result;
            from = response.kvs(response.kvs_size() - 1).key() + std::string(1, '\0');
        }
    }

    Result<int64_t> remove(const std::string& key, const std::string& range_end) {
        pb::DeleteRangeRequest request;
        request.set_key(key);
        request.set_range_end(range_end);
        pb::DeleteRangeResponse response;
        auto context = deadline();
        if (auto status = kv_->DeleteRange(context.get(), request, &response); !status.ok())
            return call_error("delete", status);
        return response.deleted();
    }

    std::shared_ptr<grpc::Channel> channel_;
    std::unique_ptr<pb::KV::Stub> kv_;
    std::unique_ptr<pb::Lease::Stub> lease_;
    std::unique_ptr<pb::Watch::Stub> watch_;
    std::chrono::milliseconds timeout_;
};

bool is_ipv4_literal(const std::string& host) {
    return !host.empty() && host.find_first_not_of("0123456789.") == std::string::npos;
}

} // namespace

Result<std::unique_ptr<EtcdClient>> EtcdClient::connect(const EtcdOptions& options) {
    if (options.endpoints.empty())
        return Error{EINVAL, "no etcd endpoint given"};
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    if (!options.ca_file.empty()) {
        if (options.cert_file.empty() || options.key_file.empty())
            return Error{EINVAL, "--etcd-cacert needs --etcd-cert and --etcd-key too (etcd "
                                 "with TLS checks this node's client certificate)"};
        grpc::SslCredentialsOptions ssl;
        auto ca = read_file(options.ca_file, "--etcd-cacert");
        auto cert = read_file(options.cert_file, "--etcd-cert");
        auto key = read_file(options.key_file, "--etcd-key");
        for (const auto* read : {&ca, &cert, &key})
            if (!*read)
                return read->error();
        ssl.pem_root_certs = ca.value();
        ssl.pem_cert_chain = cert.value();
        ssl.pem_private_key = key.value();
        credentials = grpc::SslCredentials(ssl);
    } else {
        if (!options.cert_file.empty() || !options.key_file.empty())
            return Error{EINVAL, "--etcd-cert and --etcd-key need --etcd-cacert (the CA that "
                                 "signed etcd's server certificate)"};
        credentials = grpc::InsecureChannelCredentials();
    }
    // Several endpoints: one channel that fails over between them. gRPC's ipv4: target takes
    // a list; host names go through its resolver one at a time, so only the first is used.
    std::string target = options.endpoints.front();
    bool all_ipv4 = true;
    for (const auto& endpoint : options.endpoints)
        all_ipv4 = all_ipv4 && is_ipv4_literal(endpoint.substr(0, endpoint.rfind(':')));
    if (options.endpoints.size() > 1 && all_ipv4) {
        target = "ipv4:";
        for (size_t i = 0; i < options.endpoints.size(); ++i)
            target += (i ? "," : "") + options.endpoints[i];
    }
    grpc::ChannelArguments arguments;
    // Reconnect quickly when the store comes back (the default backoff grows to 2 minutes).
    // The "minimum reconnect backoff" is really each attempt's connect timeout: small, an
    // etcd that is still starting (or a loaded machine) never finishes a handshake in time.
    arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
    arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 5000);
    // A watch response may carry the events of up to 1,000 revisions (etcd batches them), and
    // a model's revisions are transactions of up to 128 puts: far over gRPC's 4 MiB default.
    arguments.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, kMaxReceiveBytes);
    auto channel = grpc::CreateCustomChannel(target, credentials, arguments);
    return std::unique_ptr<EtcdClient>(
        std::make_unique<GrpcEtcdClient>(std::move(channel), options.call_timeout));
}

} // namespace flowwall::cluster
