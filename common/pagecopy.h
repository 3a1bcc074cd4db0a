/*
 * pagecopy.h - new physical copies of a process's private pages.
 */
#ifndef CHATD_PAGECOPY_H
#define CHATD_PAGECOPY_H

#define PAGECOPY_MAPPING_MAX (64UL << 20) /* larger ones are left alone */

/*
 * Rewrites every page in memory of this process's private mappings (its
 * code, read-only data, data, heap and stack; not the kernel's [vdso],
 * nor shared mappings, nor the dynamic loader's code) with its own
 * bytes, through MEM_FD, this process's /proc/self/mem open for writing.  Each such page becomes a new page of
 * this process alone, so the children it forks from then on share those
 * and not the ones its earlier children share.  Mappings larger than
 * PAGECOPY_MAPPING_MAX are skipped and counted in *SKIPPED.  Every signal
 * is blocked meanwhile; the caller must be single-threaded.  Returns the
 * pages copied, or -1 with errno set if /proc/self/maps cannot be read or
 * a write fails.
 */
long pagecopy_all(int mem_fd, unsigned long *skipped);

#endif
