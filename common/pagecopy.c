/*
 * pagecopy.c - new physical copies of a process's private pages.
 *
 * The writes go through /proc/self/mem, as a debugger's do: that copies a
 * read-only page of a private mapping without making the mapping writable
 * (no page is ever writable and executable), and the mapping keeps its
 * name and file offset, so perf and gdb still know the code.  A page is
 * written with the bytes it holds; the process is single-threaded and
 * every signal is blocked, so nothing writes the page between the
 * kernel's read of it and its write.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "pagecopy.h"

#define CHUNK 1024UL /* pages asked of mincore() at once */

/* Whether a mapping named NAME (a path, "[heap]", "" ...) is to be copied. */
static int
copyable(const char *name)
{
	if (name[0] != '[')
		return 1; /* a file, or anonymous */
	/* not [vdso], [vvar], [vsyscall]: the kernel's own */
	return strcmp(name, "[heap]") == 0 || strcmp(name, "[stack]") == 0 ||
	    strncmp(name, "[anon:", 6) == 0;
}

/*
 * Rewrites [A, A + LEN) with its own bytes; returns 0 or -1.  By
 * syscall(2), not pwrite(3): a sanitizer's pwrite() checks that the bytes
 * written may be read, and heap and stack pages hold its poisoned red
 * zones.
 */
static int
rewrite(int fd, unsigned long a, unsigned long len)
{
	unsigned long done = 0;
	long n;

	while (done < len) {
		n = syscall(SYS_pwrite64, fd, (const void *)(a + done),
		    len - done, (off_t)(a + done));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		done += (unsigned long)n;
	}
	return 0;
}

/*
 * Copies the pages (of PAGE bytes) of [A, B) that are in memory, in runs;
 * adds to *PAGES.
 */
static int
copy_mapping(int fd, unsigned long a, unsigned long b, unsigned long page,
    long *pages)
{
	unsigned char vec[CHUNK];
	unsigned long p, n, k, run;

	for (p = a; p < b; p += n * page) {
		n = (b - p) / page;
		if (n > CHUNK)
			n = CHUNK;
		if (mincore((void *)p, n * page, vec) == -1)
			continue; /* nothing there to share */
		for (k = 0; k < n; k += run) {
			for (run = 0; k + run < n && (vec[k + run] & 1); run++)
				;
			if (run == 0) {
				run = 1; /* not in memory: nobody shares it */
				continue;
			}
			if (rewrite(fd, p + k * page, run * page) == -1)
				return -1;
			*pages += (long)run;
		}
	}
	return 0;
}

long
pagecopy_all(int mem_fd, unsigned long *skipped)
{
	unsigned long a, b, loader = getauxval(AT_BASE);
	unsigned long page = (unsigned long)sysconf(_SC_PAGESIZE);
	char line[512], perms[8], loader_path[512] = "";
	sigset_t all, old;
	long pages = 0;
	int name, failed = 0, saved;
	FILE *f;

	*skipped = 0;
	if ((f = fopen("/proc/self/maps", "re")) == NULL)
		return -1;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	while (!failed && fgets(line, sizeof(line), f) != NULL) {
		if (strchr(line, '\n') == NULL) {
			int c; /* a path too long for LINE: skip its rest */

			while ((c = getc(f)) != EOF && c != '\n')
				;
		}
		line[strcspn(line, "\n")] = '\0';
		name = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &a, &b, perms,
			&name) < 3)
			continue;
		/*
		 * The dynamic loader's mappings start at AT_BASE.  Its code
		 * ran before main() (everything is bound at start, -z now)
		 * and a child does not run it again: a copy would only cost
		 * memory, and the children page tables.  Its data is read
		 * by the C library, and copied.
		 */
		if (a == loader && name > 0)
			snprintf(loader_path, sizeof(loader_path), "%s",
			    line + name);
		if (perms[2] == 'x' && name > 0 && loader_path[0] != '\0' &&
		    strcmp(line + name, loader_path) == 0)
			continue;
		/* private, readable, ours */
		if (perms[0] != 'r' || perms[3] != 'p' ||
		    !copyable(name > 0 ? line + name : ""))
			continue;
		if (b - a > PAGECOPY_MAPPING_MAX) {
			(*skipped)++; /* a sanitizer's shadow, say */
			continue;
		}
		failed = copy_mapping(mem_fd, a, b, page, &pages) == -1;
	}
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	fclose(f);
	errno = saved;
	return failed ? -1 : pages;
}
