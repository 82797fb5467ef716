// See cgnutls.h. Checked against Debian 12's GnuTLS 3.7.9.
#include "cgnutls.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/// One installed certificate chain and key, immutable once published.
typedef struct {
    gnutls_pcert_st *chain;
    unsigned int length;
    gnutls_privkey_t key;
} credentials;

enum { maximum_chain_length = 16 };

static _Atomic(credentials *) current = NULL;

static gnutls_datum_t datum(const char *text) {
    gnutls_datum_t value = {(unsigned char *)text, (unsigned int)strlen(text)};
    return value;
}

static void release(credentials *item) {
    if (item == NULL) return;
    for (unsigned int index = 0; index < item->length; index++) gnutls_pcert_deinit(&item->chain[index]);
    free(item->chain);
    if (item->key != NULL) gnutls_privkey_deinit(item->key);
    free(item);
}

/// GnuTLS's own pairing check (GNUTLS_E_CERTIFICATE_KEY_MISMATCH and parse errors), on throwaway credentials.
static int check_pair(gnutls_datum_t *certificate, gnutls_datum_t *key) {
    gnutls_certificate_credentials_t scratch;
    int status = gnutls_certificate_allocate_credentials(&scratch);
    if (status < 0) return status;
    status = gnutls_certificate_set_x509_key_mem(scratch, certificate, key, GNUTLS_X509_FMT_PEM);
    gnutls_certificate_free_credentials(scratch);
    return status < 0 ? status : 0;
}

int cgnutls_install_credentials(const char *certificate_pem, const char *key_pem, const char **failure) {
    gnutls_datum_t certificate = datum(certificate_pem);
    gnutls_datum_t key = datum(key_pem);
    int status = check_pair(&certificate, &key);
    if (status < 0) {
        *failure = gnutls_strerror(status);
        return status;
    }
    credentials *item = calloc(1, sizeof *item);
    if (item == NULL || (item->chain = calloc(maximum_chain_length, sizeof *item->chain)) == NULL) {
        release(item);
        *failure = "out of memory";
        return GNUTLS_E_MEMORY_ERROR;
    }
    unsigned int length = maximum_chain_length;
    status = gnutls_pcert_list_import_x509_raw(item->chain, &length, &certificate, GNUTLS_X509_FMT_PEM, 0);
    if (status >= 0) {
        item->length = length;
        status = gnutls_privkey_init(&item->key);
    }
    if (status >= 0) status = gnutls_privkey_import_x509_raw(item->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (status < 0) {
        release(item);
        *failure = gnutls_strerror(status);
        return status;
    }
    // The credentials replaced stay allocated: a handshake that read them a moment ago may still be using them.
    atomic_store(&current, item);
    return 0;
}

static int retrieve(gnutls_session_t session, const gnutls_datum_t *requested_authorities, int authority_count,
                    const gnutls_pk_algorithm_t *algorithms, int algorithm_count, gnutls_pcert_st **chain,
                    unsigned int *length, gnutls_privkey_t *key) {
    (void)session;
    (void)requested_authorities;
    (void)authority_count;
    (void)algorithms;
    (void)algorithm_count;
    credentials *item = atomic_load(&current);
    if (item == NULL) return -1;
    *chain = item->chain;
    *length = item->length;
    *key = item->key;
    return 0;
}

void *cgnutls_certificate_callback(void) { return (void *)retrieve; }
