// Closed-loop pairs load generator for `npm run bench` (bench/cluster.js compiles it with cc).
//
//   pairs HOST PORTS PAIRS WINDOW SECONDS WARMUP_SECONDS QOS PAYLOAD_BYTES [SUB_PORTS]
//
// PORTS and SUB_PORTS are a port or a comma-separated list of ports (SUB_PORTS defaults to
// PORTS). Pair i: a subscriber on SUB_PORTS[i % n] subscribes to pairs/NNNNNNNN (i, 8 digits)
// at QOS; a publisher on PORTS[i % m] publishes there (MQTT 3.1.1, clean sessions, keep-alive
// off), keeping WINDOW messages unacknowledged: it sends the next one for each PUBACK (QoS 1),
// PUBCOMP (QoS 2) or, at QoS 0, each message its subscriber gets (there, a message lost shrinks
// that pair's window for good). Subscribers acknowledge what they get (PUBACK; PUBREC and
// PUBCOMP at QoS 2). So, 2 nodes with the pairs split: PORTS A,B; every publisher on A and
// every subscriber on B: PORTS A, SUB_PORTS B.
//
// Each payload starts with the pair's sequence number (u64). When the warm-up ends, each
// pair's next sequence number is its mark; for SECONDS the generator counts the deliveries
// and the acknowledgements that arrive. Then publishers stop, the generator drains (until
// every marked message acknowledged has been delivered, at most 3 s), and prints one JSON line:
//   delivered, published: msg/s over SECONDS (deliveries to subscribers, acknowledgements
//     to publishers);
//   lost: messages at or after the mark acknowledged to their publisher and never delivered
//     (the acknowledged ones: all those sent after the mark less the pair's unacknowledged ones,
//     taken as the newest; at QoS 0, all those sent after the mark);
//   reordered: deliveries whose sequence number was not above the pair's last one (duplicates
//     or out of order);
//   cpu: this process's CPU seconds (user + system) over SECONDS, cpu_pct the same in %;
//   groups: delivered msg/s per publisher port (in PORTS order).
// On stderr: "pairs: counting" when the warm-up ends and "pairs: stopped" when SECONDS are over
// (for whoever samples other processes' CPU over the same time).
// WINDOW is per pair (at most 65535, the packet ids there are). Single-threaded: one epoll loop;
// replies produced while handling one batch of readable sockets go out in one write per socket.
#define _GNU_SOURCE
#include <sys/resource.h>

#include "mqtt-load.h"

typedef struct {
  int fd;
  int sub; // 1: subscriber, 0: publisher
  int pair;
  int ready;       // CONNACK (publisher) or SUBACK (subscriber) received
  uint8_t *in;     // read buffer
  size_t in_cap, have;
  uint8_t *out;    // pending writes: out[out_off, out_len)
  size_t out_cap, out_off, out_len;
  int want_out;    // EPOLLOUT armed
  int dirty;       // on the flush list
} conn_t;

typedef struct {
  conn_t pub, sub;
  int group;           // index of the publisher's port in PORTS
  char digits[12];     // the pair's number in its topic, pairs/NNNNNNNN
  uint64_t seq;        // next sequence number to publish
  uint64_t mark;       // first sequence number counted (UINT64_MAX until the warm-up ends)
  uint32_t inflight;   // unacknowledged
  uint16_t cursor;     // next packet id to try
  uint8_t *ids;        // bitmap of packet ids in flight
  uint64_t last_seen;  // highest sequence number delivered + 1 (0: none)
  uint64_t delivered_marked;
} pair_t;

static pair_t *pairs_;
static int npairs, window_, qos_, payload_;
static int ep;
static conn_t **flush_list;
static size_t nflush;
static uint8_t *pkt_tmpl; // PUBLISH template, patched per message
static size_t pkt_len, topic_off, id_off, seq_off;

static int counting, stopping;
static uint64_t delivered_count, acked_count, reordered, unexpected_acks;
static uint64_t *group_delivered;

