// SPDX-License-Identifier: MIT
/*
 * The kernel-facing half of lmp's event sources: a thread per export map that drains a BPF ring
 * buffer or perf event array into a staging buffer, with no Python (and no GIL) involved.
 *
 * Why a thread in C: a consumer that is late by a few milliseconds loses events. The Hub's
 * 256 KiB ring holds 862 opensnoop records, 4 ms at 200k opens/s; a Python consumer shares its
 * thread (and the GIL) with printing, recording and a UI, and any of them can hold it that long.
 * Here the drain runs whatever Python is doing; Python takes what was staged, a whole batch at a
 * time (lmp_stream_take), and decodes it with numpy. Nothing is done per event but a copy.
 *
 * Ring buffer protocol (kernel/bpf/ringbuf.c, libbpf ringbuf.c): consumer page read-write at
 * offset 0, producer page and the data pages read-only at one page, the data mapped twice so no
 * record wraps. Each record starts with an 8-byte header whose length word has BUSY while the
 * producer writes and DISCARD for a discarded record. Loads of producer_pos and of headers are
 * acquires, the store of consumer_pos a release; with adaptive wakeups (submit flags 0, what every
 * Hub and eunomia program uses) the kernel wakes the reader only when the record it commits is the
 * first one not yet consumed, so a drain must look again after publishing consumer_pos, with a
 * full fence between the store and that look, or a record committed in between is stranded.
 *
 * Coalescing: a thread woken by the kernel for every few records spends most of its time being
 * woken (libbpf's ring_buffer__poll at 100k ev/s: tens of thousands of wakeups a second). After a
 * drain that found data, the thread sleeps for up to `coalesce_us` before looking again, but
 * never longer than it takes the observed rate to fill a quarter of the ring, so the sleep cannot
 * cause a drop that draining at once would have avoided; when a look finds nothing it waits for
 * the kernel's wakeup (idle costs nothing).
 *
 * Staging: records are copied out at a fixed size (longer ones cut, shorter ones zero-padded)
 * into a staging buffer; lmp_stream_take() hands that buffer itself to the caller, who gives it
 * back (lmp_stream_release) when done: the records are copied once, here, and never again on
 * their way to numpy, a recording or a printer. Given-back buffers wait in a pool for the next
 * takes: fresh memory costs a page fault and a cleared page per 4 KiB, which at 1 M opensnoop
 * events a second was a fifth of the process's CPU. A buffer grows to `staging_max` bytes;
 * beyond that records are counted as shed, never lost silently. An eventfd becomes readable
 * when the front goes from empty to non-empty, so an event loop wakes once per take at most.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h> /* only for the module stub at the end: the API is plain C, for ctypes */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#define RINGBUF_BUSY (1u << 31)
#define RINGBUF_DISCARD (1u << 30)
#define RINGBUF_HDR 8
#define IDLE_TIMEOUT_MS 100 /* a safety net only: the kernel's wakeup is what ends a wait */
#define DRAIN_NICE -10
#define BUSY_BUDGET_NS 2000000 /* back-to-back drains, at most, before the thread lets others run */
#define BUSY_REST_NS 200000

enum counter { SHED, LOST, WAKEUPS, PASSES, N_COUNTERS };

struct buffer {
	char *data;
	uint64_t len, cap;
};

#define POOL_BLOCKS 64
#define POOL_BYTES (16ull << 20)

/*
 * Staging buffers given back, for reuse. Shared by a stream and every buffer it handed out,
 * since a buffer may be given back after its stream is gone: the last of them frees the pool.
 */
struct pool {
	pthread_mutex_t lock;
	int refs; /* the stream, if alive, and each buffer handed out */
	int alive; /* the stream is: buffers given back are worth keeping */
	int nfree;
	uint64_t free_bytes;
	struct block *free[POOL_BLOCKS];
};

/* A staging buffer: this header, then the records (what the caller of take() gets). */
struct block {
	struct pool *pool;
	uint64_t cap;
	char data[] __attribute__((aligned(16)));
};

