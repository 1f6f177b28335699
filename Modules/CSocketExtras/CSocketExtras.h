// Declarations that Swift's Glibc module hides: batch datagram syscalls, UDP GSO/GRO
// socket options and the control-message macros. Header only; glibc provides the symbols.
#ifndef CSOCKETEXTRAS_H
#define CSOCKETEXTRAS_H

// Not with _GNU_SOURCE: that changes structures such as fd_set, which must match the ones
// Swift's Glibc module was built with. The GNU-only batch calls are declared here instead.
#include <stddef.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#ifndef __USE_GNU
/// As <sys/socket.h> declares it with _GNU_SOURCE.
struct mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};
struct timespec;
extern int recvmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags, struct timespec *timeout);
extern int sendmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags);
#endif

static inline int mp_recvmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags) { return recvmmsg(fd, vec, n, flags, NULL); }

static inline int mp_sendmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags) { return sendmmsg(fd, vec, n, flags); }

static inline struct cmsghdr *mp_cmsg_firsthdr(struct msghdr *m) { return CMSG_FIRSTHDR(m); }

static inline struct cmsghdr *mp_cmsg_nxthdr(struct msghdr *m, struct cmsghdr *c) { return CMSG_NXTHDR(m, c); }

static inline unsigned char *mp_cmsg_data(struct cmsghdr *c) { return CMSG_DATA(c); }

static inline size_t mp_cmsg_space(size_t n) { return CMSG_SPACE(n); }

static inline size_t mp_cmsg_len(size_t n) { return CMSG_LEN(n); }

static inline int mp_udp_segment(void) { return UDP_SEGMENT; }

static inline int mp_udp_gro(void) { return UDP_GRO; }

#endif
