// Sailfin's only native code: two socket calls Node does not expose.
//
//   originalDst(fd) -> { address, port, family } | undefined
//     The destination a connection had before iptables REDIRECT rewrote it to the proxy's
//     port (getsockopt SO_ORIGINAL_DST for IPv4, IP6T_SO_ORIGINAL_DST for IPv6). The proxy's
//     outbound listener (15001) and inbound listener (15006) use it to find the real target.
//     Returns undefined when conntrack has no entry for the socket (ENOENT/ENOPROTOOPT), throws on
//     other errors. A tracked but unredirected connection reports its own local address.
//
//   peek(fd, n) -> Buffer
//     Up to n bytes already received, without consuming them (recv MSG_PEEK|MSG_DONTWAIT), so
//     a TLS inspector can read a ClientHello's SNI before choosing a filter chain. Returns an
//     empty Buffer when nothing is buffered yet (EAGAIN).
//
// Plain N-API (node_api.h) rather than node-addon-api: it needs no package at install time.
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <string>

namespace {

// Both getsockopt constants are 80; named here so the intent is clear even if a header lacks them.
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

bool Check(napi_env env, napi_status status) {
  if (status == napi_ok) return true;
  const napi_extended_error_info* info = nullptr;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    napi_throw_error(env, nullptr, info && info->error_message ? info->error_message : "N-API call failed");
  }
  return false;
}

void ThrowErrno(napi_env env, const char* call, int err) {
  std::string msg = std::string(call) + ": " + strerror(err);
  // The code (e.g. "EBADF") lets JavaScript callers branch without parsing the message.
  napi_value code, text, error;
  napi_create_string_utf8(env, std::to_string(err).c_str(), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg.c_str(), NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, nullptr, text, &error);
  napi_value errnoValue;
  napi_create_int32(env, err, &errnoValue);
  napi_set_named_property(env, error, "errno", errnoValue);
  napi_throw(env, error);
}

bool ReadInt(napi_env env, napi_value value, const char* name, int32_t* out) {
  napi_valuetype type;
  if (!Check(env, napi_typeof(env, value, &type))) return false;
  if (type != napi_number) {
    std::string msg = std::string(name) + " must be a number";
    napi_throw_type_error(env, nullptr, msg.c_str());
    return false;
  }
  return Check(env, napi_get_value_int32(env, value, out));
}

napi_value MakeAddress(napi_env env, const char* address, int port, int family) {
  napi_value result, addr, portValue, familyValue;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &addr);
  napi_create_int32(env, port, &portValue);
  napi_create_int32(env, family, &familyValue);
  napi_set_named_property(env, result, "address", addr);
  napi_set_named_property(env, result, "port", portValue);
  napi_set_named_property(env, result, "family", familyValue);
  return result;
}

napi_value Undefined(napi_env env) {
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}

bool NotRedirected(int err) {
  // ENOENT: no conntrack NAT entry (the connection was not redirected).
  // ENOPROTOOPT/EOPNOTSUPP: the option is not valid for this socket (e.g. a Unix socket).
  return err == ENOENT || err == ENOPROTOOPT || err == EOPNOTSUPP;
}

napi_value OriginalDst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (!Check(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr))) return nullptr;
  if (argc < 1) {
    napi_throw_type_error(env, nullptr, "originalDst(fd) needs a file descriptor");
    return nullptr;
  }
  int32_t fd;
  if (!ReadInt(env, argv[0], "fd", &fd)) return nullptr;

  // The socket's own family decides which option to ask for.
  sockaddr_storage local;
  socklen_t localLen = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &localLen) != 0) {
    ThrowErrno(env, "getsockname", errno);
    return nullptr;
  }

  char text[INET6_ADDRSTRLEN];
  if (local.ss_family == AF_INET) {
    sockaddr_in dst;
    socklen_t len = sizeof(dst);
    if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &len) != 0) {
      if (NotRedirected(errno)) return Undefined(env);
      ThrowErrno(env, "getsockopt(SO_ORIGINAL_DST)", errno);
      return nullptr;
    }
    inet_ntop(AF_INET, &dst.sin_addr, text, sizeof(text));
    return MakeAddress(env, text, ntohs(dst.sin_port), 4);
  }
  if (local.ss_family == AF_INET6) {
    sockaddr_in6 dst;
    socklen_t len = sizeof(dst);
    if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &dst, &len) == 0) {
      // An IPv4 client reaching a dual-stack listener shows up as ::ffff:a.b.c.d; report it as IPv4.
      if (IN6_IS_ADDR_V4MAPPED(&dst.sin6_addr)) {
        inet_ntop(AF_INET, &dst.sin6_addr.s6_addr[12], text, sizeof(text));
        return MakeAddress(env, text, ntohs(dst.sin6_port), 4);
      }
      inet_ntop(AF_INET6, &dst.sin6_addr, text, sizeof(text));
      return MakeAddress(env, text, ntohs(dst.sin6_port), 6);
    }
    int err6 = errno;
    // A dual-stack socket carrying IPv4 traffic keeps its NAT entry in the IPv4 table.
    sockaddr_in dst4;
    socklen_t len4 = sizeof(dst4);
    if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst4, &len4) == 0) {
      inet_ntop(AF_INET, &dst4.sin_addr, text, sizeof(text));
      return MakeAddress(env, text, ntohs(dst4.sin_port), 4);
    }
    if (NotRedirected(err6)) return Undefined(env);
    ThrowErrno(env, "getsockopt(IP6T_SO_ORIGINAL_DST)", err6);
    return nullptr;
  }
  return Undefined(env);
}

napi_value Peek(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (!Check(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr))) return nullptr;
  if (argc < 2) {
    napi_throw_type_error(env, nullptr, "peek(fd, n) needs a file descriptor and a byte count");
    return nullptr;
  }
  int32_t fd, n;
  if (!ReadInt(env, argv[0], "fd", &fd) || !ReadInt(env, argv[1], "n", &n)) return nullptr;
  if (n < 0 || n > 65536) {
    napi_throw_range_error(env, nullptr, "n must be between 0 and 65536");
    return nullptr;
  }
  std::string data(static_cast<size_t>(n), '\0');
  ssize_t got = n == 0 ? 0 : recv(fd, &data[0], static_cast<size_t>(n), MSG_PEEK | MSG_DONTWAIT);
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      got = 0;
    } else {
      ThrowErrno(env, "recv(MSG_PEEK)", errno);
      return nullptr;
    }
  }
  napi_value buffer;
  if (!Check(env, napi_create_buffer_copy(env, static_cast<size_t>(got), data.data(), nullptr, &buffer))) return nullptr;
  return buffer;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"originalDst", nullptr, OriginalDst, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"peek", nullptr, Peek, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  if (!Check(env, napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props))) return nullptr;
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