static double cpu_now(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void fail(const char *what) {
  fprintf(stderr, "pairs: %s\n", what);
  exit(2);
}

/** Appends to a connection's pending output; it goes out at the next flush. */
static uint8_t *reserve(conn_t *c, size_t n) {
  if (c->out_off > 0 && c->out_off == c->out_len) c->out_off = c->out_len = 0;
  if (c->out_len + n > c->out_cap) {
    if (c->out_off > 0) { // compact first
      memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
      c->out_len -= c->out_off;
      c->out_off = 0;
    }
    if (c->out_len + n > c->out_cap) {
      size_t cap = c->out_cap ? c->out_cap : 4096;
      while (cap < c->out_len + n) cap *= 2;
      c->out = realloc(c->out, cap);
      if (!c->out) die("realloc");
      c->out_cap = cap;
    }
  }
  uint8_t *p = c->out + c->out_len;
  c->out_len += n;
  if (!c->dirty) {
    c->dirty = 1;
    flush_list[nflush++] = c;
  }
  return p;
}

static void arm(conn_t *c, int want_out) {
  if (c->want_out == want_out) return;
  c->want_out = want_out;
  struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl");
}

/** Writes what the kernel takes; the rest waits for EPOLLOUT. */
static void flush_conn(conn_t *c) {
  while (c->out_off < c->out_len) {
    ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      die("write");
    }
    c->out_off += (size_t)n;
  }
  if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
  arm(c, c->out_len > c->out_off);
}

static void flush_all(void) {
  for (size_t i = 0; i < nflush; i++) {
    flush_list[i]->dirty = 0;
    flush_conn(flush_list[i]);
  }
  nflush = 0;
}

static void send_connect(conn_t *c) {
  char id[64];
  snprintf(id, sizeof id, "pairs-%s-%d-%d", c->sub ? "sub" : "pub", c->pair, (int)getpid());
  uint8_t pkt[160];
  size_t n = mqtt_connect_packet(pkt, id, 0); // keep alive off
  memcpy(reserve(c, n), pkt, n);
}

static void send_subscribe(conn_t *c) {
  char topic[32];
  snprintf(topic, sizeof topic, "pairs/%08d", c->pair); // the PUBLISH template's spelling
  uint8_t pkt[64];
  size_t n = mqtt_subscribe_packet(pkt, topic, qos_);
  memcpy(reserve(c, n), pkt, n);
}

static void send_ack(conn_t *c, uint8_t type, uint16_t id) {
  mqtt_ack(reserve(c, 4), type, id);
}

static int id_used(pair_t *p, uint16_t id) { return (p->ids[id >> 3] >> (id & 7)) & 1; }
static void id_set(pair_t *p, uint16_t id) { p->ids[id >> 3] |= (uint8_t)(1u << (id & 7)); }
static void id_clear(pair_t *p, uint16_t id) { p->ids[id >> 3] &= (uint8_t)~(1u << (id & 7)); }

/** One PUBLISH of pair p's next sequence number (with a free packet id at QoS > 0). */
static void publish(pair_t *p) {
  uint8_t *b = reserve(&p->pub, pkt_len);
  memcpy(b, pkt_tmpl, pkt_len);
  memcpy(b + topic_off, p->digits, 8);
  if (qos_ > 0) {
    uint16_t id = p->cursor;
    while (id == 0 || id_used(p, id)) id++; // a free one exists: inflight < WINDOW ≤ 65535
    id_set(p, id);
    p->cursor = (uint16_t)(id + 1);
    b[id_off] = (uint8_t)(id >> 8);
    b[id_off + 1] = (uint8_t)id;
  }
  memcpy(b + seq_off, &p->seq, sizeof p->seq);
  p->seq++;
  p->inflight++;
}

/** Room in the window: top it up (unless the run is over). */
static void refill(pair_t *p) {
  while (!stopping && p->inflight < (uint32_t)window_) publish(p);
}