struct lmp_stream {
	uint32_t record_size;
	uint64_t staging_max;
	uint32_t coalesce_us;
	int notify_fd, stop_fd, epoll_fd;
	volatile int stopping;
	int started;
	pthread_t thread;
	pthread_mutex_t lock;
	struct buffer front; /* data: a block's */
	uint64_t last_cap; /* the size the previous staging buffer grew to */
	struct pool *pool;
	uint64_t counters[N_COUNTERS]; /* under lock; SHED and LOST since the last take */

	/* ring buffer */
	int map_fd;
	uint64_t ring_size, mask;
	void *consumer_page, *producer_area;
	uint64_t *consumer_pos, *producer_pos;
	char *ring_data;

	/* perf event array */
	struct perf_buffer *pb;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static struct block *block_of(void *data)
{
	return (struct block *)((char *)data - offsetof(struct block, data));
}

/* Drops one reference to the pool, freeing it with the last (its stream emptied it). */
static void pool_put(struct pool *pool)
{
	int last;

	pthread_mutex_lock(&pool->lock);
	last = --pool->refs == 0;
	pthread_mutex_unlock(&pool->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

/* A block of at least `cap` bytes: a pooled one if one is big enough, else a new one. */
static struct block *pool_get(struct pool *pool, uint64_t cap)
{
	struct block *b = NULL;

	pthread_mutex_lock(&pool->lock);
	for (int i = pool->nfree - 1; i >= 0; i--) {
		if (pool->free[i]->cap >= cap) {
			b = pool->free[i];
			pool->free[i] = pool->free[--pool->nfree];
			pool->free_bytes -= b->cap;
			break;
		}
	}
	pthread_mutex_unlock(&pool->lock);
	if (!b) {
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->pool = pool;
		b->cap = cap;
	}
	return b;
}

/* Room for `n` more bytes in the front buffer (under lock): false when staging is full. */
static int reserve(struct lmp_stream *s, uint64_t n)
{
	struct buffer *b = &s->front;
	struct block *blk;
	uint64_t cap;

	if (b->len + n <= b->cap)
		return 1;
	if (b->len + n > s->staging_max)
		return 0;
	cap = b->cap ? b->cap : s->last_cap ? s->last_cap : 1u << 16;
	while (cap < b->len + n)
		cap *= 2;
	if (cap > s->staging_max)
		cap = s->staging_max;
	if (!b->data) {
		blk = pool_get(s->pool, cap);
		if (!blk)
			return 0;
		b->cap = blk->cap;
		b->data = blk->data;
		return 1;
	}
	blk = realloc(block_of(b->data), sizeof(*blk) + cap);
	if (!blk)
		return 0;
	blk->cap = b->cap = cap;
	b->data = blk->data;
	return 1;
}

/* Appends one record, cut or zero-padded to record_size (under lock). */
static void stage(struct lmp_stream *s, const void *rec, uint32_t len)
{
	uint32_t size = s->record_size;
	char *dst;

	if (!reserve(s, size)) {
		s->counters[SHED]++;
		return;
	}
	dst = s->front.data + s->front.len;
	if (len >= size) {
		memcpy(dst, rec, size);
	} else {
		memcpy(dst, rec, len);
		memset(dst + len, 0, size - len);
	}
	s->front.len += size;
}

static void notify(struct lmp_stream *s)
{
	uint64_t one = 1;

	if (write(s->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		abort(); /* an eventfd write fails only on overflow (EAGAIN) */
}

/* One pass over the committed records of the ring; returns the bytes consumed. */
static uint64_t ring_pass(struct lmp_stream *s)
{
	uint64_t cons = *s->consumer_pos, start = cons;
	uint64_t prod = __atomic_load_n(s->producer_pos, __ATOMIC_ACQUIRE);
	int was_empty;

	if (cons >= prod)
		return 0;
	pthread_mutex_lock(&s->lock);
	was_empty = s->front.len == 0;
	while (cons < prod) {
		uint32_t *hdr = (uint32_t *)(s->ring_data + (cons & s->mask));
		uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);

		if (len & RINGBUF_BUSY)
			break; /* not committed yet: its commit will wake us, we stop right before it */
		if (!(len & RINGBUF_DISCARD))
			stage(s, (char *)hdr + RINGBUF_HDR, len & ~RINGBUF_DISCARD);
		cons += ((len & ~RINGBUF_DISCARD) + RINGBUF_HDR + 7) & ~7ull;
	}
	if (was_empty && s->front.len)
		notify(s);
	pthread_mutex_unlock(&s->lock);
	__atomic_store_n(s->consumer_pos, cons, __ATOMIC_RELEASE);
	return cons - start;
}

/* Drains until a look after publishing consumer_pos finds nothing new; returns bytes drained.
 * A pass that stops at a BUSY record also ends it: that record's commit sees our consumer_pos
 * and wakes us. */
static uint64_t ring_drain(struct lmp_stream *s)
{
	uint64_t total = 0, n;

	for (;;) {
		n = ring_pass(s);
		s->counters[PASSES]++;
		if (!n)
			return total;
		total += n;
		/* Store (consumer_pos) then load (producer_pos, header): a full fence, or a record
		 * committed in between could see the old consumer_pos and skip its wakeup. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
}

static void on_perf_sample(void *ctx, int cpu, void *data, __u32 size)
{
	(void)cpu;
	stage(ctx, data, size);
}

static void on_perf_lost(void *ctx, int cpu, __u64 count)
{
	struct lmp_stream *s = ctx;

	(void)cpu;
	s->counters[LOST] += count;
}

/* Consumes every per-CPU perf ring once; returns the bytes staged. */
static uint64_t perf_drain(struct lmp_stream *s)
{
	uint64_t before;
	int was_empty;

	pthread_mutex_lock(&s->lock);
	was_empty = s->front.len == 0;
	before = s->front.len;
	perf_buffer__consume(s->pb); /* the callbacks stage under our lock */
	if (was_empty && s->front.len)
		notify(s);
	s->counters[PASSES]++;
	before = s->front.len - before;
	pthread_mutex_unlock(&s->lock);
	return before;
}

static uint64_t drain(struct lmp_stream *s)
{
	return s->pb ? perf_drain(s) : ring_drain(s);
}

/* How long to let records gather after a drain of `bytes` that took `gap_ns` to accumulate. */
static uint64_t coalesce_ns(const struct lmp_stream *s, uint64_t bytes, uint64_t gap_ns)
{
	/* for perf event arrays ring_size is one CPU's ring and bytes counts all CPUs: stricter */
	uint64_t limit = (uint64_t)s->coalesce_us * 1000, room = s->ring_size / 4;

	if (!bytes || !limit || bytes >= room)
		return 0;
	/* time for the observed rate to fill `room` */
	if (gap_ns && (double)room * gap_ns / bytes < limit)
		limit = (uint64_t)((double)room * gap_ns / bytes);
	return limit;
}

/*
 * The thread sleeps nearly all the time and must get its CPU back at once from whatever this
 * process does meanwhile (formatting, a UI). A higher nice weight is not enough: with EEVDF a
 * woken task may wait for the running one's slice, and on a kernel without preemption
 * (PREEMPT_NONE) for the end of its system call; ecli's perf buffer of 256 KiB per CPU fills in
 * 4 ms at 200k opens/s, and `lmp run` at that rate lost 3-4 % of them at nice -10, none as
 * SCHED_FIFO. The lowest real-time priority: above every normal task, below anything a system
 * runs as real-time. Needs CAP_SYS_NICE (a BPF user has it) and real-time bandwidth in its
 * cgroup; without them, nice -10; without that either, the process's own priority.
 */
static void prioritise(void)
{
	struct sched_param param = {.sched_priority = 1};

	if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) &&
	    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), DRAIN_NICE))
		errno = 0;
}

static void rest(uint64_t ns)
{
	struct timespec ts = {ns / 1000000000ull, ns % 1000000000ull};

	nanosleep(&ts, NULL);
}

static void *run(void *arg)
{
	struct lmp_stream *s = arg;
	struct epoll_event ev;
	uint64_t last = now_ns(), busy_since = last;

	prioritise();
	while (!s->stopping) {
		uint64_t bytes = drain(s), t = now_ns(), pause = coalesce_ns(s, bytes, t - last);

		last = t;
		if (pause) {
			rest(pause); /* records gather meanwhile: `last` stays where it was */
		} else if (bytes) {
			/* a full quarter in one go: look again at once, but never hold the CPU so long
			 * that the rest of the process cannot take what was staged */
			if (t - busy_since < BUSY_BUDGET_NS)
				continue;
			rest(BUSY_REST_NS);
		} else {
			if (epoll_wait(s->epoll_fd, &ev, 1, IDLE_TIMEOUT_MS) > 0)
				s->counters[WAKEUPS]++;
			last = now_ns();
		}
		busy_since = now_ns();
	}
	return NULL;
}

static struct lmp_stream *alloc_stream(uint32_t record_size, uint64_t staging_max,
				       uint32_t coalesce_us)
{
	struct lmp_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->record_size = record_size ? record_size : 1;
	s->staging_max = staging_max < (1u << 16) ? (1u << 16) : staging_max;
	s->coalesce_us = coalesce_us;
	s->notify_fd = s->stop_fd = s->epoll_fd = s->map_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->pool = calloc(1, sizeof(*s->pool));
	if (!s->pool) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->pool->lock, NULL);
	s->pool->refs = s->pool->alive = 1;
	s->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	return s;
}

void lmp_stream_free(struct lmp_stream *s);

static int watch(struct lmp_stream *s, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN};

