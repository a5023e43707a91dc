/*
 * vipd's native helpers: what neither raw-socket nor netlink offers.
 *
 *  - an AF_PACKET socket that sends whole Ethernet frames (gratuitous ARP,
 *    unsolicited neighbour advertisements); it never receives (protocol 0);
 *  - an IPv6 raw socket read with recvmsg, because RFC 5798 §7.1 needs the hop
 *    limit of every received advertisement, which only IPV6_RECVHOPLIMIT
 *    ancillary data carries; readiness comes from a uv_poll on the Node loop;
 *  - if_nametoindex / if_indextoname.
 *
 * Every descriptor is non-blocking: nothing here can stall the event loop.
 * Failures throw an Error with `errno` and `syscall` set; the TypeScript side
 * (src/net/native.ts) turns them into VipdErrors.
 */
#define _GNU_SOURCE /* struct in6_pktinfo, IPV6_RECVPKTINFO */
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RECV_BUDGET 64 /* datagrams per readiness callback, so one busy socket cannot starve the loop */
#define RECV_BUFFER 2048

#define CHECK(env, call)                                  \
  do {                                                    \
    if ((call) != napi_ok) {                              \
      throw_last_napi_error(env, #call);                  \
      return NULL;                                        \
    }                                                     \
  } while (0)

static void throw_last_napi_error(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  napi_throw_error(env, "ENAPI", info && info->error_message ? info->error_message : what);
}

static napi_value make_errno_error(napi_env env, int err, const char *syscall) {
  napi_value msg, error, num, sys;
  char text[160];
  snprintf(text, sizeof text, "%s: %s", syscall, strerror(err));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_create_int32(env, err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, error, "syscall", sys);
  return error;
}

static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  napi_throw(env, make_errno_error(env, err, syscall));
  return NULL;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, napi_value *self) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, self, NULL) != napi_ok) return -1;
  if (argc < want) {
    napi_throw_type_error(env, "EINVAL", "too few arguments");
    return -1;
  }
  return 0;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "expected a string");
    return -1;
  }
  if (len + 1 >= size) {
    napi_throw_range_error(env, "EINVAL", "string too long");
    return -1;
  }
  return 0;
}

static int get_int(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "expected a number");
    return -1;
  }
  return 0;
}

static int get_bytes(napi_env env, napi_value v, void **data, size_t *len) {
  bool ok = false;
  napi_is_typedarray(env, v, &ok);
  if (ok) {
    napi_typedarray_type type;
    size_t length, offset;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset) != napi_ok || type != napi_uint8_array) {
      napi_throw_type_error(env, "EINVAL", "expected a Uint8Array");
      return -1;
    }
    *len = length;
    return 0;
  }
  napi_throw_type_error(env, "EINVAL", "expected a Uint8Array");
  return -1;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* ---- interface names ---------------------------------------------------- */

static napi_value if_name_to_index(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  char name[IF_NAMESIZE + 1];
  if (get_args(env, info, 1, argv, NULL) || get_string(env, argv[0], name, sizeof name)) return NULL;
  unsigned idx = if_nametoindex(name); /* an ioctl on a throwaway socket: does not block */
  CHECK(env, napi_create_uint32(env, idx, &out));
  return out;
}

static napi_value if_index_to_name(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  int32_t idx;
  char name[IF_NAMESIZE];
  if (get_args(env, info, 1, argv, NULL) || get_int(env, argv[0], &idx)) return NULL;
  if (idx <= 0 || if_indextoname((unsigned)idx, name) == NULL) {
    napi_get_null(env, &out);
    return out;
  }
  CHECK(env, napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &out));
  return out;
}

/* ---- AF_PACKET: send whole Ethernet frames ------------------------------ */

static napi_value packet_open(napi_env env, napi_callback_info info) {
  napi_value out;
  (void)info;
  /* Protocol 0: the socket receives nothing, so no buffer ever fills up. */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket(AF_PACKET)");
  CHECK(env, napi_create_int32(env, fd, &out));
  return out;
}