static void on_delivery(pair_t *p, const uint8_t *payload) {
  uint64_t seq;
  memcpy(&seq, payload, sizeof seq);
  if (seq + 1 <= p->last_seen) reordered++;
  else p->last_seen = seq + 1;
  if (counting) {
    delivered_count++;
    group_delivered[p->group]++;
  }
  if (seq >= p->mark) p->delivered_marked++;
  if (qos_ == 0 && p->inflight > 0) {
    p->inflight--;
    refill(p);
  }
}

static void on_acked(pair_t *p, uint16_t id) {
  if (id == 0 || !id_used(p, id)) {
    unexpected_acks++;
    return;
  }
  id_clear(p, id);
  p->inflight--;
  if (counting) acked_count++;
  refill(p);
}

/** Messages at or after the mark acknowledged (QoS 0: sent) so far. */
static uint64_t marked_acked(const pair_t *p) {
  uint64_t after = p->seq - p->mark;
  if (qos_ == 0) return after;
  return after > p->inflight ? after - p->inflight : 0;
}

static void on_packet(conn_t *c, const uint8_t *pk, size_t len, size_t body) {
  pair_t *p = &pairs_[c->pair];
  uint8_t type = pk[0] >> 4;
  const uint8_t *b = pk + (len - body);
  switch (type) {
  case 2: // CONNACK
    if (body < 2 || b[1] != 0) fail("connection refused");
    if (!c->sub) c->ready = 1;
    return;
  case 9: // SUBACK
    if (body < 3 || b[2] == 0x80) fail("subscription refused");
    c->ready = 1;
    return;
  case 3: { // PUBLISH
    if (!c->sub) return;
    if (body < 2) fail("short PUBLISH");
    int pq;
    uint16_t id;
    size_t off = mqtt_publish_payload(b, pk[0], &pq, &id);
    if (body < off + 8) fail("short PUBLISH payload");
    on_delivery(p, b + off);
    if (pq == 1) send_ack(c, 0x40, id);
    else if (pq == 2) send_ack(c, 0x50, id); // PUBREC
    return;
  }
  case 4: // PUBACK
    if (!c->sub && body >= 2) on_acked(p, (uint16_t)((b[0] << 8) | b[1]));
    return;
  case 5: // PUBREC: release it
    if (!c->sub && body >= 2) send_ack(c, 0x62, (uint16_t)((b[0] << 8) | b[1]));
    return;
  case 6: // PUBREL (to a subscriber): complete it
    if (c->sub && body >= 2) send_ack(c, 0x70, (uint16_t)((b[0] << 8) | b[1]));
    return;
  case 7: // PUBCOMP
    if (!c->sub && body >= 2) on_acked(p, (uint16_t)((b[0] << 8) | b[1]));
    return;
  default:
    return;
  }
}

static void on_readable(conn_t *c) {
  for (;;) {
    if (c->have == c->in_cap) fail("packet larger than the read buffer");
    ssize_t n = read(c->fd, c->in + c->have, c->in_cap - c->have);
    if (n < 0) {
      if (errno == EAGAIN) return;
      if (errno == EINTR) continue;
      die("read");
    }
    if (n == 0) fail("connection closed by the broker");
    c->have += (size_t)n;
    size_t pos = 0;
    for (;;) {
      size_t i, rem;
      int h = mqtt_fixed_header(c->in + pos, c->have - pos, &i, &rem);
      if (h < 0) fail("malformed remaining length");
      if (h == 0 || c->have - pos < i + rem) break;
      on_packet(c, c->in + pos, i + rem, rem);
      pos += i + rem;
    }
    if (pos > 0) {
      memmove(c->in, c->in + pos, c->have - pos);
      c->have -= pos;
    }
    if ((size_t)n < c->in_cap / 2) return; // drained (saves the read that would say EAGAIN)
  }
}

/** "1883" or "1883,1884" → ports; returns the count. */
static int parse_ports(const char *s, int **out) {
  int n = 1;
  for (const char *q = s; *q; q++) n += *q == ',';
  *out = calloc((size_t)n, sizeof **out);
  char *copy = strdup(s), *save = NULL;
  int k = 0;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) (*out)[k++] = atoi(tok);
  free(copy);
  if (k == 0) fail("no ports");
  return k;
}

