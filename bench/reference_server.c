/* The C reference for bench/reads.sh: libmicrohttpd answering every request with the same body of BYTES bytes,
 * started as jobgate starts its daemon (epoll, an internal thread pool of THREADS), so that the ratio of the two
 * measures what jobgate adds on top of libmicrohttpd.
 *
 *     reference_server PORT BYTES THREADS
 */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct MHD_Response *response;

static enum MHD_Result answer(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **context) {
    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size, (void)context;
    return MHD_queue_response(connection, MHD_HTTP_OK, response);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s PORT BYTES THREADS\n", argv[0]);
        return 2;
    }
    size_t bytes = strtoul(argv[2], NULL, 10);
    char *body = malloc(bytes + 1);
    memset(body, 'x', bytes);
    response = MHD_create_response_from_buffer(bytes, body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(response, "Content-Type", "application/json");
    struct MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD, (uint16_t)atoi(argv[1]), NULL, NULL, answer, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)atoi(argv[3]), MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_END);
    if (daemon == NULL) return 1;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int signal_number;
    sigwait(&set, &signal_number);
    MHD_stop_daemon(daemon);
    return 0;
}