/* packetSend(fd, ifindex, frame) -> bytes sent */
static napi_value packet_send(napi_env env, napi_callback_info info) {
  napi_value argv[3], out;
  int32_t fd, ifindex;
  void *data;
  size_t len;
  if (get_args(env, info, 3, argv, NULL) || get_int(env, argv[0], &fd) || get_int(env, argv[1], &ifindex) ||
      get_bytes(env, argv[2], &data, &len))
    return NULL;
  if (len < ETH_HLEN) {
    napi_throw_range_error(env, "EINVAL", "frame shorter than an Ethernet header");
    return NULL;
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex;
  memcpy(&sll.sll_protocol, (const uint8_t *)data + 12, 2); /* EtherType, already big-endian */
  sll.sll_halen = ETH_ALEN;
  memcpy(sll.sll_addr, data, ETH_ALEN);
  ssize_t n;
  do {
    n = sendto(fd, data, len, 0, (struct sockaddr *)&sll, sizeof sll);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, errno, "sendto(AF_PACKET)");
  CHECK(env, napi_create_int64(env, (int64_t)n, &out));
  return out;
}

static napi_value fd_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (get_args(env, info, 1, argv, NULL) || get_int(env, argv[0], &fd)) return NULL;
  if (fd >= 0) close(fd);
  return undefined(env);
}

/* ---- IPv6 raw socket with recvmsg --------------------------------------- */

typedef struct raw6 {
  napi_env env;
  int fd;
  int ifindex;
  uv_poll_t *poll;         /* freed by its close callback */
  napi_ref self;           /* keeps the JS handle alive while the socket is open */
  napi_ref callback;       /* onMessage(err, bytes, src, dst, hopLimit) */
  napi_async_context async;
  int closed;
  int finalized;
  int uv_closed;
} raw6_t;

static void raw6_maybe_free(raw6_t *s) {
  if (s->finalized && s->uv_closed) free(s);
}

static void raw6_poll_closed(uv_handle_t *h) {
  raw6_t *s = (raw6_t *)h->data;
  free(h);
  if (s) {
    s->uv_closed = 1;
    raw6_maybe_free(s);
  }
}

static void raw6_cleanup_hook(void *arg);

/* Idempotent. `from_env_teardown` skips the N-API calls that are not allowed then. */
static void raw6_do_close(raw6_t *s, int from_env_teardown) {
  if (s->closed) return;
  s->closed = 1;
  if (s->poll) {
    uv_poll_stop(s->poll);
    uv_close((uv_handle_t *)s->poll, raw6_poll_closed);
    s->poll = NULL;
  } else {
    s->uv_closed = 1;
  }
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
  if (!from_env_teardown) {
    napi_remove_env_cleanup_hook(s->env, raw6_cleanup_hook, s);
    if (s->callback) napi_delete_reference(s->env, s->callback);
    if (s->async) napi_async_destroy(s->env, s->async);
    if (s->self) napi_delete_reference(s->env, s->self);
  }
  s->callback = NULL;
  s->async = NULL;
  s->self = NULL;
}

static void raw6_cleanup_hook(void *arg) {
  raw6_do_close((raw6_t *)arg, 1);
}

static void raw6_finalize(napi_env env, void *data, void *hint) {
  raw6_t *s = (raw6_t *)data;
  (void)env;
  (void)hint;
  /* Only reachable once closed (the self reference pins the handle while open),
   * or at environment teardown, where the cleanup hook already closed it. */
  raw6_do_close(s, 1);
  s->finalized = 1;
  raw6_maybe_free(s);
}

