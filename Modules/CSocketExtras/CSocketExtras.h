// Declarations that Swift's Glibc module hides (it is built without _GNU_SOURCE): the batch
// datagram calls recvmmsg and sendmmsg, the UDP segmentation options of <netinet/udp.h> and
// <linux/udp.h>, and the timerfd calls of <sys/timerfd.h> (values fixed by the kernel's ABI).
// No system header is included: a second copy of <sys/socket.h>'s types next to Glibc's is
// refused (fd_set) or hides names (MSG_TRUNC) in whole-module builds. `vec` points at an array
// of struct mmsghdr, which the Swift side lays out itself (a struct msghdr, then an unsigned
// int, padded to 8 bytes: 64 bytes on 64-bit Linux). Header only; glibc provides the symbols.
#ifndef CSOCKETEXTRAS_H
#define CSOCKETEXTRAS_H

extern int recvmmsg(int fd, void *vec, unsigned int n, int flags, void *timeout);
extern int sendmmsg(int fd, void *vec, unsigned int n, int flags);

/* The UDP protocol level of setsockopt and control messages (IPPROTO_UDP). */
#define MP_SOL_UDP 17
/* Control message (and option): send one buffer as datagrams of this many bytes (GSO). */
#define MP_UDP_SEGMENT 103
/* Option: receive runs of same-sized datagrams as one buffer, with their size (GRO). */
#define MP_UDP_GRO 104

/* timerfd_create's flags (O_NONBLOCK, O_CLOEXEC) and timerfd_settime's absolute time. `value`
   points at a struct itimerspec, which Glibc declares. */
#define MP_TFD_NONBLOCK 04000
#define MP_TFD_CLOEXEC 02000000
#define MP_TFD_TIMER_ABSTIME 1
extern int timerfd_create(int clockid, int flags);
extern int timerfd_settime(int fd, int flags, const void *value, void *old_value);

static inline int mp_recvmmsg(int fd, void *vec, unsigned int n, int flags) { return recvmmsg(fd, vec, n, flags, 0); }

static inline int mp_sendmmsg(int fd, void *vec, unsigned int n, int flags) { return sendmmsg(fd, vec, n, flags); }

#endif
