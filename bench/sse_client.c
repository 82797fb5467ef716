// The subscribers of bench/sse.py: N connections to GET /events on one epoll loop, in C so that the client is not
// what gets measured. For every event received: latency = this host's clock at arrival minus the event's
// "timestamp". Prints "connected" once every request is sent, then one JSON line when every subscriber has seen
// JOBS jobs end ("status":"null") or TIMEOUT seconds passed.
//
//   sse_client PORT SUBSCRIBERS JOBS TIMEOUT
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct subscriber {
    int fd;
    size_t length;
    long events;
    long ended;
    char buffer[65536];
};

struct samples {
    double *values;
    size_t count, capacity;
};

static void add(struct samples *s, double value) {
    if (s->count == s->capacity) {
        s->capacity = s->capacity ? s->capacity * 2 : 65536;
        s->values = realloc(s->values, s->capacity * sizeof *s->values);
    }
    s->values[s->count++] = value;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, struct samples *s) {
    qsort(s->values, s->count, sizeof *s->values, compare);
    double p50 = s->count ? s->values[s->count / 2] : 0, p99 = s->count ? s->values[s->count * 99 / 100] : 0;
    double max = s->count ? s->values[s->count - 1] : 0;
    printf("\"%s\": {\"p50_ms\": %.1f, \"p99_ms\": %.1f, \"max_ms\": %.1f, \"count\": %zu}", name, p50, p99, max,
           s->count);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

// "2026-11-21T21:11:48.308310Z" as seconds since the epoch; -1 if it does not parse.
static double parse_time(const char *text) {
    struct tm tm = {0};
    int micro = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d.%6dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &micro) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm) + micro / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s PORT SUBSCRIBERS JOBS TIMEOUT\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]), count = atoi(argv[2]), jobs = atoi(argv[3]);
    double deadline = now() + atof(argv[4]);
    struct subscriber *subscribers = calloc(count, sizeof *subscribers);
    int poller = epoll_create1(0);
    const char request[] = "GET /events HTTP/1.0\r\nAccept: text/event-stream\r\n\r\n";
    for (int i = 0; i < count; i++) {
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0 ||
            send(fd, request, sizeof request - 1, 0) != (ssize_t)(sizeof request - 1)) {
            perror("connect");
            return 1;
        }
        fcntl(fd, F_SETFL, O_NONBLOCK);
        subscribers[i].fd = fd;
        struct epoll_event interest = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(poller, EPOLL_CTL_ADD, fd, &interest);
    }
    printf("connected\n");
    fflush(stdout);
    struct samples progress = {0}, other = {0};
    int finished = 0;
    double stop = 0;
    struct epoll_event ready[256];
    while (now() < deadline && (stop == 0 || now() < stop)) {
        int n = epoll_wait(poller, ready, 256, 100);
        for (int k = 0; k < n; k++) {
            struct subscriber *s = &subscribers[ready[k].data.u32];
            ssize_t got = read(s->fd, s->buffer + s->length, sizeof s->buffer - 1 - s->length);
            if (got <= 0) {
                if (got == 0 || (errno != EAGAIN && errno != EINTR)) epoll_ctl(poller, EPOLL_CTL_DEL, s->fd, NULL);
                continue;
            }
            double arrival = now();
            s->length += got;
            s->buffer[s->length] = 0;
            char *start = s->buffer, *end;
            while ((end = strstr(start, "\n\n")) != NULL) {
                *end = 0;
                char *stamp = strstr(start, "\"timestamp\":\"");
                if (stamp != NULL) {
                    double at = parse_time(stamp + 13);
                    s->events++;
                    if (at > 0) add(strstr(start, "event: JOB_PROGRESS") ? &progress : &other, (arrival - at) * 1000);
                    if (strstr(start, "\"status\":\"null\"") && ++s->ended == jobs) finished++;
                }
                start = end + 2;
            }
            s->length = strlen(start);
            memmove(s->buffer, start, s->length);
        }
        if (stop == 0 && finished == count) stop = now() + 1;
    }
    long fewest = -1, most = 0;
    for (int i = 0; i < count; i++) {
        if (fewest < 0 || subscribers[i].events < fewest) fewest = subscribers[i].events;
        if (subscribers[i].events > most) most = subscribers[i].events;
    }
    printf("{\"complete\": %s, \"events_per_subscriber\": [%ld, %ld], ", finished == count ? "true" : "false", fewest,
           most);
    report("JOB_PROGRESS", &progress);
    printf(", ");
    report("other", &other);
    struct samples all = {0};
    for (size_t i = 0; i < progress.count; i++) add(&all, progress.values[i]);
    for (size_t i = 0; i < other.count; i++) add(&all, other.values[i]);
    printf(", ");
    report("all", &all);
    printf("}\n");
    return 0;
}