static void raw6_deliver(raw6_t *s, napi_value *argv, size_t argc) {
  napi_env env = s->env;
  napi_value cb, recv, result;
  if (s->closed || !s->callback) return;
  if (napi_get_reference_value(env, s->callback, &cb) != napi_ok || cb == NULL) return;
  if (napi_get_reference_value(env, s->self, &recv) != napi_ok || recv == NULL) return;
  /* make_callback (not call_function) so promise jobs queued by the callback run now. */
  napi_status st = napi_make_callback(env, s->async, recv, cb, argc, argv, &result);
  if (st == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

static void raw6_on_readable(uv_poll_t *h, int status, int events) {
  raw6_t *s = (raw6_t *)h->data;
  (void)events;
  if (s == NULL || s->closed) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;

  if (status < 0) {
    napi_value argv[1], msg;
    napi_create_string_utf8(env, uv_strerror(status), NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &argv[0]);
    raw6_deliver(s, argv, 1);
    napi_close_handle_scope(env, scope);
    return;
  }

  for (int i = 0; i < RECV_BUDGET && !s->closed; i++) {
    uint8_t buf[RECV_BUFFER];
    uint8_t control[256] __attribute__((aligned(__alignof__(struct cmsghdr))));
    struct sockaddr_in6 from;
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;

    ssize_t n = recvmsg(s->fd, &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      napi_value argv[1];
      argv[0] = make_errno_error(env, errno, "recvmsg");
      raw6_deliver(s, argv, 1);
      break;
    }

    int hop_limit = -1;
    char dst[INET6_ADDRSTRLEN] = "";
    char src[INET6_ADDRSTRLEN] = "";
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != IPPROTO_IPV6) continue;
      if (c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
        memcpy(&hop_limit, CMSG_DATA(c), sizeof(int));
      } else if (c->cmsg_type == IPV6_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
        struct in6_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof pi);
        inet_ntop(AF_INET6, &pi.ipi6_addr, dst, sizeof dst);
      }
    }
    inet_ntop(AF_INET6, &from.sin6_addr, src, sizeof src);

    napi_value argv[6];
    napi_get_null(env, &argv[0]);
    void *copy;
    napi_create_buffer_copy(env, (size_t)n, buf, &copy, &argv[1]);
    napi_create_string_utf8(env, src, NAPI_AUTO_LENGTH, &argv[2]);
    napi_create_string_utf8(env, dst, NAPI_AUTO_LENGTH, &argv[3]);
    napi_create_int32(env, hop_limit, &argv[4]);
    napi_value truncated;
    napi_get_boolean(env, (msg.msg_flags & MSG_TRUNC) != 0, &truncated);
    argv[5] = truncated;
    raw6_deliver(s, argv, 6);
  }
  napi_close_handle_scope(env, scope);
}

static int set_int_opt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value);
}

/*
 * raw6Open(ifname, protocol, checksumOffset, onMessage) -> handle
 * Bound to the device, hop limit 255 for unicast and multicast sends, no
 * multicast loop, traffic class 0xc0, hop limit and destination delivered with
 * every datagram. checksumOffset >= 0 makes the kernel fill in (and verify) the
 * checksum with the pseudo-header, as keepalived does (offset 6 for VRRP).
 */