	ev.data.fd = fd;
	return epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

static int start(struct lmp_stream *s)
{
	sigset_t all, old;
	int err;

	if (s->notify_fd < 0 || s->stop_fd < 0 || s->epoll_fd < 0 || watch(s, s->stop_fd))
		return errno ? -errno : -EINVAL;
	/* signals are for the Python thread: the drain thread blocks them all */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&s->thread, NULL, run, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	s->started = 1;
	return 0;
}

/* A stream over a BPF_MAP_TYPE_RINGBUF of `ring_size` bytes (a power of 2 of pages). */
struct lmp_stream *lmp_stream_ringbuf(int map_fd, uint64_t ring_size, uint32_t record_size,
				      uint64_t staging_max, uint32_t coalesce_us)
{
	long page = sysconf(_SC_PAGESIZE);
	struct lmp_stream *s;
	int err;

	if (!ring_size || ring_size & (ring_size - 1) || ring_size % page) {
		errno = EINVAL;
		return NULL;
	}
	s = alloc_stream(record_size, staging_max, coalesce_us);
	if (!s)
		return NULL;
	s->map_fd = map_fd;
	s->ring_size = ring_size;
	s->mask = ring_size - 1;
	s->consumer_page = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	s->producer_area = mmap(NULL, page + 2 * ring_size, PROT_READ, MAP_SHARED, map_fd, page);
	if (s->consumer_page == MAP_FAILED || s->producer_area == MAP_FAILED) {
		err = errno;
		goto fail;
	}
	s->consumer_pos = s->consumer_page;
	s->producer_pos = s->producer_area;
	s->ring_data = (char *)s->producer_area + page;
	if (watch(s, map_fd)) {
		err = errno;
		goto fail;
	}
	if ((err = -start(s)))
		goto fail;
	return s;
fail:
	lmp_stream_free(s);
	errno = err;
	return NULL;
}

/* A stream over a BPF_MAP_TYPE_PERF_EVENT_ARRAY, `pages` pages per CPU (a power of 2). */
struct lmp_stream *lmp_stream_perfbuf(int map_fd, uint32_t pages, uint32_t record_size,
				      uint64_t staging_max, uint32_t coalesce_us)
{
	struct lmp_stream *s = alloc_stream(record_size, staging_max, coalesce_us);
	int err;

	if (!s)
		return NULL;
	s->ring_size = (uint64_t)pages * sysconf(_SC_PAGESIZE);
	s->pb = perf_buffer__new(map_fd, pages, on_perf_sample, on_perf_lost, s, NULL);
	if (!s->pb) {
		err = errno;
		goto fail;
	}
	if (watch(s, perf_buffer__epoll_fd(s->pb))) {
		err = errno;
		goto fail;
	}
	if ((err = -start(s)))
		goto fail;
	return s;
fail:
	lmp_stream_free(s);
	errno = err;
	return NULL;
}

/* Readable (an eventfd) when records were staged since the last take. */
int lmp_stream_notify_fd(struct lmp_stream *s)
{
	return s->notify_fd;
}

/*
 * Hands over everything staged: *data (NULL when nothing was) holds the returned number of
 * bytes and is the caller's, to pass to lmp_stream_release. counters[] gets records shed and
 * perf samples lost since the last take, then the wakeups and passes so far.
 */
uint64_t lmp_stream_take(struct lmp_stream *s, void **data, uint64_t counters[4])
{
	struct buffer taken = {0};
	uint64_t spare;

	if (read(s->notify_fd, &spare, sizeof(spare)) < 0)
		spare = 0; /* nothing to clear */
	pthread_mutex_lock(&s->lock);
	if (s->front.len) {
		taken = s->front;
		s->last_cap = taken.cap;
		memset(&s->front, 0, sizeof(s->front));
		pthread_mutex_lock(&s->pool->lock);
		s->pool->refs++;
		pthread_mutex_unlock(&s->pool->lock);
	}
	memcpy(counters, s->counters, sizeof(s->counters));
	s->counters[SHED] = s->counters[LOST] = 0;
	pthread_mutex_unlock(&s->lock);
	*data = taken.data;
	return taken.len;
}

/* Gives back a buffer lmp_stream_take handed over (it may outlive its stream). */
void lmp_stream_release(void *data)
{
	struct block *b;
	struct pool *pool;
	int keep;

	if (!data)
		return;
	b = block_of(data);
	pool = b->pool;
	pthread_mutex_lock(&pool->lock);
	keep = pool->alive && pool->nfree < POOL_BLOCKS && pool->free_bytes + b->cap <= POOL_BYTES;
	if (keep) {
		pool->free[pool->nfree++] = b;
		pool->free_bytes += b->cap;
	}
	pthread_mutex_unlock(&pool->lock);
	if (!keep)
		free(b);
	pool_put(pool);
}

/* Stops the thread, then drains what the map still holds (detach the programs first). */
void lmp_stream_stop(struct lmp_stream *s)
{
	uint64_t one = 1;

	if (!s->started)
		return;
	s->stopping = 1;
	if (write(s->stop_fd, &one, sizeof(one)) < 0)
		abort();
	pthread_join(s->thread, NULL);
	s->started = 0;
	/* bounded: a program still attached would keep this loop busy forever */
	for (int i = 0; i < 64 && drain(s); i++)
		;
}

void lmp_stream_free(struct lmp_stream *s)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!s)
		return;
	lmp_stream_stop(s);
	perf_buffer__free(s->pb);
	if (s->consumer_page && s->consumer_page != MAP_FAILED)
		munmap(s->consumer_page, page);
	if (s->producer_area && s->producer_area != MAP_FAILED)
		munmap(s->producer_area, page + 2 * s->ring_size);
	for (int i = 0; i < 3; i++) {
		int fd = i == 0 ? s->notify_fd : i == 1 ? s->stop_fd : s->epoll_fd;

		if (fd >= 0)
			close(fd);
	}
	if (s->front.data)
		free(block_of(s->front.data));
	pthread_mutex_lock(&s->pool->lock);
	s->pool->alive = 0;
	while (s->pool->nfree)
		free(s->pool->free[--s->pool->nfree]);
	s->pool->free_bytes = 0;
	pthread_mutex_unlock(&s->pool->lock);
	pool_put(s->pool);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Importable as lmp_tui.runtime.native._lmp_stream, so that Python's import system finds the
 * built file (and tools that import every module do not trip on it); the functions above are
 * called through ctypes, which releases the GIL around each call. */
static struct PyModuleDef module = {
	.m_base = PyModuleDef_HEAD_INIT,
	.m_name = "_lmp_stream",
	.m_doc = "lmp's drain thread (used through ctypes)",
	.m_size = -1,
};

PyMODINIT_FUNC PyInit__lmp_stream(void)
{
	return PyModule_Create(&module);
}
