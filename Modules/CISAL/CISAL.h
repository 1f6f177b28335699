// Intel ISA-L's erasure code for MPCore's forward error correction (`mode fec K:M`): the
// Cauchy generator matrix, its tables and the SIMD multiply that makes parity shards and
// rebuilds lost ones. Debian's libisal-dev at build time, libisal2 at run time. Swift
// imports these functions as they are: no wrapper, no logic in C.
#ifndef CISAL_H
#define CISAL_H

#include <isa-l/erasure_code.h>

#endif
