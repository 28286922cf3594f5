/* The test suite's wall clock moved back by XLEXEC_TEST_CLOCK_SHIFT seconds (an LD_PRELOAD
 * library built and loaded by tools/on_a_session.py on a day the NYSE is closed).
 *
 * Only the wall clock is moved: clock_gettime(CLOCK_REALTIME[_COARSE]), gettimeofday() and
 * time(). Monotonic clocks, sleeps, timeouts and file times stay real, so a process shifted
 * this way waits, times out and schedules exactly as it would unshifted. Every process the suite
 * starts inherits LD_PRELOAD and the shift, so all of them read one and the same clock. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long long shift_seconds(void) {
    static int done = 0;
    static long long shift = 0;
    if (!done) {
        const char *s = getenv("XLEXEC_TEST_CLOCK_SHIFT");
        shift = s ? strtoll(s, NULL, 10) : 0;
        done = 1;
    }
    return shift;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    static int (*real)(clockid_t, struct timespec *) = NULL;
    if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int r = real(id, ts);
    if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) ts->tv_sec += shift_seconds();
    return r;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    static int (*real)(struct timeval *restrict, void *restrict) = NULL;
    if (!real) real = (int (*)(struct timeval *restrict, void *restrict))dlsym(RTLD_NEXT, "gettimeofday");
    int r = real(tv, tz);
    if (r == 0) tv->tv_sec += shift_seconds();
    return r;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}
