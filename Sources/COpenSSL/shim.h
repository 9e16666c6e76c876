#ifndef ARCA_COPENSSL_SHIM_H
#define ARCA_COPENSSL_SHIM_H
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/pem.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

/* Macros in OpenSSL that Swift cannot import. */
static inline int arca_BN_num_bytes(const BIGNUM *a) { return BN_num_bytes(a); }
static inline void arca_OPENSSL_free(void *p) { OPENSSL_free(p); }
/* Ed25519 key type (a macro over a NID). */
static inline int arca_EVP_PKEY_ED25519(void) { return EVP_PKEY_ED25519; }
/* X25519 key type (a macro over a NID). */
static inline int arca_EVP_PKEY_X25519(void) { return EVP_PKEY_X25519; }
static inline int arca_NID_sm2(void) { return NID_sm2; }
/* Whether a queued error is TLS's "unexpected eof while reading" (a peer gone mid-record). */
static inline int arca_ERR_is_unexpected_eof(unsigned long e) {
    return ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

/* TLS: macros over SSL_CTX_ctrl, and a verify callback that accepts the peer's certificate chain
   as presented: the peer's certificate is pinned after the handshake (SHA-256 of its DER), not
   checked against a CA. */
static inline int arca_tls_verify_accept(int preverify, X509_STORE_CTX *store) { (void)preverify; (void)store; return 1; }
static inline int arca_SSL_CTX_setup_tls13_mutual(SSL_CTX *ctx) {
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) return 0;
    if (SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) return 0;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, arca_tls_verify_accept);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    return 1;
}
#endif
