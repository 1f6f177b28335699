// OpenSSL 3's libcrypto for MPCore's sealing: the EVP AEADs (one cipher context kept per
// session key), HKDF-SHA256, HMAC-SHA256 and the system's random generator. Debian's
// libssl-dev at build time, libssl3 at run time. Swift imports these functions and their
// integer constants as they are: no wrapper, no logic in C.
#ifndef CLIBCRYPTO_H
#define CLIBCRYPTO_H

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#endif
