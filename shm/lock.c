/*
 * lock.c - a process-shared lock that knows its owner.
 *
 * A POSIX semaphore used as a mutex cannot say who holds it, and recording
 * the holder after sem_wait() leaves a window in which a killed process
 * holds the lock with no name on it.  Here the lock word itself is the
 * owner's pid, set by one compare-and-swap from 0, so there is no such
 * window.
 *
 * A contender first spins briefly: the lock is held for well under a
 * microsecond, so a holder running on another CPU lets go at once.  Then
 * it yields a few times, for a holder preempted on its own CPU.  Then it
 * sleeps on a semaphore that the holder posts on release.  Spinning and
 * yielding are kept short on purpose: with thousands of workers runnable
 * (all clients leaving at once) every yield is a switch to another
 * process, and a holder preempted inside the lock waits behind all of
 * them.  Sleeps are bounded only to find a dead owner (2 ms, doubling up
 * to 1 s; the master repairs a dead owner's lock as it reaps it anyway):
 * short bounds made thousands of sleepers wake every 64 ms, a load that
 * left the holder no CPU to finish.  After each sleep a contender checks
 * whether the owner is still alive: a lock whose owner died is taken over
 * by one CAS from the dead pid to its own, and lock_take() returns the
 * dead pid so that the new owner repairs the data the dead one may have
 * left half-changed, and can say whose death it repaired after.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "shm.h"
#include "../common/util.h"

#define LOCK_SPINS 100 /* looks at the lock word, on the CPU */
#define LOCK_YIELDS 4  /* sched_yield() and try again */
#define LOCK_SLEEP_NS (2 * 1000 * 1000)	     /* the first sleep */
#define LOCK_SLEEP_MAX_NS (1000 * 1000 * 1000) /* the longest, doubling */

int
lock_init(struct shm_lock *l)
{
	atomic_store(&l->owner, 0);
	atomic_store(&l->waiters, 0);
	return sem_init(&l->sem, 1, 0);
}

static int
try_take(struct shm_lock *l, int32_t me)
{
	int32_t expect = 0;

	return atomic_compare_exchange_strong_explicit(&l->owner, &expect, me,
	    memory_order_acquire, memory_order_relaxed);
}

/*
 * Our pid, as the lock word holds it.  getpid() is a system call in
 * current glibc, and every publish takes the lock: the pid is kept, and
 * forgotten in the child of every fork().  Kept with the thread: a worker
 * writes its thread's storage anyway, where a page of globals shared with
 * the master would be one more copied for every worker.
 */
static _Thread_local _Atomic pid_t my_pid;
static pthread_once_t my_pid_once = PTHREAD_ONCE_INIT;

/*
 * In the child of a fork: the pid kept is the parent's.  Run by fork()'s
 * handler, and by hand in a child made without handlers (_Fork()).
 */
void
lock_forget_pid(void)
{
	atomic_store_explicit(&my_pid, 0, memory_order_relaxed);
}

static void
watch_forks(void)
{
	pthread_atfork(NULL, NULL, lock_forget_pid);
}

static int32_t
self(void)
{
	pid_t pid = atomic_load_explicit(&my_pid, memory_order_relaxed);

	if (pid == 0) {
		pthread_once(&my_pid_once, watch_forks);
		pid = getpid();
		atomic_store_explicit(&my_pid, pid, memory_order_relaxed);
	}
	return (int32_t)pid;
}

/*
 * Takes the lock from a dead owner.  Returns the dead owner's pid if this
 * process now holds the lock, 0 if the owner lives or someone else was
 * quicker.
 */
static int32_t
take_over(struct shm_lock *l, int32_t me)
{
	int32_t owner = atomic_load(&l->owner);

	if (owner == 0 || owner == me || !proc_is_dead(owner))
		return 0;
	if (!atomic_compare_exchange_strong(&l->owner, &owner, me))
		return 0;
	atomic_fetch_add(&l->takeovers, 1);
	return owner;
}

/* Tells the CPU this is a spin-wait (a sibling thread gets the core). */
static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/*
 * Takes the lock if it is free, without waiting.  Returns 1 if it did.
 * A dead owner is left to whoever waits (or to the master).
 */
int
lock_try(struct shm_lock *l)
{
	return try_take(l, self());
}

/*
 * Takes the lock, waiting as long as it takes.  Returns 0 normally, or the
 * pid of the dead owner the lock was taken over from: the caller must
 * repair what the lock guards before releasing it, and log the repair
 * (the master, which repairs after the deaths it reaps, never learns of
 * this one).
 */
int
lock_take(struct shm_lock *l)
{
	int32_t me = self(), dead;
	struct timespec ts;
	long sleep_ns = LOCK_SLEEP_NS;
	int i;

	for (i = 0; i < LOCK_SPINS; i++) {
		if (atomic_load_explicit(&l->owner, memory_order_relaxed) == 0 &&
		    try_take(l, me))
			return 0;
		cpu_relax();
	}
	for (i = 0; i < LOCK_YIELDS; i++) {
		sched_yield();
		if (try_take(l, me))
			return 0;
	}
	for (;;) {
		atomic_fetch_add(&l->waiters, 1);
		if (try_take(l, me)) {
			atomic_fetch_sub(&l->waiters, 1);
			return 0;
		}
		realtime_in(&ts, (uint64_t)sleep_ns);
		if (sleep_ns < LOCK_SLEEP_MAX_NS)
			sleep_ns *= 2;
		while (sem_timedwait(&l->sem, &ts) == -1 && errno == EINTR)
			;
		atomic_fetch_sub(&l->waiters, 1);
		if (try_take(l, me))
			return 0;
		if ((dead = take_over(l, me)) != 0)
			return (int)dead;
	}
}

void
lock_give(struct shm_lock *l)
{
	/*
	 * Sequentially consistent, not merely release: the load of WAITERS
	 * must not be done before the store (x86 lets a load pass a release
	 * store), or a contender that counted itself in and then found the
	 * lock still held would sleep with nobody to post it: only its
	 * timeout would wake it.
	 */
	atomic_store(&l->owner, 0);
	if (atomic_load(&l->waiters) > 0)
		sem_post(&l->sem);
}

/*
 * Called by the master after reaping DEAD: if DEAD held the lock, the
 * master takes it over.  Returns 1 if it did (the caller repairs and then
 * calls lock_give()), 0 otherwise.
 */
int
lock_release_dead(struct shm_lock *l, pid_t dead)
{
	int32_t owner = (int32_t)dead;

	if (dead <= 0)
		return 0;
	if (!atomic_compare_exchange_strong(&l->owner, &owner,
		self()))
		return 0;
	atomic_fetch_add(&l->takeovers, 1);
	return 1;
}
