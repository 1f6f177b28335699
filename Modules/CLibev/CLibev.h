// libev for Swift: Swift does not import function-like C macros, so each macro the
// runtime needs is wrapped here in a one-line static inline function. No logic in C.
#ifndef CLIBEV_H
#define CLIBEV_H

#define EV_COMPAT3 0
#include <ev.h>

static inline struct ev_loop *mp_ev_default_loop(void) { return ev_default_loop(0); }

static inline void mp_ev_io_init(ev_io *w, void (*cb)(struct ev_loop *, ev_io *, int), int fd, int events) { ev_io_init(w, cb, fd, events); }

static inline void mp_ev_timer_init(ev_timer *w, void (*cb)(struct ev_loop *, ev_timer *, int), ev_tstamp after, ev_tstamp repeat) { ev_timer_init(w, cb, after, repeat); }

static inline void mp_ev_timer_set(ev_timer *w, ev_tstamp after, ev_tstamp repeat) { ev_timer_set(w, after, repeat); }

static inline void mp_ev_signal_init(ev_signal *w, void (*cb)(struct ev_loop *, ev_signal *, int), int signum) { ev_signal_init(w, cb, signum); }

static inline int mp_ev_is_active(const void *w) { return ev_is_active(w); }

#endif
