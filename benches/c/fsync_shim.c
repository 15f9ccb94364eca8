/* LD_PRELOAD shim for the durable-write benchmark (benches/durable.rs,
 * docs/PERFORMANCE.md): counts every fsync/fdatasync of the process and can
 * make each one slow, as on a register's SD card or cheap eMMC.
 *
 *   YSTPAY_FSYNC_LOG=<file>   one byte is appended to <file> per call: the
 *                             count is the file's size, read at any time.
 *   YSTPAY_FSYNC_SLOW=<file>  while <file> exists, each call takes 20 ms
 *                             longer (the run switches it on and off).
 *
 * Build: cc -shared -fPIC -O2 -o libfsync_shim.so fsync_shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int log_fd = -1;
static const char *slow_flag;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

static void init(void) {
  const char *p = getenv("YSTPAY_FSYNC_LOG");
  if (p != NULL && *p != '\0')
    log_fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  slow_flag = getenv("YSTPAY_FSYNC_SLOW");
  real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
}

static void before_sync(void) {
  pthread_once(&once, init);
  if (slow_flag != NULL && access(slow_flag, F_OK) == 0) {
    struct timespec t = {0, 20 * 1000 * 1000};
    nanosleep(&t, NULL);
  }
}

static void after_sync(void) {
  if (log_fd >= 0) {
    ssize_t n = write(log_fd, ".", 1);
    (void)n;
  }
}

int fsync(int fd) {
  int r;
  before_sync();
  r = real_fsync(fd);
  after_sync();
  return r;
}

int fdatasync(int fd) {
  int r;
  before_sync();
  r = real_fdatasync(fd);
  after_sync();
  return r;
}
