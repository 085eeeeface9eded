/* gen.c - kb-bench-gen: a deterministic synthetic corpus of incidents for benchmarks.
 *
 *   kb-bench-gen --count N [--seed S] --out DIR [--hugo DIR]
 * writes N incidents (2-10 KB of Markdown each, 1-3 WinDbg stacks of 10-60 frames) into
 * DIR, and with --hugo the same pages as a Hugo site (content/ + minimal layouts).
 * Frames come from a vocabulary where a few hundred "plumbing" frames are shared by
 * many incidents and most frames are rare (a Zipf-like draw), and incidents come in
 * small clusters that share a crash site, as real duplicates do. Same seed, same bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static uint64_t rng_state;

static uint64_t rnd(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static unsigned pick(unsigned n) { return (unsigned)(rnd() % n); }

static const char *const verbs[] = {"Get", "Set", "Process", "Handle", "Complete", "Indicate", "Return", "Send",
                                    "Receive", "Allocate", "Free", "Map", "Unmap", "Query", "Flush", "Insert",
                                    "Remove", "Dispatch", "Acquire", "Release", "Validate", "Update", "Create", "Close"};
static const char *const nouns[] = {"NetBufferLists", "Packet", "Irp", "Queue", "Filter", "Port", "Nic", "Vmq",
                                    "Buffer", "Context", "Request", "Timer", "Dpc", "Mdl", "Pool", "Lock", "Entry",
                                    "Table", "Stream", "Volume", "Device", "Adapter", "Channel", "Session", "Handle"};
static const char *const words[] = {"the", "node", "crashed", "after", "update", "driver", "during", "migration",
                                    "memory", "dump", "showed", "that", "stack", "was", "inside", "we", "disabled",
                                    "feature", "and", "rebooted", "cluster", "host", "network", "adapter", "storage",
                                    "latency", "spike", "customer", "reported", "outage", "root", "cause", "fixed",
                                    "firmware", "version", "rollback", "workaround", "patch", "kernel", "service"};
static const char *const tags[] = {"bsod", "hyper-v", "network", "storage", "ndis", "vmq", "cluster", "driver",
                                   "firmware", "kernel", "memory", "usb", "gpu", "filesystem", "security", "update"};

#define N_MODULES 400
#define N_PLUMBING 300

/* Frame number k -> "module!function". Low k are plumbing (shared), high k rare. */
static void frame_name(unsigned k, char *buf, size_t size) {
  unsigned mod = k < N_PLUMBING ? k % 12 : 12 + (k * 2654435761u) % (N_MODULES - 12);
  static const char *const core[] = {"nt", "NDIS", "vmswitch", "tcpip", "storport", "Ntfs", "fltmgr", "hal",
                                     "netio", "volmgr", "ksecdd", "CLASSPNP"};
  char modname[32];
  if (mod < 12) snprintf(modname, sizeof modname, "%s", core[mod]);
  else snprintf(modname, sizeof modname, "drv%03u", mod);
  unsigned v = (k * 7919u) % (sizeof verbs / sizeof *verbs), n = (k * 104729u) % (sizeof nouns / sizeof *nouns);
  snprintf(buf, size, "%s!%s%s%s%u", modname, k < N_PLUMBING ? "" : "x", verbs[v], nouns[n], k);
}

/* A frame drawn from the whole vocabulary: mostly rare, sometimes plumbing. */
static unsigned draw_frame(unsigned vocab) {
  if (pick(100) < 35) return pick(N_PLUMBING);
  /* Zipf-ish: squaring a uniform draw favours low (more common) numbers */
  double u = (double)(rnd() >> 11) / 9007199254740992.0;
  return N_PLUMBING + (unsigned)(u * u * (vocab - N_PLUMBING));
}

static void write_stack(kb_buf *b, unsigned cluster, unsigned vocab) {
  unsigned nframes = 10 + pick(51);
  kb_buf_adds(b, "```text\nSTACK_TEXT:\n");
  unsigned long long sp = 0xfffff80040000000ull + (rnd() & 0xffffff0);
  for (unsigned i = 0; i < nframes; i++) {
    char name[96];
    unsigned k;
    if (i < 3) k = N_PLUMBING + (cluster * 3 + i) % (vocab - N_PLUMBING); /* the crash site of the cluster */
    else k = draw_frame(vocab);
    frame_name(k, name, sizeof name);
    unsigned long long ret = 0xfffff80000000000ull + (rnd() & 0xffffffff);
    kb_buf_addf(b, "%08llx`%08llx %08llx`%08llx : 00000000`%08x 00000000`%08x : %s+0x%x\n", sp >> 32,
                sp & 0xffffffff, ret >> 32, ret & 0xffffffff, (unsigned)rnd(), (unsigned)rnd(), name,
                (unsigned)pick(0x2000));
    sp += 0x60;
  }
  kb_buf_adds(b, "```\n\n");
}

