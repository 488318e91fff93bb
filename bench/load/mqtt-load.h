// What the C load generators (pairs.c, latency.c) share: the clock, errors, the TCP connection,
// MQTT 3.1.1 packet encoding (CONNECT, SUBSCRIBE, PUBLISH header, 4-byte acks), reading a
// packet's fixed header and a PUBLISH's variable header, and epoll registration. Each program
// is compiled as one file (`cc -O2 -o BIN FILE.c`), so everything here is static inline.
#ifndef MQTT_LOAD_H
#define MQTT_LOAD_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/** CLOCK_MONOTONIC in ns. */
static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void die(const char *what) {
  perror(what);
  exit(2);
}

/**
 * A TCP connection (TCP_NODELAY) to host:port, blocking. bad_host: when not NULL, the line
 * printed (exit 2) if host is not an IPv4 address; NULL: such a host is not checked.
 */
static inline int tcp_connect(const char *host, int port, const char *bad_host) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1 && bad_host) {
    fprintf(stderr, "%s\n", bad_host);
    exit(2);
  }
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static inline void set_nonblocking(int fd) {
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) die("fcntl");
}

/** Watches fd for EPOLLIN with ptr as its data; epoll_ctl's result. */
static inline int epoll_add_in(int ep, int fd, void *ptr) {
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ptr};
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/** A length-prefixed string; bytes written. */
static inline size_t put_str(uint8_t *p, const char *s) {
  size_t n = strlen(s);
  p[0] = (uint8_t)(n >> 8);
  p[1] = (uint8_t)n;
  memcpy(p + 2, s, n);
  return n + 2;
}

/** A remaining length (variable byte integer); bytes written (1 to 4). */
static inline size_t put_varint(uint8_t *p, size_t r) {
  size_t n = 0;
  do {
    uint8_t d = r % 128;
    r /= 128;
    if (r) d |= 128;
    p[n++] = d;
  } while (r);
  return n;
}

/** CONNECT, MQTT 3.1.1, clean session, client id (under 64 bytes) into pkt (160 bytes); its length. */
static inline size_t mqtt_connect_packet(uint8_t *pkt, const char *id, uint8_t keep_alive) {
  uint8_t body[128];
  size_t n = put_str(body, "MQTT");
  body[n++] = 4;    // 3.1.1
  body[n++] = 0x02; // clean session
  body[n++] = 0;
  body[n++] = keep_alive;
  n += put_str(body + n, id);
  pkt[0] = 0x10;
  pkt[1] = (uint8_t)n;
  memcpy(pkt + 2, body, n);
  return n + 2;
}

/** SUBSCRIBE (packet id 1) to one topic (under 32 bytes) at qos into pkt (64 bytes); its length. */
static inline size_t mqtt_subscribe_packet(uint8_t *pkt, const char *topic, int qos) {
  size_t n = 2;
  pkt[n++] = 0;
  pkt[n++] = 1; // packet id 1
  n += put_str(pkt + n, topic);
  pkt[n++] = (uint8_t)qos;
  pkt[0] = 0x82;
  pkt[1] = (uint8_t)(n - 2);
  return n;
}

/** A 4-byte packet with a packet id (PUBACK 0x40, PUBREC 0x50, PUBREL 0x62, PUBCOMP 0x70). */
static inline void mqtt_ack(uint8_t *p, uint8_t type, uint16_t id) {
  p[0] = type;
  p[1] = 2;
  p[2] = (uint8_t)(id >> 8);
  p[3] = (uint8_t)id;
}

/**
 * The fixed header of the packet at in[0, avail): 1 with *hdr (its length) and *rem (the
 * remaining length) when the whole header is there, 0 when more bytes are needed, -1 when
 * the remaining length is malformed (no end within 4 bytes).
 */
static inline int mqtt_fixed_header(const uint8_t *in, size_t avail, size_t *hdr, size_t *rem) {
  if (avail < 2) return 0;
  size_t r = 0, mult = 1, i = 1;
  while (i < 5 && i < avail) {
    uint8_t d = in[i];
    r += (d & 127) * mult;
    mult *= 128;
    i++;
    if (!(d & 128)) {
      *hdr = i;
      *rem = r;
      return 1;
    }
  }
  return i == 5 ? -1 : 0;
}

/**
 * A PUBLISH's variable header: b is its body (after the fixed header), flags its first byte.
 * The payload's offset in b; *qos and *id (0 at QoS 0) set. b must hold the topic length.
 */
static inline size_t mqtt_publish_payload(const uint8_t *b, uint8_t flags, int *qos, uint16_t *id) {
  size_t off = 2 + (((size_t)b[0] << 8) | b[1]);
  *qos = (flags >> 1) & 3;
  *id = 0;
  if (*qos > 0) {
    *id = (uint16_t)((b[off] << 8) | b[off + 1]);
    off += 2;
  }
  return off;
}

#endif