static napi_value raw6_open(napi_env env, napi_callback_info info) {
  napi_value argv[4], handle;
  char ifname[IF_NAMESIZE + 1];
  int32_t protocol, csum;
  napi_valuetype t;
  if (get_args(env, info, 4, argv, NULL) || get_string(env, argv[0], ifname, sizeof ifname) ||
      get_int(env, argv[1], &protocol) || get_int(env, argv[2], &csum))
    return NULL;
  napi_typeof(env, argv[3], &t);
  if (t != napi_function) {
    napi_throw_type_error(env, "EINVAL", "onMessage must be a function");
    return NULL;
  }
  unsigned ifindex = if_nametoindex(ifname);
  if (ifindex == 0) return throw_errno(env, errno ? errno : ENODEV, "if_nametoindex");

  int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) return throw_errno(env, errno, "socket(AF_INET6, SOCK_RAW)");

  const char *failed = NULL;
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname) + 1) < 0)
    failed = "setsockopt(SO_BINDTODEVICE)";
  else if (set_int_opt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1) < 0)
    failed = "setsockopt(IPV6_RECVHOPLIMIT)";
  else if (set_int_opt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) < 0)
    failed = "setsockopt(IPV6_RECVPKTINFO)";
  else if (set_int_opt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255) < 0)
    failed = "setsockopt(IPV6_MULTICAST_HOPS)";
  else if (set_int_opt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255) < 0)
    failed = "setsockopt(IPV6_UNICAST_HOPS)";
  else if (set_int_opt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0) < 0)
    failed = "setsockopt(IPV6_MULTICAST_LOOP)";
  else if (set_int_opt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, (int)ifindex) < 0)
    failed = "setsockopt(IPV6_MULTICAST_IF)";
  else if (set_int_opt(fd, IPPROTO_IPV6, IPV6_TCLASS, 0xc0) < 0)
    failed = "setsockopt(IPV6_TCLASS)";
#ifdef IPV6_MULTICAST_ALL
  else if (set_int_opt(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0) < 0)
    failed = "setsockopt(IPV6_MULTICAST_ALL)";
#endif
  else if (csum >= 0 && set_int_opt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, csum) < 0)
    failed = "setsockopt(IPV6_CHECKSUM)";
  if (failed) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, failed);
  }

  raw6_t *s = (raw6_t *)calloc(1, sizeof *s);
  uv_poll_t *poll = (uv_poll_t *)calloc(1, sizeof *poll);
  uv_loop_t *loop = NULL;
  if (s == NULL || poll == NULL) {
    free(s);
    free(poll);
    close(fd);
    return throw_errno(env, ENOMEM, "calloc");
  }
  s->env = env;
  s->fd = fd;
  s->ifindex = (int)ifindex;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init_socket(loop, poll, fd) != 0) {
    free(s);
    free(poll);
    close(fd);
    napi_throw_error(env, "ENATIVE", "uv_poll_init_socket failed");
    return NULL;
  }
  poll->data = s;
  s->poll = poll;

  napi_value resource_name;
  if (napi_create_external(env, s, raw6_finalize, NULL, &handle) != napi_ok ||
      napi_create_reference(env, handle, 1, &s->self) != napi_ok ||
      napi_create_reference(env, argv[3], 1, &s->callback) != napi_ok ||
      napi_create_string_utf8(env, "vipd:raw6", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_async_init(env, handle, resource_name, &s->async) != napi_ok) {
    raw6_do_close(s, 0);
    throw_last_napi_error(env, "raw6Open");
    return NULL;
  }
  napi_add_env_cleanup_hook(env, raw6_cleanup_hook, s);
  uv_poll_start(poll, UV_READABLE, raw6_on_readable);
  return handle;
}

static raw6_t *get_raw6(napi_env env, napi_value v) {
  void *data = NULL;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_external || napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "EINVAL", "not a raw6 handle");
    return NULL;
  }
  return (raw6_t *)data;
}

/* raw6Membership(handle, group, join) */
static napi_value raw6_membership(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char group[INET6_ADDRSTRLEN + 1];
  bool join = true;
  if (get_args(env, info, 3, argv, NULL)) return NULL;
  raw6_t *s = get_raw6(env, argv[0]);
  if (s == NULL || get_string(env, argv[1], group, sizeof group)) return NULL;
  napi_get_value_bool(env, argv[2], &join);
  if (s->closed) return throw_errno(env, EBADF, "setsockopt(IPV6_ADD_MEMBERSHIP)");
  struct ipv6_mreq mreq;
  memset(&mreq, 0, sizeof mreq);
  if (inet_pton(AF_INET6, group, &mreq.ipv6mr_multiaddr) != 1) return throw_errno(env, EINVAL, "inet_pton");
  mreq.ipv6mr_interface = (unsigned)s->ifindex;
  if (setsockopt(s->fd, IPPROTO_IPV6, join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP, &mreq, sizeof mreq) < 0)
    return throw_errno(env, errno, join ? "setsockopt(IPV6_ADD_MEMBERSHIP)" : "setsockopt(IPV6_DROP_MEMBERSHIP)");
  return undefined(env);
}

