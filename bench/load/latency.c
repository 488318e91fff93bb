// Latency load generator for `npm run bench` (bench/latency.js compiles it with cc).
//
//   latency HOST PORT PUBS RATE SECONDS WARMUP_SECONDS QOS PAYLOAD_BYTES [SUB_PORT]
//
// Opens PUBS publisher and PUBS subscriber connections (MQTT 3.1.1). Subscriber i subscribes
// to lat/i at QOS; publisher i publishes to lat/i at RATE messages/s on a fixed schedule
// (open loop: it never waits for acknowledgements). Each payload starts with the send time
// (CLOCK_MONOTONIC, ns); a subscriber takes the end-to-end latency of every PUBLISH it
// gets and acknowledges it (PUBACK for QoS 1). After the warm-up, latencies are kept for
// SECONDS; then one JSON line is printed with the count, loss and percentiles in µs.
// SUB_PORT (default PORT): the subscribers connect there, e.g. another node of a cluster.
// Single-threaded: one epoll loop and a 100 µs timerfd tick for the send schedule.
#define _GNU_SOURCE
#include <sys/timerfd.h>

#include "mqtt-load.h"

typedef struct {
  int fd;
  int sub; // 1: subscriber, 0: publisher
  int index;
  uint8_t in[1 << 16];
  size_t have;
  uint16_t next_id;
  int ready; // CONNACK (and SUBACK) received
} conn_t;

static void write_all(int fd, const uint8_t *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue; // rare at these rates: spin until the kernel takes it
      die("write");
    }
    buf += n;
    len -= (size_t)n;
  }
}

static void send_connect(conn_t *c) {
  char id[64];
  snprintf(id, sizeof id, "lat-%s-%d-%d", c->sub ? "sub" : "pub", c->index, (int)getpid());
  uint8_t pkt[160];
  write_all(c->fd, pkt, mqtt_connect_packet(pkt, id, 60)); // keep alive 60 s
}

static void send_subscribe(conn_t *c, int qos) {
  char topic[32];
  snprintf(topic, sizeof topic, "lat/%d", c->index);
  uint8_t pkt[64];
  write_all(c->fd, pkt, mqtt_subscribe_packet(pkt, topic, qos));
}

static uint64_t *samples;
static size_t nsamples, cap;
static uint64_t received;
/** Messages sent in [measure_from, measure_to) are measured. */
static uint64_t measure_from, measure_to;

static void on_packet(conn_t *c, const uint8_t *p, size_t len, size_t body, int qos) {
  uint8_t type = p[0] >> 4;
  if (type == 2) { // CONNACK
    if (!c->sub) c->ready = 1;
    return;
  }
  if (type == 9) { // SUBACK
    c->ready = 1;
    return;
  }
  if (type != 3 || !c->sub) return; // PUBACK etc. to publishers: nothing to do
  const uint8_t *b = p + (len - body);
  int pqos;
  uint16_t id;
  size_t off = mqtt_publish_payload(b, p[0], &pqos, &id);
  uint64_t sent;
  memcpy(&sent, b + off, sizeof sent);
  uint64_t lat = now_ns() - sent;
  if (sent >= measure_from && sent < measure_to) {
    received++;
    if (nsamples == cap) {
      cap = cap ? cap * 2 : 1 << 16;
      samples = realloc(samples, cap * sizeof *samples);
      if (!samples) die("realloc");
    }
    samples[nsamples++] = lat;
  }
  if (pqos == 1) {
    uint8_t ack[4];
    mqtt_ack(ack, 0x40, id); // PUBACK
    write_all(c->fd, ack, 4);
  }
  (void)qos;
}

