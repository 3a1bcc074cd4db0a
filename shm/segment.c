/*
 * segment.c - create, attach and remove the shared segment.
 *
 * The segment is a POSIX shared-memory object (shm_open), mode 0600, made
 * with O_EXCL so two instances can never share one by accident.  A segment
 * left by an instance whose master is gone is stale and replaced; one whose
 * master still runs makes the start fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm.h"
#include "../common/util.h"

static size_t
align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

static size_t
page_up(size_t n, size_t page)
{
	return (n + page - 1) & ~(page - 1);
}

/*
 * Where each part of the segment lies, in this order: the header and
 * both maps, the cold part, the indexes (nicknames, room directory, room
 * index), the slots on pages of their own, and the rows.  Sets S's
 * pointers if S->h is set.  Returns the segment's size.
 *
 * Why this order: a worker reads the header, the maps and the ring all
 * the time, and the indexes when its client registers and joins; of the
 * rows it reads its own.  The segment is mapped from a 2 MiB boundary
 * (map()), so with 10,000 rows the first three lie in the first two page
 * tables (4 KiB each) and only its own row may take a third; with the
 * rows between the header and the ring, as before, an idle worker filled
 * one more on average (BENCHMARKS.md, "The segment's hot parts in two
 * page tables").
 */
static size_t
layout(struct shm *s, uint32_t nrows, uint32_t nslots)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t map_off = align64(sizeof(struct shm_header));
	size_t owe_off =
	    align64(map_off + ((size_t)nrows + 63) / 64 * sizeof(uint64_t));
	size_t cold_off =
	    align64(owe_off + ((size_t)nrows + 63) / 64 * sizeof(uint64_t));
	size_t nicks_off = align64(cold_off + sizeof(struct shm_cold));
	size_t dir_off = align64(nicks_off +
	    (size_t)nick_buckets(nrows) * sizeof(struct nick_ent));
	size_t ix_off =
	    align64(dir_off + (size_t)nrows * sizeof(struct room_ent));
	/* on pages of their own: workers map them read-only */
	size_t slots_off = page_up(ix_off +
	    (size_t)nick_buckets(nrows) * sizeof(struct nick_ent), page);
	size_t slots_len = page_up((size_t)nslots * sizeof(struct slot), page);
	size_t rows_off = slots_off + slots_len;
	size_t size = page_up(rows_off + (size_t)nrows * sizeof(struct row),
	    page);

	if (s->h != NULL) {
		s->page = page;
		s->rows = (struct row *)((char *)s->h + rows_off);
		s->sleepmap = (_Atomic uint64_t *)((char *)s->h + map_off);
		s->owemap = (_Atomic uint64_t *)((char *)s->h + owe_off);
		s->cold = (struct shm_cold *)((char *)s->h + cold_off);
		s->nicks = (struct nick_ent *)((char *)s->h + nicks_off);
		s->room_dir = (struct room_ent *)((char *)s->h + dir_off);
		s->room_ix = (struct nick_ent *)((char *)s->h + ix_off);
		s->slots = (struct slot *)((char *)s->h + slots_off);
		s->rslots = s->slots;
		s->slots_off = slots_off;
		s->slots_len = slots_len;
	}
	return size;
}

#define SEGMENT_ALIGN ((size_t)2 << 20) /* what a page-table page maps */

/*
 * Maps SIZE bytes of FD, shared, at a SEGMENT_ALIGN boundary: reserves
 * that much more address space, maps over its first boundary and gives
 * back the rest.  If the reservation fails, maps where the kernel likes.
 * Returns the address, or MAP_FAILED with errno set.
 */