/* raw6Send(handle, bytes, dst, src) -> bytes sent; src "" lets the kernel choose. */
static napi_value raw6_send(napi_env env, napi_callback_info info) {
  napi_value argv[4], out;
  char dst[INET6_ADDRSTRLEN + 1], src[INET6_ADDRSTRLEN + 1];
  void *data;
  size_t len;
  if (get_args(env, info, 4, argv, NULL)) return NULL;
  raw6_t *s = get_raw6(env, argv[0]);
  if (s == NULL || get_bytes(env, argv[1], &data, &len) || get_string(env, argv[2], dst, sizeof dst) ||
      get_string(env, argv[3], src, sizeof src))
    return NULL;
  if (s->closed) return throw_errno(env, EBADF, "sendmsg");

  struct sockaddr_in6 to;
  memset(&to, 0, sizeof to);
  to.sin6_family = AF_INET6;
  if (inet_pton(AF_INET6, dst, &to.sin6_addr) != 1) return throw_errno(env, EINVAL, "inet_pton(dst)");
  if (IN6_IS_ADDR_LINKLOCAL(&to.sin6_addr) || IN6_IS_ADDR_MC_LINKLOCAL(&to.sin6_addr))
    to.sin6_scope_id = (uint32_t)s->ifindex;

  struct iovec iov = {.iov_base = data, .iov_len = len};
  uint8_t control[CMSG_SPACE(sizeof(struct in6_pktinfo))] __attribute__((aligned(__alignof__(struct cmsghdr))));
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  memset(control, 0, sizeof control);
  msg.msg_name = &to;
  msg.msg_namelen = sizeof to;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (src[0] != '\0') {
    struct in6_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    if (inet_pton(AF_INET6, src, &pi.ipi6_addr) != 1) return throw_errno(env, EINVAL, "inet_pton(src)");
    pi.ipi6_ifindex = (unsigned)s->ifindex;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
  }
  ssize_t n;
  do {
    n = sendmsg(s->fd, &msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, errno, "sendmsg");
  CHECK(env, napi_create_int64(env, (int64_t)n, &out));
  return out;
}

static napi_value raw6_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv, NULL)) return NULL;
  raw6_t *s = get_raw6(env, argv[0]);
  if (s == NULL) return NULL;
  raw6_do_close(s, 0);
  return undefined(env);
}

/* raw6Ref(handle, ref): whether the open socket keeps the event loop alive. */
static napi_value raw6_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  bool ref = true;
  if (get_args(env, info, 2, argv, NULL)) return NULL;
  raw6_t *s = get_raw6(env, argv[0]);
  if (s == NULL) return NULL;
  napi_get_value_bool(env, argv[1], &ref);
  if (!s->closed && s->poll) {
    if (ref)
      uv_ref((uv_handle_t *)s->poll);
    else
      uv_unref((uv_handle_t *)s->poll);
  }
  return undefined(env);
}

/* ---- module ------------------------------------------------------------- */

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"ifNameToIndex", NULL, if_name_to_index, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ifIndexToName", NULL, if_index_to_name, NULL, NULL, NULL, napi_enumerable, NULL},
      {"packetOpen", NULL, packet_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"packetSend", NULL, packet_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fdClose", NULL, fd_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"raw6Open", NULL, raw6_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"raw6Membership", NULL, raw6_membership, NULL, NULL, NULL, napi_enumerable, NULL},
      {"raw6Send", NULL, raw6_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"raw6Close", NULL, raw6_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"raw6Ref", NULL, raw6_ref, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