static void on_readable(conn_t *c, int qos) {
  for (;;) {
    ssize_t n = read(c->fd, c->in + c->have, sizeof c->in - c->have);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      die("read");
    }
    if (n == 0) {
      fprintf(stderr, "connection closed by the broker\n");
      exit(2);
    }
    c->have += (size_t)n;
    size_t pos = 0;
    for (;;) {
      size_t i, rem;
      if (mqtt_fixed_header(c->in + pos, c->have - pos, &i, &rem) != 1 || c->have - pos < i + rem) break;
      on_packet(c, c->in + pos, i + rem, rem, qos);
      pos += i + rem;
    }
    memmove(c->in, c->in + pos, c->have - pos);
    c->have -= pos;
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(double p) {
  if (nsamples == 0) return 0;
  size_t i = (size_t)(p * (double)(nsamples - 1));
  return (double)samples[i] / 1000.0;
}

int main(int argc, char **argv) {
  if (argc < 9) {
    fprintf(stderr, "usage: latency HOST PORT PUBS RATE SECONDS WARMUP QOS PAYLOAD [SUB_PORT]\n");
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]), pubs = atoi(argv[3]), rate = atoi(argv[4]);
  double seconds = atof(argv[5]), warmup = atof(argv[6]);
  int qos = atoi(argv[7]);
  int payload = atoi(argv[8]);
  if (payload < 8) payload = 8;
  int sub_port = argc > 9 ? atoi(argv[9]) : port;

  int ep = epoll_create1(0);
  conn_t *conns = calloc((size_t)(2 * pubs), sizeof(conn_t));
  for (int i = 0; i < 2 * pubs; i++) {
    conn_t *c = &conns[i];
    c->sub = i < pubs;
    c->index = i % pubs;
    c->fd = tcp_connect(host, c->sub ? sub_port : port, NULL);
    c->next_id = 1;
    send_connect(c);
    if (c->sub) send_subscribe(c, qos);
  }
  // Wait (blocking reads) until every connection is ready, then go non-blocking.
  for (int i = 0; i < 2 * pubs; i++) {
    conn_t *c = &conns[i];
    while (!c->ready) {
      ssize_t n = read(c->fd, c->in + c->have, sizeof c->in - c->have);
      if (n <= 0) die("handshake");
      c->have += (size_t)n;
      size_t pos = 0;
      while (c->have - pos >= 2 && c->have - pos >= 2u + c->in[pos + 1]) {
        on_packet(c, c->in + pos, 2u + c->in[pos + 1], c->in[pos + 1], qos);
        pos += 2u + c->in[pos + 1];
      }
      memmove(c->in, c->in + pos, c->have - pos);
      c->have -= pos;
    }
    set_nonblocking(c->fd);
    epoll_add_in(ep, c->fd, c);
  }

  // Pre-built PUBLISH per publisher (patched: packet id, timestamp).
  size_t tlen = 0;
  uint8_t **pkts = calloc((size_t)pubs, sizeof *pkts);
  size_t *plen = calloc((size_t)pubs, sizeof *plen);
  size_t *ts_off = calloc((size_t)pubs, sizeof *ts_off);
  for (int i = 0; i < pubs; i++) {
    char topic[32];
    snprintf(topic, sizeof topic, "lat/%d", i);
    tlen = strlen(topic);
    size_t rem = 2 + tlen + (qos > 0 ? 2 : 0) + (size_t)payload;
    uint8_t *p = calloc(rem + 4, 1);
    size_t n = 0;
    p[n++] = (uint8_t)(0x30 | (qos << 1));
    n += put_varint(p + n, rem);
    n += put_str(p + n, topic);
    if (qos > 0) n += 2;
    ts_off[i] = n;
    n += (size_t)payload;
    pkts[i] = p;
    plen[i] = n;
  }

  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct itimerspec its = {.it_interval = {0, 100000}, .it_value = {0, 100000}};
  timerfd_settime(tfd, 0, &its, NULL);
  epoll_add_in(ep, tfd, NULL);

  uint64_t start = now_ns();
  uint64_t warm_end = start + (uint64_t)(warmup * 1e9);
  uint64_t end = warm_end + (uint64_t)(seconds * 1e9);
  uint64_t interval = 1000000000ull / (uint64_t)rate;
  measure_from = warm_end;
  measure_to = end;
  uint64_t *next = calloc((size_t)pubs, sizeof *next);
  for (int i = 0; i < pubs; i++) next[i] = start + interval * (uint64_t)i / (uint64_t)pubs; // staggered
  uint64_t sent_measured = 0;
  struct epoll_event evs[64];
  for (;;) {
    uint64_t t = now_ns();
    if (t >= end + 1000000000ull) break; // 1 s to drain
    if (t < end) {
      for (int i = 0; i < pubs; i++) {
        while (next[i] <= t) {
          uint8_t *p = pkts[i];
          if (qos > 0) {
            conn_t *c = &conns[pubs + i];
            p[ts_off[i] - 2] = (uint8_t)(c->next_id >> 8);
            p[ts_off[i] - 1] = (uint8_t)c->next_id;
            c->next_id = c->next_id == 65535 ? 1 : c->next_id + 1;
          }
          uint64_t stamp = now_ns();
          memcpy(p + ts_off[i], &stamp, sizeof stamp);
          write_all(conns[pubs + i].fd, p, plen[i]);
          if (stamp >= measure_from && stamp < measure_to) sent_measured++;
          next[i] += interval;
        }
      }
    }
    int n = epoll_wait(ep, evs, 64, 10);
    for (int k = 0; k < n; k++) {
      conn_t *c = evs[k].data.ptr;
      if (c == NULL) {
        uint64_t ticks;
        if (read(tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN) die("timerfd");
        continue;
      }
      on_readable(c, qos);
    }
  }
  qsort(samples, nsamples, sizeof *samples, cmp_u64);
  double loss = sent_measured > 0 && received < sent_measured ? 1.0 - (double)received / (double)sent_measured : 0.0;
  printf("{\"sent\":%llu,\"received\":%llu,\"loss\":%.6f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f}\n",
         (unsigned long long)sent_measured, (unsigned long long)received, loss, pct(0.5), pct(0.9), pct(0.99), pct(0.999),
         nsamples ? (double)samples[nsamples - 1] / 1000.0 : 0.0);
  return 0;
}