static void write_prose(kb_buf *b, size_t bytes) {
  size_t start = b->len;
  while (b->len - start < bytes) {
    unsigned n = 8 + pick(20);
    for (unsigned i = 0; i < n; i++) kb_buf_addf(b, "%s%s", i ? " " : "", words[pick(sizeof words / sizeof *words)]);
    kb_buf_adds(b, pick(4) ? ". " : ".\n\n");
  }
  kb_buf_adds(b, "\n\n");
}

static void write_incident(unsigned i, unsigned count, kb_buf *b, kb_buf *title) {
  unsigned vocab = N_PLUMBING + count * 30;
  unsigned cluster = i / 3 + pick(2); /* clusters of about three incidents share a crash site */
  unsigned code = (unsigned[]){0xA, 0xD1, 0x3B, 0x50, 0x7E, 0x133, 0x9F, 0x1E}[pick(8)];
  kb_buf_reset(title);
  kb_buf_addf(title, "Bugcheck 0x%X in drv%03u after KB%07u on host %u", code, cluster % 400, 2000000 + pick(999999),
              i);
  kb_buf_reset(b);
  kb_buf_addf(b, "---\ntitle: \"%s\"\nid: bench-%06u\ndate: %04u-%02u-%02uT%02u:%02u:00+00:00\ntags: [%s, %s]\n"
                 "categories: [Windows]\nsummary: \"Synthetic incident %u for benchmarks.\"\n---\n",
              title->ptr, i, 2010 + pick(16), 1 + pick(12), 1 + pick(28), pick(24), pick(60),
              tags[pick(sizeof tags / sizeof *tags)], tags[pick(sizeof tags / sizeof *tags)], i);
  kb_buf_adds(b, "## Symptoms\n\n");
  write_prose(b, 600 + pick(2500));
  kb_buf_addf(b, "Stop code 0x%08X. CVE-20%02u-%05u may be related.\n\n## Stack\n\n", code, 10 + pick(16), pick(99999));
  unsigned stacks = 1 + pick(3);
  for (unsigned s = 0; s < stacks; s++) write_stack(b, s == 0 ? cluster : cluster + 7919u * (s + 1), vocab);
  kb_buf_adds(b, "## Root cause\n\n");
  write_prose(b, 300 + pick(2500));
}

static const char hugo_layout[] =
    "<!doctype html><html><head><title>{{ .Title }}</title></head><body><h1>{{ .Title }}</h1>{{ .Content }}"
    "</body></html>\n";
static const char hugo_list[] =
    "<!doctype html><html><head><title>{{ .Title }}</title></head><body><ul>{{ range .Pages }}<li>"
    "<a href=\"{{ .RelPermalink }}\">{{ .Title }}</a></li>{{ end }}</ul></body></html>\n";

int main(int argc, char **argv) {
  unsigned count = 0;
  unsigned long long seed = 1;
  const char *out = NULL, *hugo = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--count") == 0) count = (unsigned)strtoul(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--seed") == 0) seed = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--out") == 0) out = argv[i + 1];
    else if (strcmp(argv[i], "--hugo") == 0) hugo = argv[i + 1];
  }
  if (!count || !out) {
    fprintf(stderr, "usage: kb-bench-gen --count N [--seed S] --out DIR [--hugo DIR]\n");
    return 2;
  }
  rng_state = seed;
  kb_buf b = KB_BUF_INIT, title = KB_BUF_INIT;
  if (hugo) {
    char *p = kb_xasprintf("%s/layouts/_default/single.html", hugo);
    kb_file_write(p, hugo_layout, strlen(hugo_layout));
    free(p);
    p = kb_xasprintf("%s/layouts/_default/list.html", hugo);
    kb_file_write(p, hugo_list, strlen(hugo_list));
    free(p);
    p = kb_xasprintf("%s/hugo.toml", hugo);
    const char *cfg = "baseURL = '/'\ntitle = 'bench'\ndisableKinds = ['RSS']\n";
    kb_file_write(p, cfg, strlen(cfg));
    free(p);
  }
  for (unsigned i = 0; i < count; i++) {
    write_incident(i, count, &b, &title);
    char *p = kb_xasprintf("%s/%03u/bench-%06u.md", out, i / 1000, i);
    if (kb_file_write(p, b.ptr, b.len)) {
      fprintf(stderr, "kb-bench-gen: %s: %s\n", p, strerror(errno));
      return 1;
    }
    free(p);
    if (hugo) {
      p = kb_xasprintf("%s/content/incidents/bench-%06u.md", hugo, i);
      kb_file_write(p, b.ptr, b.len);
      free(p);
    }
  }
  kb_buf_release(&b);
  kb_buf_release(&title);
  return 0;
}
