/*
 * yardstick.c: the floor the benchmarks measure ppc-dombuild against.
 *
 * It does the raw work of two construct phases over flat arrays, with no
 * allocator, no checks and no I/O:
 *
 *   p2m_fill  dom0's pfn -> mfn table, big-endian u32 entries, inside a
 *             64 MiB RMA buffer: the RMA's own frames first, then one
 *             16 MiB extent (4096 frames) at a time, INVALID_MFN after the
 *             boot size;
 *   hpt_map   dom0's kernel bolting its linear map (0xC000000000000000 +
 *             paddr) into a hashed page table, 4 KiB or 16 MiB pages: VSID
 *             per 256 MiB segment, hash, primary PTEG, first free slot,
 *             HPTE v and r words (Linux 2.6.18 include/asm-powerpc/mmu.h).
 *
 * Usage:  cc -O2 -o yardstick yardstick.c && ./yardstick 4G 4K
 *         ./yardstick SIZE [4K|16M]      SIZE: bytes, or with K/M/G suffix
 *
 * Output, one "key value" pair a line (bench/lib.js and bench/hpt.js read it):
 *   p2m_fill_ms, hpt_map_ms, inserted, pteg_full, checksum (hex; it keeps the
 *   compiler from dropping the work).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum {
  PG_SHIFT = 12,
  EXTENT_FRAMES = 4096,        /* 16 MiB / 4 KiB */
  HPTES_PER_PTEG = 8,
  PTEG_BYTES = 128,
};

#define RMA_SIZE (64ull << 20)
#define OF_AREA_END (33ull << 20)      /* OF handler at 32 MiB, ~1 MiB with its tree */
#define RMA_FIRST_MFN 0x10000ull       /* the RMA at machine 256 MiB */
#define IO_HOLE_END_MFN (0x100000000ull >> PG_SHIFT)
#define NO_MFN 0xFFFFFFFFu
#define LINEAR_BASE 0xC000000000000000ull
#define KERNEL_TEXT_END (6ull << 20)   /* the synthetic kernel's size */

/* Linux 2.6.18 mmu.h: kernel VSIDs and HPTE bits. */
#define VSID_MULTIPLIER 200730139ull
#define VSID_MODULUS ((1ull << 36) - 1)
#define V_BOLTED 0x10ull
#define V_LARGE 0x4ull
#define V_VALID 0x1ull
#define R_REF_CHG_M 0x190ull           /* R | C | M, PP 0 */
#define R_NOEXEC 0x4ull

struct table {
  uint8_t *rma;      /* the whole RMA, the table inside it */
  uint8_t *p2m;
  uint64_t entries;
};

struct hpt {
  uint64_t *v, *r;   /* word 0 and word 1 of every HPTE */
  uint64_t groups, mask;
};

static double clock_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static uint64_t size_arg(const char *text) {
  char *end;
  uint64_t n = strtoull(text, &end, 0);
  unsigned shift = 0;
  if (*end == 'K' || *end == 'k') shift = 10;
  else if (*end == 'M' || *end == 'm') shift = 20;
  else if (*end == 'G' || *end == 'g') shift = 30;
  return n << shift;
}

static inline void store_be32(uint8_t *at, uint32_t x) {
  at[0] = (uint8_t)(x >> 24);
  at[1] = (uint8_t)(x >> 16);
  at[2] = (uint8_t)(x >> 8);
  at[3] = (uint8_t)x;
}

static inline uint32_t load_be32(const uint8_t *at) {
  return ((uint32_t)at[0] << 24) | ((uint32_t)at[1] << 16) | ((uint32_t)at[2] << 8) | at[3];
}

/* Write `count` consecutive mfns from `mfn` into the entries from `pfn`. */
static void fill_run(struct table *t, uint64_t pfn, uint64_t mfn, uint64_t count) {
  uint8_t *at = t->p2m + pfn * 4;
  for (uint64_t k = 0; k < count; k++, at += 4) store_be32(at, (uint32_t)(mfn + k));
}

/* The table for a dom0 of `pages` frames, covering `entries` pfns. */
static void build_p2m(struct table *t, uint64_t pages) {
  uint64_t rma_frames = RMA_SIZE >> PG_SHIFT;
  fill_run(t, 0, RMA_FIRST_MFN, rma_frames < pages ? rma_frames : pages);
  /* Extents come down from the top of the domain heap, above the IO hole. */
  uint64_t next = IO_HOLE_END_MFN + pages + 0x10000;
  for (uint64_t pfn = rma_frames; pfn < pages; pfn += EXTENT_FRAMES) {
    uint64_t n = pages - pfn < EXTENT_FRAMES ? pages - pfn : EXTENT_FRAMES;
    next -= EXTENT_FRAMES;
    fill_run(t, pfn, next, n);
  }
  for (uint64_t pfn = pages; pfn < t->entries; pfn++) store_be32(t->p2m + pfn * 4, NO_MFN);
}

