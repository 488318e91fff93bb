// Idle-connection load generator for bench/connections.js (compiled at bench time with gcc).
//
//   connload PORT COUNT [--host 127.0.0.1] [--sources K] [--window W] [--keepalive S] [--hold-max S]
//
// Opens COUNT TCP connections to HOST:PORT, at most W of them waiting for their CONNACK at a
// time, sends a 3.1.1 CONNECT on each (clean session, keep alive S, client id "cl<n>"), and
// waits for every CONNACK (0x20 0x02 0x00 0x00). Then it prints one line to stdout,
//
//   ready <connected> <elapsed ms from the first connect() to the last CONNACK>
//
// (or "error <message>") and holds the connections open, idle, until stdin ends or gets a line,
// or --hold-max seconds pass (default 600), or its parent dies; then it exits. While it holds
// them, each connection sends a PINGREQ every keep alive period (the first half a period after
// its CONNACK), as an idle client does, so that the server never times them out; PINGRESPs are
// left unread.
//
// Beyond 20,000 connections it uses more loopback source addresses (127.0.0.2, 127.0.0.3, ...;
// or --sources K of them from the start), bound with IP_BIND_ADDRESS_NO_PORT so that each source
// address has its own ephemeral ports. It raises its own RLIMIT_NOFILE as far as allowed.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define PER_SOURCE 20000

enum { CONNECTING = 0, AWAIT_CONNACK = 1, DONE = 2 };

struct conn {
  int fd;
  uint8_t state;
  uint8_t got;    // CONNACK bytes received so far
  double next_ping; // ms (CLOCK_MONOTONIC) of its next PINGREQ
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void fail(const char *what) {
  printf("error %s: %s\n", what, strerror(errno));
  fflush(stdout);
  exit(1);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: connload PORT COUNT [--host H] [--sources K] [--window W] [--keepalive S] [--hold-max S]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  int count = atoi(argv[2]);
  const char *host = "127.0.0.1";
  int sources = 0, window = 200, keepalive = 60, hold_max = 600;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--host")) host = argv[i + 1];
    else if (!strcmp(argv[i], "--sources")) sources = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--window")) window = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--keepalive")) keepalive = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--hold-max")) hold_max = atoi(argv[i + 1]);
  }
  if (sources <= 0) sources = (count + PER_SOURCE - 1) / PER_SOURCE;
  if (sources < 1) sources = 1;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGPIPE, SIG_IGN);

  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rlim_t want = (rlim_t)count + 64;
  if (rl.rlim_cur < want) {
    rl.rlim_cur = want;
    if (rl.rlim_max < want) rl.rlim_max = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      getrlimit(RLIMIT_NOFILE, &rl);
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &rl);
      getrlimit(RLIMIT_NOFILE, &rl);
      if (rl.rlim_cur < want) {
        printf("error RLIMIT_NOFILE is %llu, %d connections need %llu\n", (unsigned long long)rl.rlim_cur, count, (unsigned long long)want);
        return 1;
      }
    }
  }

  struct sockaddr_in dst = {0};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  if (inet_pton(AF_INET, host, &dst.sin_addr) != 1) {
    printf("error bad host %s\n", host);
    return 1;
  }

  struct conn *conns = calloc(count, sizeof *conns);
  int ep = epoll_create1(0);
  if (ep < 0) fail("epoll_create1");

  double start = now_ms();
  int next = 0, open = 0, done = 0;
  struct epoll_event events[1024];
  while (done < count) {
    while (next < count && open < window) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (fd < 0) fail("socket");
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (sources > 1) {
        struct sockaddr_in src = {0};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(next % sources));
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) fail("bind");
      }
      if (connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS) fail("connect");
      conns[next].fd = fd;
      conns[next].state = CONNECTING;
      struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)next};
      if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) fail("epoll_ctl");
      next++;
      open++;
    }
    int n = epoll_wait(ep, events, 1024, 10000);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("epoll_wait");
    if (n == 0) {
      printf("error timed out with %d of %d connected\n", done, count);
      fflush(stdout);
      return 1;
    }
    for (int k = 0; k < n; k++) {
      uint32_t i = events[k].data.u32;
      struct conn *c = &conns[i];
      if (c->state == CONNECTING && (events[k].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          errno = err;
          fail("connect");
        }
        char id[16];
        int idlen = snprintf(id, sizeof id, "cl%u", i);
        uint8_t pkt[64];
        int p = 0;
        pkt[p++] = 0x10;
        pkt[p++] = (uint8_t)(10 + 2 + idlen);
        const uint8_t vh[] = {0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, (uint8_t)(keepalive >> 8), (uint8_t)keepalive};
        memcpy(pkt + p, vh, sizeof vh);
        p += sizeof vh;
        pkt[p++] = 0;
        pkt[p++] = (uint8_t)idlen;
        memcpy(pkt + p, id, idlen);
        p += idlen;
        if (write(c->fd, pkt, p) != p) fail("write CONNECT");
        c->state = AWAIT_CONNACK;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        continue;
      }
      if (c->state == AWAIT_CONNACK && (events[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
        static const uint8_t want_ack[4] = {0x20, 0x02, 0x00, 0x00};
        uint8_t buf[8];
        ssize_t r = read(c->fd, buf, 4 - c->got);
        if (r < 0 && errno == EAGAIN) continue;
        if (r <= 0) {
          printf("error connection %u closed before its CONNACK\n", i);
          fflush(stdout);
          return 1;
        }
        for (ssize_t b = 0; b < r; b++) {
          if (buf[b] != want_ack[c->got + b]) {
            printf("error connection %u: unexpected CONNACK byte 0x%02x\n", i, buf[b]);
            fflush(stdout);
            return 1;
          }
        }
        c->got += (uint8_t)r;
        if (c->got == 4) {
          c->state = DONE;
          c->next_ping = now_ms() + keepalive * 500.0;
          // Idle from now on: no more events wanted (a close from the server is not looked at).
          epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
          open--;
          done++;
        }
      }
    }
  }
  double elapsed = now_ms() - start;
  printf("ready %d %.1f\n", done, elapsed);
  fflush(stdout);

  struct pollfd in = {.fd = 0, .events = POLLIN};
  double hold_until = now_ms() + hold_max * 1000.0;
  static const uint8_t pingreq[2] = {0xc0, 0x00};
  while (now_ms() < hold_until) {
    if (poll(&in, 1, 100) != 0) break; // a line, the end of stdin, or an error
    if (keepalive == 0) continue;
    double now = now_ms();
    for (int i = 0; i < count; i++) {
      if (conns[i].next_ping > now) continue;
      if (write(conns[i].fd, pingreq, 2) != 2) {
        printf("error connection %d: PINGREQ not sent: %s\n", i, strerror(errno));
        fflush(stdout);
        return 1;
      }
      conns[i].next_ping += keepalive * 1000.0;
    }
  }
  return 0; // the kernel closes every socket
}
