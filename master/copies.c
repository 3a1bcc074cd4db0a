/*
 * copies.c - fresh copies of the master's pages for each group of workers.
 *
 * A forked worker maps the very pages of the master's code and data that
 * every other worker maps: the binary's and the C library's code and
 * read-only data, and the master's private pages it never writes.  On a
 * machine whose hypervisor shadows the guest's page tables that sharing
 * has a limit: past about 1,000 mappings of one page (KVM's
 * RMAP_RECYCLE_THRESHOLD) it drops them all whenever one more is made, and
 * every process sharing the page faults on it again (BENCHMARKS.md: the
 * cliff at 1,000 processes, and "Fresh copies").  So, every
 * workers_per_copy forks while as many workers live, the master gives
 * itself new physical copies of those pages, by writing each resident
 * private page with its own bytes; the workers it forks from then on
 * share the new copies, those before keep the old.  No page of the master's is then mapped by more than
 * workers_per_copy workers and the master.
 *
 * The copying is pagecopy_all()'s (common/pagecopy.c), through
 * /proc/self/mem.  The master opens that while it may (after it gives up
 * root it is no longer dumpable and the file is root's), and every worker
 * closes it first thing after fork() (spawn_worker()): the master's memory
 * is not its to write.
 *
 * The cost: a copy of the code and data the master has in memory (about
 * 2 MiB: mostly the C library) per group, and 0-4 KiB of page tables
 * per worker, which fork() now fills for those pages.  The
 * shared segment is not copied: its pages are shared by design.
 */
#include <fcntl.h>
#include <unistd.h>

#include "master.h"
#include "../common/log.h"
#include "../common/pagecopy.h"
#include "../common/util.h"

/* Opens /proc/self/mem for later copies; -1 is fine (no copies then). */
void
copies_open(struct master *mp)
{
	if (mp->mem_fd == -1)
		mp->mem_fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
}

/*
 * Gives the master new copies of its private pages (see above).  Logs
 * what it copied, or why it could not; after a failure it stops trying.
 */
void
copies_make(struct master *mp)
{
	unsigned long skipped;
	uint64_t t0 = now_ms();
	long pages;

	mp->hot->copy_forks = 0;
	if (mp->mem_fd == -1) {
		if (!mp->copies_failed)
			log_warnx("workers_per_copy: no fresh copies: cannot "
				  "open /proc/self/mem");
		mp->copies_failed = 1;
		return;
	}
	if ((pages = pagecopy_all(mp->mem_fd, &skipped)) == -1) {
		log_warn("workers_per_copy: no fresh copies: cannot write "
			 "/proc/self/mem");
		mp->copies_failed = 1;
		return;
	}
	log_info("fresh copies pages=%ld kib=%ld skipped=%lu workers=%u ms=%lu",
	    pages, pages * (sysconf(_SC_PAGESIZE) / 1024), skipped,
	    mp->hot->children, (unsigned long)(now_ms() - t0));
}
