// Fixed-arity wrappers for the C-variadic parts of libmicrohttpd, which Swift cannot call.
// Checked against Debian 12's libmicrohttpd 0.9.75.
#ifndef CMHD_SHIM_H
#define CMHD_SHIM_H

#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <microhttpd.h>

static inline int cmhd_hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// libmicrohttpd's unescape callback (MHD_OPTION_UNESCAPE_CALLBACK), for the URL and every query argument: decodes
/// %XX escapes in place, except %00, %2F and %25, which stay escaped. A decoded NUL would cut the path short (the
/// URL reaches Swift as a C string: "src%00junk" became "src"), a decoded '/' would split one path segment in two,
/// and keeping '%' escaped keeps the other two unambiguous. jobgate refuses a path holding either, and decodes
/// %2F and %25 in query values itself. Returns the new length.
static inline size_t cmhd_unescape_keeping_separators(void *cls, struct MHD_Connection *connection, char *text) {
    (void)cls;
    (void)connection;
    char *read = text;
    char *write = text;
    while (*read != '\0') {
        int high = read[0] == '%' ? cmhd_hex_value(read[1]) : -1;
        int low = high >= 0 ? cmhd_hex_value(read[2]) : -1;
        int value = high * 16 + low;
        if (low < 0 || value == 0 || value == '/' || value == '%') {
            *write++ = *read++;
        } else {
            *write++ = (char)value;
            read += 3;
        }
    }
    *write = '\0';
    return (size_t)(write - text);
}

/// Starts a daemon bound to `host` (an IPv4 or IPv6 literal) and `port` (0 = any free port).
/// Returns NULL if the address does not parse or libmicrohttpd cannot start.
/// `accept_policy` and `notify_connection` get `handler_cls` too; `per_ip_limit` 0 means none.
/// With `tls_certificate_callback` (a `gnutls_certificate_retrieve_function2`, MHD_OPTION_HTTPS_CERT_CALLBACK) it
/// serves HTTPS with libmicrohttpd's own TLS (GnuTLS in Debian's build), asking the callback for the certificate
/// at each handshake; NULL serves plain HTTP.
static inline struct MHD_Daemon *cmhd_start_daemon(unsigned int flags, const char *host, uint16_t port,
                                                   MHD_AccessHandlerCallback handler, void *handler_cls,
                                                   MHD_RequestCompletedCallback completed, void *completed_cls,
                                                   MHD_AcceptPolicyCallback accept_policy,
                                                   MHD_NotifyConnectionCallback notify_connection,
                                                   unsigned int thread_pool_size, unsigned int connection_limit,
                                                   unsigned int per_ip_limit, unsigned int connection_timeout_seconds,
                                                   size_t connection_memory_limit,
                                                   void *tls_certificate_callback) {
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    const struct sockaddr *address = NULL;
    memset(&v4, 0, sizeof v4);
    memset(&v6, 0, sizeof v6);
    if (inet_pton(AF_INET, host, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons(port);
        address = (const struct sockaddr *)&v4;
    } else if (inet_pton(AF_INET6, host, &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(port);
        address = (const struct sockaddr *)&v6;
        flags |= MHD_USE_IPv6;
    } else {
        return NULL;
    }
    struct MHD_OptionItem options[] = {
        {MHD_OPTION_SOCK_ADDR, 0, (void *)address},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, completed_cls},
        {MHD_OPTION_THREAD_POOL_SIZE, thread_pool_size, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, connection_limit, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip_limit, NULL},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)notify_connection, handler_cls},
        {MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout_seconds, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)connection_memory_limit, NULL},
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)cmhd_unescape_keeping_separators, NULL},
        {MHD_OPTION_END, 0, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    if (tls_certificate_callback != NULL) {
        flags |= MHD_USE_TLS;
        options[9] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0, tls_certificate_callback};
    }
    return MHD_start_daemon(flags, port, accept_policy, handler_cls, handler, handler_cls,
                            MHD_OPTION_ARRAY, options, MHD_OPTION_END);
}

/// The port the daemon listens on (useful after binding port 0); 0 if unknown.
static inline uint16_t cmhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

/// The socket of a connection, or -1.
static inline int cmhd_connection_fd(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info == NULL ? -1 : info->connect_fd;
}

#endif