static void open_conn(conn_t *c, const char *host, int port, size_t in_cap) {
  int fd = tcp_connect(host, port, "pairs: HOST: an IPv4 address");
  set_nonblocking(fd);
  c->fd = fd;
  c->in_cap = in_cap;
  c->in = malloc(in_cap);
  if (!c->in) die("malloc");
  if (epoll_add_in(ep, fd, c) < 0) die("epoll_ctl");
}

/** Handles what is readable/writable for up to timeout_ms, then flushes the replies. */
static void poll_once(int timeout_ms) {
  struct epoll_event evs[256];
  int n = epoll_wait(ep, evs, 256, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return;
    die("epoll_wait");
  }
  for (int k = 0; k < n; k++) {
    conn_t *c = evs[k].data.ptr;
    if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
    if ((evs[k].events & EPOLLOUT) && !c->dirty) {
      c->dirty = 1;
      flush_list[nflush++] = c;
    }
  }
  flush_all();
}

int main(int argc, char **argv) {
  if (argc < 9) {
    fprintf(stderr, "usage: pairs HOST PORTS PAIRS WINDOW SECONDS WARMUP_SECONDS QOS PAYLOAD_BYTES [SUB_PORTS]\n"
                    "  PORTS, SUB_PORTS: a port or a comma-separated list (pair i on PORTS[i %% n])\n");
    return 2;
  }
  const char *host = argv[1];
  int *ports, *sub_ports;
  int nports = parse_ports(argv[2], &ports);
  int nsub_ports = parse_ports(argc > 9 ? argv[9] : argv[2], &sub_ports);
  npairs = atoi(argv[3]);
  window_ = atoi(argv[4]);
  double seconds = atof(argv[5]), warmup = atof(argv[6]);
  qos_ = atoi(argv[7]);
  payload_ = atoi(argv[8]);
  if (npairs < 1 || npairs > 99999999) fail("PAIRS: 1 to 99999999");
  if (window_ < 1) fail("WINDOW: at least 1");
  if (window_ > 65535) window_ = 65535; // the packet ids there are
  if (qos_ < 0 || qos_ > 2) fail("QOS: 0, 1 or 2");
  if (payload_ < 8) payload_ = 8;

  // PUBLISH template: topic pairs/NNNNNNNN (fixed width: one template for every pair).
  size_t tlen = strlen("pairs/") + 8;
  size_t rem = 2 + tlen + (qos_ > 0 ? 2 : 0) + (size_t)payload_;
  pkt_tmpl = calloc(rem + 5, 1);
  size_t n = 0;
  pkt_tmpl[n++] = (uint8_t)(0x30 | (qos_ << 1));
  n += put_varint(pkt_tmpl + n, rem);
  pkt_tmpl[n++] = 0;
  pkt_tmpl[n++] = (uint8_t)tlen;
  memcpy(pkt_tmpl + n, "pairs/", 6);
  topic_off = n + 6;
  n += tlen;
  id_off = n;
  if (qos_ > 0) n += 2;
  seq_off = n;
  n += (size_t)payload_;
  pkt_len = n;

  ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  pairs_ = calloc((size_t)npairs, sizeof *pairs_);
  flush_list = calloc((size_t)npairs * 2, sizeof *flush_list);
  group_delivered = calloc((size_t)nports, sizeof *group_delivered);
  size_t in_cap = 65536;
  while (in_cap < 4 * (pkt_len + 64)) in_cap *= 2;
  for (int i = 0; i < npairs; i++) {
    pair_t *p = &pairs_[i];
    p->group = i % nports;
    snprintf(p->digits, sizeof p->digits, "%08d", i);
    p->mark = UINT64_MAX;
    p->cursor = 1;
    p->ids = calloc(65536 / 8, 1);
    p->sub.sub = 1;
    p->sub.pair = p->pub.pair = i;
    open_conn(&p->sub, host, sub_ports[i % nsub_ports], in_cap);
    open_conn(&p->pub, host, ports[i % nports], in_cap);
    send_connect(&p->sub);
    send_subscribe(&p->sub);
    send_connect(&p->pub);
  }
  flush_all();

  // Every CONNACK and SUBACK first (10 s at most).
  uint64_t t0 = now_ns();
  for (;;) {
    int waiting = 0;
    for (int i = 0; i < npairs; i++) waiting += !pairs_[i].pub.ready + !pairs_[i].sub.ready;
    if (waiting == 0) break;
    if (now_ns() - t0 > 10000000000ull) fail("no CONNACK/SUBACK within 10 s");
    poll_once(100);
  }

  uint64_t start = now_ns();
  uint64_t warm_end = start + (uint64_t)(warmup * 1e9);
  uint64_t end = warm_end + (uint64_t)(seconds * 1e9);
  for (int i = 0; i < npairs; i++) refill(&pairs_[i]);
  flush_all();

  double cpu_a = 0, cpu_b = 0;
  uint64_t t_a = 0, t_b = 0;
  for (;;) {
    uint64_t t = now_ns();
    if (!counting && t >= warm_end) {
      for (int i = 0; i < npairs; i++) {
        pairs_[i].mark = pairs_[i].seq;
      }
      counting = 1;
      t_a = t;
      cpu_a = cpu_now();
      fputs("pairs: counting\n", stderr);
    }
    if (counting && t >= end) break;
    uint64_t next = counting ? end : warm_end;
    int timeout = (int)((next - t) / 1000000ull) + 1;
    poll_once(timeout > 50 ? 50 : timeout);
  }
  counting = 0;
  t_b = now_ns();
  cpu_b = cpu_now();
  fputs("pairs: stopped\n", stderr);
  stopping = 1;

  // Drain: until nothing is unacknowledged and every marked message has been delivered
  // (3 s at most). The marked messages acknowledged: those published after the mark less the
  // ones still unacknowledged (the newest: brokers acknowledge a client's publishes in order).
  uint64_t drain_start = now_ns();
  for (;;) {
    int busy = 0;
    for (int i = 0; i < npairs && !busy; i++) {
      pair_t *p = &pairs_[i];
      busy = (qos_ > 0 && p->inflight > 0) || p->delivered_marked < marked_acked(p);
    }
    if (!busy || now_ns() - drain_start > 3000000000ull) break;
    poll_once(10);
  }
  uint64_t drain_ms = (now_ns() - drain_start) / 1000000ull;

  // QoS 0: nothing is acknowledged; "published" is what was sent after the mark.
  uint64_t lost = 0, unacked = 0;
  for (int i = 0; i < npairs; i++) {
    pair_t *p = &pairs_[i];
    uint64_t acked = marked_acked(p);
    if (acked > p->delivered_marked) lost += acked - p->delivered_marked;
    unacked += p->inflight;
  }
  double dt = (double)(t_b - t_a) / 1e9;
  uint64_t published = acked_count;
  if (qos_ == 0) {
    published = 0;
    for (int i = 0; i < npairs; i++) published += pairs_[i].seq - pairs_[i].mark;
  }
  printf("{\"pairs\":%d,\"window\":%d,\"qos\":%d,\"payload\":%d,\"seconds\":%.3f,\"delivered\":%.1f,\"published\":%.1f,"
         "\"lost\":%llu,\"reordered\":%llu,\"unacked\":%llu,\"unexpected_acks\":%llu,\"drain_ms\":%llu,"
         "\"cpu\":%.3f,\"cpu_pct\":%.1f,\"groups\":[",
         npairs, window_, qos_, payload_, dt, (double)delivered_count / dt, (double)published / dt, (unsigned long long)lost,
         (unsigned long long)reordered, (unsigned long long)unacked, (unsigned long long)unexpected_acks,
         (unsigned long long)drain_ms, cpu_b - cpu_a, 100.0 * (cpu_b - cpu_a) / dt);
  for (int g = 0; g < nports; g++) printf("%s%.1f", g ? "," : "", (double)group_delivered[g] / dt);
  printf("]}\n");
  return 0;
}
