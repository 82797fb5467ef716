// jobgate's certificate for libmicrohttpd's TLS, replaceable while the daemon runs (SIGHUP).
// libmicrohttpd 0.9.75 reads MHD_OPTION_HTTPS_MEM_KEY/_CERT once, at start; with MHD_OPTION_HTTPS_CERT_CALLBACK it
// asks GnuTLS's retrieve function for each handshake instead, and that function serves whatever was installed
// last. Only GnuTLS types live behind this header: Swift sees C strings and an opaque function pointer.
#ifndef CGNUTLS_H
#define CGNUTLS_H

/// Parses a PEM certificate chain and its PEM private key, checks that they belong together, and makes them the
/// credentials of every handshake from now on. Handshakes under way keep the credentials they started with.
/// Returns 0, or a negative GnuTLS error code with `*failure` set to a static description (never freed).
/// Thread-safe; the credentials replaced are kept (a few kilobytes per reload), since a session may still use them.
int cgnutls_install_credentials(const char *certificate_pem, const char *key_pem, const char **failure);

/// The `gnutls_certificate_retrieve_function2` to pass as MHD_OPTION_HTTPS_CERT_CALLBACK. It fails handshakes
/// until credentials are installed.
void *cgnutls_certificate_callback(void);

#endif