static void *
map_aligned(int fd, size_t size, int prot)
{
	size_t span = size + SEGMENT_ALIGN;
	char *r = mmap(NULL, span, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *at;
	void *p;

	if (r == MAP_FAILED)
		return mmap(NULL, size, prot, MAP_SHARED, fd, 0);
	at = (char *)(((uintptr_t)r + SEGMENT_ALIGN - 1) &
	    ~(uintptr_t)(SEGMENT_ALIGN - 1));
	p = mmap(at, size, prot, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		int saved = errno;

		munmap(r, span);
		errno = saved;
		return p;
	}
	if (at > r)
		munmap(r, (size_t)(at - r));
	munmap(at + size, (size_t)(r + span - (at + size)));
	return p;
}

/*
 * Maps the segment from a SEGMENT_ALIGN boundary.  Workers inherit the
 * mapping where it is, so the first two page-table pages of each cover
 * the header, the indexes and the ring (layout()).
 */
static int
map(struct shm *s, int fd, size_t size, int prot)
{
	void *p = map_aligned(fd, size, prot);

	if (p == MAP_FAILED)
		return -1;
	s->h = p;
	s->size = size;
	return 0;
}

/*
 * Asks for the segment to be held in 2 MiB pages (ON), or never to be
 * (not ON).  Where /dev/shm may hold huge pages (mounted with
 * huge=advise, which needs the asking, or with huge=within_size or
 * always, which need none), the segment is then mapped by 2 MiB pages;
 * refusing them keeps it in small pages even where the mount says
 * always.  It must be asked before the segment's pages are first
 * touched, and every worker inherits it with the master's mapping.  With
 * 10,000 clients (an 8 MiB segment) a worker's page tables went from 72
 * to 56 KiB, and its start was cheaper: a PMD entry where 512 PTEs were
 * filled.  But with 1,000 subscribers flat out a quarter fewer lines a
 * second went through on the test machine, a guest with shadow page
 * tables, most likely because its DAMON clears accessed bits in 2 MiB
 * entries of every worker (BENCHMARKS.md): it is the administrator's
 * trade, the huge_pages setting.  Without transparent huge pages it
 * fails, and changes nothing.
 */
int
shm_huge_pages(struct shm *s, int on)
{
	s->huge = on;
	return madvise(s->h, s->size, on ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
}

/*
 * What a starting worker reads ahead, one byte a page, when ROWS rows are
 * in use: the header, the maps, the indexes and the ring (OUT[0]), and
 * those rows (OUT[1]), as byte offsets, start and end.  Returns 2, or 0
 * past SHM_PRETOUCH_ROWS rows.
 *
 * Why: MADV_POPULATE_READ fills the worker's page tables, but a guest
 * whose hypervisor shadows them (KVM without EPT or NPT, PVM) still exits
 * at a process's first access to each page, and there a first access
 * after another process wrote the page costs several times one before it.
 * Read ahead, a ring that had wrapped gave 2.5-2.9 M deliveries a second
 * with 100 subscribers where it gave 1.8-2.2 M, and 1.3-1.5 M with 500
 * where it gave 0.7-1.3 M (BENCHMARKS.md).  Elsewhere it costs some TLB
 * misses at start.  Past SHM_PRETOUCH_ROWS nothing is read ahead: KVM
 * keeps at most 1,000 shadow mappings of a guest page and drops them all
 * when one more is made, so once a thousand processes read every page a
 * read ahead would only drop the others' mappings; 960 leaves room for
 * the master and a few more.  With 960, S=950 gave 1.10-1.21 M where 512
 * gave 0.64-1.00 M, and S=1000 no less than with 512.
 */
int
shm_pretouch_ranges(const struct shm *s, uint32_t rows, size_t out[2][2])
{
	if (rows > SHM_PRETOUCH_ROWS || rows > s->h->nrows)
		return 0;
	out[0][0] = 0;
	out[0][1] = (size_t)((const char *)s->rows - (const char *)s->h);
	out[1][0] = out[0][1];
	out[1][1] = (size_t)((const char *)&s->rows[rows] - (const char *)s->h);
	return 2;
}

/* Reads a byte of every page shm_pretouch_ranges() gives. */
void
shm_pretouch(struct shm *s, uint32_t rows)
{
	const volatile unsigned char *p = (const volatile unsigned char *)s->h;
	size_t page = s->page, r[2][2], o;
	unsigned sum = 0;
	int i, n = shm_pretouch_ranges(s, rows, r);

	for (i = 0; i < n; i++)
		for (o = r[i][0] - r[i][0] % page; o < r[i][1]; o += page)
			sum += p[o];
	(void)sum;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif

/*
 * What a starting worker on row ROW fills its page tables for, when ROWS
 * rows are in use: what shm_pretouch() will read, while it reads; past
 * SHM_PRETOUCH_ROWS, what the worker reads at every wake-up: the header,
 * the maps and the cold part (OUT[0]), its own row (OUT[1]) and the ring
 * (OUT[2], where the worker reads it).  Byte offsets, start and end;
 * returns how many ranges.
 *
 * Why not all of it: the rows of others (a publisher's wake-ups, /who)
 * and the indexes (a join, a nickname) are read by few workers, and
 * fault in when they are.  Filled whole, at 10,000 clients the rows are
 * 5 MiB: up to three page-table pages more in every worker (5 KiB on
 * average, measured) and 1,400 entries more to fill at each worker's
 * start in a connection storm.
 */
int
shm_populate_ranges(const struct shm *s, uint32_t rows, int row,
    size_t out[3][2])
{
	const char *base = (const char *)s->h;
	int n = shm_pretouch_ranges(s, rows, out);

	if (n > 0)
		return n;
	out[0][0] = 0;
	out[0][1] = (size_t)((const char *)s->nicks - base);
	out[1][0] = (size_t)((const char *)&s->rows[row] - base);
	out[1][1] = out[1][0] + sizeof(struct row);
	out[2][0] = s->slots_off;
	out[2][1] = s->slots_off + s->slots_len;
	return 3;
}

/*
 * Fills this process's page tables for shm_populate_ranges(), a system
 * call a range.  fork() does not copy the page table entries of a shared
 * mapping: a worker would otherwise fault on every page of the ring and
 * the table it reads, once each, a few hundred faults, which on a
 * virtual machine cost more than the rest of its start.  Without
 * MADV_POPULATE_READ (a kernel before 5.14) the pages fault in as before.
 */
void
shm_populate(struct shm *s, uint32_t rows, int row)
{
	size_t page = s->page, r[3][2], lo;
	int i, n = shm_populate_ranges(s, rows, row, r);

	for (i = 0; i < n; i++) {
		lo = r[i][0] - r[i][0] % page;
		madvise((char *)s->h + lo, r[i][1] - lo, MADV_POPULATE_READ);
	}
}

/*
 * Makes the slots read-only in this process's mapping of the segment,
 * where it reads them (S->rslots), and maps them a second time, writable,
 * from the descriptor that mapped the segment, where it writes them
 * (S->slots).  Closes the descriptor.  Returns 0; or -1 with errno set,
 * the slots then read and written in the one mapping.  The master does it
 * once, before its first fork(), and every worker inherits both mappings
 * as they are; a worker that made them at its start paid four system
 * calls more, and the kernel's work of splitting its mapping of the
 * segment in three (BENCHMARKS.md, "What a worker's start costs").
 *
 * Why: a worker maps the segment after other processes have written the
 * ring, and a page table entry made for a page already written comes
 * dirty and writable, though the worker only reads it.  On a guest whose
 * hypervisor shadows page tables that made every delivery dearer: at
 * 1,000 subscribers, on a ring that had wrapped before they joined, 1.9-
 * 3.0 us of the server's CPU a delivery against 1.3-1.5 with read-only
 * entries (BENCHMARKS.md, "Read-only slots").  The writable mapping is
 * filled in only for a publisher (shm_become_publisher()).
 */
int
shm_slots_read_only(struct shm *s)
{
	size_t off = s->slots_off;
	size_t len = s->slots_len; /* whole pages: see layout() */
	void *p;
	int saved;

	if (s->fd == -1) {
		errno = EBADF;
		return -1;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd,
	    (off_t)off);
	saved = errno;
	close(s->fd);
	s->fd = -1;
	if (p == MAP_FAILED) {
		errno = saved;
		return -1;
	}
	(void)madvise(p, len, s->huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	if (mprotect((char *)s->h + off, len, PROT_READ) == -1) {
		saved = errno;
		munmap(p, len);
		errno = saved;
		return -1;
	}
	s->wmap = p;
	s->slots = p;
	return 0;
}

/*
 * In a new worker, whose S is a copy of the master's: the master may have
 * published through S already (its notices), and a worker counts its own
 * writes towards PUBLISHER_WRITES, reading through the read-only mapping
 * until then.
 */
void
shm_forked(struct shm *s)
{
	s->writes = 0;
	if (s->wmap != NULL)
		s->rslots = (const struct slot *)((const char *)s->h +
		    s->slots_off);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/*
 * Called by ring.c at a process's PUBLISHER_WRITES-th publish, when the
 * slots are read-only where it reads them (shm_slots_read_only()): fills
 * its page table entries for the writable mapping in one system call,
 * and reads the slots there too from then on.
 *
 * Without the first, each slot page's first write is a page fault of its
 * own: 6,500 in a run of 100 subscribers and 10 publishers, about a tenth
 * of the server's CPU.  Without the second, a publisher reads every line
 * it wrote through another mapping than the one it wrote it through, and
 * at 100 subscribers and 10 publishers the server spent 279-303 ns a
 * delivery where it spent 264-272.  Filling the entries at every worker's
 * first publish, its join, made every worker's page tables 8 KiB larger.
 */
void
shm_become_publisher(struct shm *s)
{
	if (s->wmap == NULL)
		return;
	madvise(s->wmap, s->slots_len, MADV_POPULATE_WRITE);
	s->rslots = s->slots;
}

/*
 * Makes the pages of slots FIRST to FIRST + COUNT - 1 (no further than the
 * last slot) writable (ON) or read-only again (not ON) where this process
 * reads the slots (S->rslots, made read-only by shm_slots_read_only()).
 * Returns 0, or -1 with errno set.
 *
 * Why: a worker whose client only joins and listens writes one slot in
 * its life, its join.  Written through the writable mapping of the
 * slots, that one write costs the worker a page table (4 KiB) for that
 * mapping alone.  Written here, it falls in the page tables the worker
 * has for reading the ring anyway (ring.c, ring_publish_row()).
 * Freeing that page table after the join instead (MADV_DONTNEED) cost
 * deliveries on a hypervisor with shadow page tables (BENCHMARKS.md).
 */
int
shm_slots_writable(struct shm *s, uint32_t first, uint32_t count, int on)
{
	size_t page = s->page;
	uint32_t end = first + count < s->h->nslots ? first + count
						    : s->h->nslots;
	uintptr_t lo = (uintptr_t)&s->rslots[first];
	uintptr_t hi = (uintptr_t)&s->rslots[end];

	lo -= lo % page;
	hi = (hi + page - 1) & ~(uintptr_t)(page - 1);
	return mprotect((void *)lo, (size_t)(hi - lo),
	    on ? PROT_READ | PROT_WRITE : PROT_READ);
}

static int
init_segment(struct shm *s, const struct shm_params *p, size_t size)
{
	struct shm_header *h = s->h;
	uint32_t i;

	h->nrows = p->nrows;
	h->nslots = p->nslots;
	h->size = size;
	h->lim = p->lim;
	atomic_store(&h->master_pid, (int32_t)getpid());
	atomic_store(&h->guest_next, 1);
	if (lock_init(&h->publock) == -1 || lock_init(&h->tablock) == -1)
		return -1;
	layout(s, p->nrows, p->nslots);
	for (i = 0; i < p->nrows; i++)
		if (sem_init(&s->rows[i].wake, 1, 0) == -1)
			return -1;
	/* ftruncate() zero-filled the slots: stamp 0 is "empty, seq 0" */
	h->version = SHM_VERSION;
	/* the magic last: attachers trust nothing before they see it */
	atomic_thread_fence(memory_order_release);
	h->magic = SHM_MAGIC;
	return 0;
}

/*
 * Returns 1 if the segment NAME exists and its master runs, storing that
 * pid in *LIVE; 0 if it is stale or unreadable (safe to replace).
 */
static int
segment_is_live(const char *name, pid_t *live)
{
	struct shm old;
	pid_t pid;

	memset(&old, 0, sizeof(old));
	if (shm_attach(&old, name) == -1)
		return 0;
	pid = atomic_load(&old.h->master_pid);
	shm_detach(&old);
	if (pid > 0 && !proc_is_dead(pid)) {
		*live = pid;
		return 1;
	}
	return 0;
}

/*
 * Creates the segment NAME (which starts with '/') sized by P and maps it
 * into S.  Returns 0; or -1 with errno set.  If a live instance owns NAME,
 * errno is EEXIST and *LIVE_MASTER holds its master's pid.
 */
int
shm_create(struct shm *s, const char *name, const struct shm_params *p,
    pid_t *live_master)
{
	size_t size;
	int fd, tries, saved;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	*live_master = 0;
	if (strlcpy_(s->name, name, sizeof(s->name)) >= sizeof(s->name)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	size = layout(s, p->nrows, p->nslots);
	for (tries = 0;; tries++) {
		fd =
		    shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd != -1)
			break;
		if (errno != EEXIST || tries > 0)
			return -1;
		if (segment_is_live(name, live_master)) {
			errno = EEXIST;
			return -1;
		}
		/* stale: its master is gone; or someone else's to remove */
		if (shm_unlink(name) == -1)
			return -1;
	}
	if (ftruncate(fd, (off_t)size) == -1 ||
	    map(s, fd, size, PROT_READ | PROT_WRITE) == -1) {
		saved = errno;
		close(fd);
		shm_unlink(name);
		errno = saved;
		return -1;
	}
	s->fd = fd; /* kept for shm_slots_read_only() */
	(void)shm_huge_pages(s, p->huge_pages);
	if (init_segment(s, p, size) == -1) {
		saved = errno;
		shm_detach(s);
		shm_unlink(name);
		errno = saved;
		return -1;
	}
	return 0;
}

/*
 * Maps the existing segment NAME into S, for writing if WRITABLE, after
 * checking that it is one of ours and of this layout.
 */
static int
attach(struct shm *s, const char *name, int writable)
{
	struct stat st;
	struct shm_header *h;
	int fd, saved;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	strlcpy_(s->name, name, sizeof(s->name));
	if ((fd = shm_open(name, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC,
		 0)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 ||
	    (size_t)st.st_size < sizeof(struct shm_header)) {
		saved = fstat(fd, &st) == -1 ? errno : EPROTO;
		close(fd);
		errno = saved;
		return -1;
	}
	if (map(s, fd, (size_t)st.st_size,
		writable ? PROT_READ | PROT_WRITE : PROT_READ) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (writable)
		s->fd = fd; /* an adopting master's: shm_slots_read_only() */
	else
		close(fd);
	h = s->h;
	if (h->magic != SHM_MAGIC || h->version != SHM_VERSION ||
	    h->size != (uint64_t)st.st_size ||
	    layout(s, h->nrows, h->nslots) != h->size) {
		shm_detach(s);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/*
 * Maps the existing segment NAME into S after checking that it is one of
 * ours and of this layout.  Returns 0, or -1 with errno set (EPROTO: not a
 * chatd segment of this version).
 */
int
shm_attach(struct shm *s, const char *name)
{
	return attach(s, name, 1);
}

/*
 * As shm_attach(), but opened and mapped read-only: any store through S
 * faults.  For readers that must never change the segment, and so take
 * none of its locks (the status tool).
 */
int
shm_attach_ro(struct shm *s, const char *name)
{
	return attach(s, name, 0);
}

void
shm_detach(struct shm *s)
{
	if (s->h != NULL) {
		munmap(s->h, s->size);
		if (s->wmap != NULL)
			munmap(s->wmap, s->slots_len);
		if (s->fd != -1)
			close(s->fd);
	}
	s->h = NULL;
	s->wmap = NULL;
	s->fd = -1;
	s->rslots = NULL;
	s->rows = NULL;
	s->sleepmap = NULL;
	s->owemap = NULL;
	s->cold = NULL;
	s->slots = NULL;
}

int
shm_unlink_name(const char *name)
{
	return shm_unlink(name);
}

/*
 * Replaces the message of the day with TEXT (cut to MOTD_MAX - 1 bytes).
 * Only the master writes it; readers retry while MOTD_SEQ is odd or moved.
 */
void
shm_set_motd(struct shm *s, const char *text)
{
	struct shm_cold *c = s->cold;

	atomic_fetch_add(&c->motd_seq, 1);
	atomic_thread_fence(memory_order_seq_cst);
	strlcpy_(c->motd, text, sizeof(c->motd));
	atomic_thread_fence(memory_order_seq_cst);
	atomic_fetch_add(&c->motd_seq, 1);
}

/*
 * Copies the message of the day to OUT (MOTD_MAX bytes), NUL-terminated,
 * and returns its length; with none (or one changing all the time, which
 * shows none rather than junk) returns 0 and leaves OUT as it was.  Only
 * as much of OUT is written as the message takes: each page of it a
 * worker writes costs that worker memory.
 */
size_t
shm_get_motd(struct shm *s, char *out)
{
	struct shm_cold *c = s->cold;
	uint32_t before;
	size_t len;
	int tries;

	for (tries = 0; tries < 100; tries++) {
		before = atomic_load(&c->motd_seq);
		if (before & 1)
			continue;
		atomic_thread_fence(memory_order_seq_cst);
		len = strnlen(c->motd, MOTD_MAX - 1);
		memcpy(out, c->motd, len);
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load(&c->motd_seq) == before) {
			if (len > 0)
				out[len] = '\0';
			return len;
		}
	}
	return 0;
}
