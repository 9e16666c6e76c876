#ifndef ARCA_COPENSSL_SHIM_H
#define ARCA_COPENSSL_SHIM_H
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

/* Macros in OpenSSL that Swift cannot import. */
static inline int arca_BN_num_bytes(const BIGNUM *a) { return BN_num_bytes(a); }
static inline void arca_OPENSSL_free(void *p) { OPENSSL_free(p); }
/* Ed25519 key type (a macro over a NID). */
static inline int arca_EVP_PKEY_ED25519(void) { return EVP_PKEY_ED25519; }
#endif
