/*
 * simctl.h — what the C test programs of examples-c/ share: the little each
 * system differs in (threads, locks, sleeping, sockets; POSIX and Windows)
 * and the simulator's control API over plain HTTP (sim/README.md, "Control
 * API"). Header-only: each program includes it once, after ystpay.h.
 * The includer defines _POSIX_C_SOURCE before any include on POSIX.
 */
#ifndef YSTPAY_EXAMPLES_SIMCTL_H
#define YSTPAY_EXAMPLES_SIMCTL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not every program uses every helper. */
#if defined(__GNUC__)
#define SIMCTL_FN static __attribute__((unused))
#else
#define SIMCTL_FN static
#endif

/* ------------------------------------------ the little each system differs */

#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
#include <fcntl.h>
#include <io.h>
typedef SOCKET sock_t;
#define CLOSESOCK closesocket
typedef CRITICAL_SECTION mutex_t;
typedef CONDITION_VARIABLE cond_t;
typedef DWORD thread_id_t;
typedef HANDLE thread_t;
#define THREAD_RET DWORD WINAPI
#define mutex_init(m) InitializeCriticalSection(m)
#define mutex_destroy(m) DeleteCriticalSection(m)
#define mutex_lock(m) EnterCriticalSection(m)
#define mutex_unlock(m) LeaveCriticalSection(m)
#define cond_init(c) InitializeConditionVariable(c)
#define cond_destroy(c) ((void)(c)) /* nothing to free */
#define cond_broadcast(c) WakeAllConditionVariable(c)
#define thread_self() GetCurrentThreadId()
#define thread_same(a, b) ((a) == (b))
SIMCTL_FN void sleep_ms(int ms) { Sleep((DWORD)ms); }
SIMCTL_FN unsigned process_id(void) { return (unsigned)GetCurrentProcessId(); }
SIMCTL_FN int thread_start(thread_t *t, THREAD_RET (*fn)(void *), void *arg)
{
    *t = CreateThread(NULL, 0, (LPTHREAD_START_ROUTINE)fn, arg, 0, NULL);
    return *t ? 0 : -1;
}
SIMCTL_FN void thread_join(thread_t t)
{
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
typedef int sock_t;
#define CLOSESOCK close
typedef pthread_mutex_t mutex_t;
typedef pthread_cond_t cond_t;
typedef pthread_t thread_id_t;
typedef pthread_t thread_t;
#define THREAD_RET void *
#define mutex_init(m) pthread_mutex_init(m, NULL)
#define mutex_destroy(m) pthread_mutex_destroy(m)
#define mutex_lock(m) pthread_mutex_lock(m)
#define mutex_unlock(m) pthread_mutex_unlock(m)
#define cond_init(c) pthread_cond_init(c, NULL)
#define cond_destroy(c) pthread_cond_destroy(c)
#define cond_broadcast(c) pthread_cond_broadcast(c)
#define thread_self() pthread_self()
#define thread_same(a, b) pthread_equal(a, b)
SIMCTL_FN void sleep_ms(int ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}
SIMCTL_FN unsigned process_id(void) { return (unsigned)getpid(); }
SIMCTL_FN int thread_start(thread_t *t, THREAD_RET (*fn)(void *), void *arg)
{
    return pthread_create(t, NULL, fn, arg);
}
SIMCTL_FN void thread_join(thread_t t) { pthread_join(t, NULL); }
#endif

/* ------------------------------------------------- simulator control API */

static char sim_host[64] = "127.0.0.1";
static int sim_port;
static const char *api_url;

/* One HTTP request to the simulator; the body of the answer goes to
 * `out` (may be NULL). Returns the HTTP status, -1 when unreachable. */
SIMCTL_FN int sim_http(const char *method, const char *path, const char *json, char *out,
                    size_t out_size)
{
    char req[1024], resp[16384];
    struct sockaddr_in addr;
    int n, got = 0, status = -1;
    const char *body;
    sock_t s = socket(AF_INET, SOCK_STREAM, 0);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)sim_port);
    addr.sin_addr.s_addr = inet_addr(sim_host);
    if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
        CLOSESOCK(s);
        return -1;
    }
    n = snprintf(req, sizeof req,
                 "%s %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                 "Content-Length: %u\r\nConnection: close\r\n\r\n%s",
                 method, path, sim_host, sim_port, (unsigned)strlen(json ? json : ""),
                 json ? json : "");
    if ((int)send(s, req, n, 0) != n) {
        CLOSESOCK(s);
        return -1;
    }
    while (got < (int)sizeof resp - 1) {
        int r = (int)recv(s, resp + got, (int)sizeof resp - 1 - got, 0);
        if (r <= 0)
            break;
        got += r;
    }
    resp[got] = 0;
    CLOSESOCK(s);
    sscanf(resp, "HTTP/1.%*d %d", &status);
    if (out && out_size) {
        body = strstr(resp, "\r\n\r\n");
        snprintf(out, out_size, "%s", body ? body + 4 : "");
    }
    return status;
}

/* The simulator's true status of order `req_seq` of merchant demo
 * ("paid", "closed", "revoked", ...) into `status`; 0 when found. */
SIMCTL_FN int sim_truth(const char *req_seq, char *status, size_t size)
{
    char path[160], body[4096];
    const char *p;
    size_t n = 0;
    snprintf(path, sizeof path, "/sim/orders/demo/%s", req_seq);
    if (sim_http("GET", path, NULL, body, sizeof body) != 200)
        return -1;
    p = strstr(body, "\"status\":\"");
    if (!p)
        return -1;
    p += strlen("\"status\":\"");
    while (p[n] && p[n] != '"' && n + 1 < size) {
        status[n] = p[n];
        n++;
    }
    status[n] = 0;
    return 0;
}

/* Whether the simulator kept money for `req_seq`: paid and not returned. */
SIMCTL_FN int sim_money_kept(const char *req_seq)
{
    char st[32];
    if (sim_truth(req_seq, st, sizeof st) != 0)
        return -1;
    return strcmp(st, "paid") == 0;
}

/* Reads the simulator's host and port from the API URL. */
SIMCTL_FN int parse_url(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    if (sscanf(p, "%63[^:]:%d", sim_host, &sim_port) != 2)
        return -1;
    return 0;
}

#endif