/* dom0's hash table: 1/64 of its memory, a power of two, at least 256 KiB. */
static int htab_init(struct hpt *h, uint64_t mem) {
  uint64_t bytes = 256 << 10;
  while (bytes < mem / 64) bytes *= 2;
  h->groups = bytes / PTEG_BYTES;
  h->mask = h->groups - 1;
  h->v = calloc(h->groups * HPTES_PER_PTEG, sizeof *h->v);
  h->r = calloc(h->groups * HPTES_PER_PTEG, sizeof *h->r);
  return h->v && h->r ? 0 : -1;
}

static inline uint64_t kernel_vsid(uint64_t ea) {
  return ((ea >> 28) * VSID_MULTIPLIER) % VSID_MODULUS;
}

/* Bolt [0, mem) at LINEAR_BASE with pages of 1 << shift bytes; returns entries made. */
static uint64_t map_linear(struct hpt *h, const struct table *t, uint64_t mem, unsigned shift, uint64_t *full) {
  uint64_t made = 0, segment = UINT64_MAX, vsid = 0;
  uint64_t vflags = V_BOLTED | V_VALID | (shift == 24 ? V_LARGE : 0);
  for (uint64_t paddr = 0; paddr < mem; paddr += 1ull << shift) {
    uint64_t ea = LINEAR_BASE + paddr;
    if (ea >> 28 != segment) {
      segment = ea >> 28;
      vsid = kernel_vsid(ea);
    }
    uint64_t va = (vsid << 28) | (ea & 0x0FFFFFFFull);
    uint64_t hash = (vsid & 0x7FFFFFFFFFull) ^ ((ea & 0x0FFFFFFFull) >> shift);
    uint64_t *v = h->v + (hash & h->mask) * HPTES_PER_PTEG;
    unsigned slot = 0;
    while (slot < HPTES_PER_PTEG && (v[slot] & V_VALID)) slot++;
    if (slot == HPTES_PER_PTEG) {  /* bolted entries never go secondary */
      (*full)++;
      continue;
    }
    uint64_t mfn = load_be32(t->p2m + (paddr >> PG_SHIFT) * 4);
    uint64_t rflags = paddr < KERNEL_TEXT_END ? R_REF_CHG_M : R_REF_CHG_M | R_NOEXEC;
    v[slot] = ((va >> 23) << 7) | vflags;
    h->r[(v - h->v) + slot] = (mfn << PG_SHIFT) | rflags;
    made++;
  }
  return made;
}

int main(int argc, char **argv) {
  uint64_t mem = size_arg(argc > 1 ? argv[1] : "4G");
  unsigned shift = argc > 2 && argv[2][0] == '1' ? 24 : 12;
  uint64_t pages = mem >> PG_SHIFT;
  struct table t = { calloc(1, RMA_SIZE), NULL, pages };
  if (!t.rma) return 1;
  /* Just past the OF area if it fits, else back from the end, before shared_info. */
  uint64_t at = OF_AREA_END;
  if (at + pages * 4 > RMA_SIZE) at = RMA_SIZE - 4096 - pages * 4;
  t.p2m = t.rma + at;

  double t0 = clock_ms();
  build_p2m(&t, pages);
  double t1 = clock_ms();

  struct hpt h;
  if (htab_init(&h, mem)) return 1;
  uint64_t full = 0;
  double t2 = clock_ms();
  uint64_t made = map_linear(&h, &t, mem, shift, &full);
  double t3 = clock_ms();

  uint64_t sum = 0;
  for (uint64_t i = 0; i < h.groups * HPTES_PER_PTEG; i++) sum += h.v[i] ^ h.r[i];
  for (uint64_t i = 0; i < pages; i += 997) sum += load_be32(t.p2m + i * 4);
  printf("p2m_fill_ms %.3f\n", t1 - t0);
  printf("hpt_map_ms %.3f\n", t3 - t2);
  printf("inserted %llu\n", (unsigned long long)made);
  printf("pteg_full %llu\n", (unsigned long long)full);
  printf("checksum %llx\n", (unsigned long long)sum);
  return 0;
}
